"""``Settings`` -> the values mail resolution and the SMTP server read, checked once."""

from __future__ import annotations

from workers.ingest.mail.resolve import MailConfig
from workers.ingest.mail.verp import VerpTemplate
from workers.settings import Settings, SettingsError

__all__ = ["bounce_domains", "mail_config", "verp_template"]


def verp_template(settings: Settings) -> VerpTemplate | None:
    """The configured VERP template, or None; a bad one is a ``SettingsError``."""
    if not settings.mail_verp_template.strip():
        return None
    try:
        return VerpTemplate.parse(settings.mail_verp_template, settings.mail_verp_secret)
    except ValueError as exc:
        raise SettingsError(f"SUPPRESSOR_MAIL_VERP_TEMPLATE: {exc}") from exc


def mail_config(settings: Settings) -> MailConfig:
    """Resolution settings: the VERP template, the headers, the default account."""
    return MailConfig(
        verp=verp_template(settings),
        account_header=settings.mail_account_header.strip() or "X-Suppressor-Account",
        delivery_header=settings.mail_delivery_header.strip() or "X-Suppressor-Delivery",
        stream_header=settings.mail_stream_header.strip() or None,
        default_account=settings.mail_default_account.strip() or None,
    )


def bounce_domains(settings: Settings) -> frozenset[str]:
    """The domains the SMTP server takes mail for: configured, else the VERP template's."""
    domains = {d.strip().lower().rstrip(".") for d in settings.mail_domains.split(",") if d.strip()}
    if not domains:
        template = verp_template(settings)
        if template is not None:
            domains.add(template.domain)
    return frozenset(domains)
