"""A raw mail (bytes) -> one ``MailReport`` per recipient: ``parse_message``. Pure; never raises.

In order, the first that applies decides:

1. an ARF feedback report (``message/feedback-report``): one complaint per reported
   recipient (Original-Rcpt-To, else the returned original's To, else none: resolution
   may still read the VERP return path);
2. a DSN (``message/delivery-status``, RFC 3464 / 6533): one report per recipient block,
   its kind from ``Action`` (failed: bounce; delayed, delivered, relayed, expanded);
3. a Sieve ``reject`` (an MDN with disposition ``deleted``): a bounce (``mdn.sieve_rejects``); any
   other disposition notification is a read receipt: ignored;
4. a text bounce of a known MTA family (``mta_rules.FAMILIES``), or a delay warning;
5. an auto-reply (RFC 3834 headers, then subject and body wording): ignored;
6. a bounce by its sender or subject alone, read with the generic recipient patterns;
7. a bounce relayed inside another message (a forwarded NDR): that bounce, read again;
8. a bounce with no recipient line: the returned original's one ``To``, if it has one;
9. otherwise one ``unparsed`` report saying why.

Every report of a message carries its message-level facts (ids, dates, VERP candidates,
the returned original's headers) for account resolution (``resolve``).
"""

from __future__ import annotations

from dataclasses import replace
from email.message import Message

from workers.ingest.mail import mta_rules as rules
from workers.ingest.mail.arf import arf_reports
from workers.ingest.mail.autoreply import auto_reply
from workers.ingest.mail.context import (
    MAX_EVIDENCE,
    MessageContext,
    address,
    content_type,
    message_context,
    message_key,
    notification_text,
    report,
)
from workers.ingest.mail.dsn import dsn_reports
from workers.ingest.mail.mdn import sieve_rejects
from workers.ingest.mail.mime import (
    Headers,
    addresses_in,
    decode_header_value,
    enclosed,
    iter_parts,
    load,
)
from workers.ingest.mail.reports import Kind, MailReport
from workers.ingest.mail.textbounce import (
    codes_in,
    identify,
    is_delay,
    looks_like_bounce,
    read_recipients,
)

__all__ = ["MAX_RAW_BYTES", "message_key", "parse_message"]
MAX_RAW_BYTES = 50 * 1024 * 1024
"""Larger input is not parsed at all (one ``unparsed`` report): the server bounds it lower."""
_RELAY_DEPTH = 2
_FAMILY_HEADER_NAMES = tuple(sorted({name for f in rules.FAMILIES for name, _ in f.headers}))
_DSN_TYPES = frozenset(
    {"message/delivery-status", "message/global-delivery-status", "text/delivery-status"}
)
_MDN_TYPES = frozenset(
    {"message/disposition-notification", "message/global-disposition-notification"}
)


def parse_message(raw: bytes) -> list[MailReport]:
    """Every recipient report of one raw message; at least one, whatever the bytes."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        return [_unparsed("input is not bytes", message_key(None, b""))]
    data = bytes(raw)
    if len(data) > MAX_RAW_BYTES:
        return [
            _unparsed(
                f"message of {len(data)} bytes is over {MAX_RAW_BYTES}", message_key(None, data)
            )
        ]
    try:
        reports = _parse(data, depth=0)
    except Exception as exc:  # the parser's own bug must not lose the message
        return [_unparsed(f"parser error: {type(exc).__name__}: {exc}", message_key(None, data))]
    return reports or [_unparsed("no report", message_key(None, data))]


def _unparsed(why: str, key: str) -> MailReport:
    return MailReport(email=None, kind=Kind.UNPARSED, evidence=why[:MAX_EVIDENCE], message_key=key)


def _parse(raw: bytes, depth: int) -> list[MailReport]:
    msg = load(raw)
    parts = list(iter_parts(msg))
    types = [content_type(p) for p in parts]
    context = message_context(msg, raw, parts, types)
    for part, ctype in zip(parts, types, strict=True):
        if ctype == "message/feedback-report":
            return arf_reports(part, context)
    dsn_failures: list[MailReport] = []  # blocks without a valid recipient: the text may help
    for part, ctype in zip(parts, types, strict=True):
        if ctype in _DSN_TYPES:
            reports = dsn_reports(part, context, parts)
            if any(r.kind != Kind.UNPARSED for r in reports):
                return reports
            dsn_failures.extend(reports)
    mdn_parts = [p for p, ctype in zip(parts, types, strict=True) if ctype in _MDN_TYPES]
    if mdn_parts:
        rejects = sieve_rejects(mdn_parts, parts, context)
        if rejects:
            return rejects
        return [report(context, None, Kind.RECEIPT, "read receipt (disposition notification)")]
    text = notification_text(parts)
    lower = " ".join(text.lower().split())  # markers match across line breaks
    lower_subject = " ".join(context.subject.lower().split())
    family = identify(lower + "\n" + lower_subject, _family_headers(context.headers))
    if family is not None:
        reports = _text_bounce(text, family, context, lower=lower, lower_subject=lower_subject)
        if reports:
            return reports
    why = looks_like_bounce(context.sender, context.subject)
    auto = auto_reply(context, lower, bounce_like=why is not None)
    if auto is not None:
        return [auto]
    if why is not None:
        reports = _text_bounce(
            text, rules.GENERIC, context, lower=lower, lower_subject=lower_subject, why=why
        )
        if reports:
            return reports
    if depth < _RELAY_DEPTH:
        relayed = _relayed(parts, depth, None if family is None else family.name)
        if relayed:
            return relayed
    if family is not None or why is not None:
        lone = _lone_recipient(context, text, (family or rules.GENERIC).name)
        if lone:
            return lone
    if dsn_failures:
        return dsn_failures
    if why is not None:
        reason = f"a bounce by its {why}, but no recipient found"
    elif family is not None:
        reason = f"{family.name} markers, but no recipient found"
    else:
        reason = "not a bounce, a feedback report or an auto-reply"
    return [report(context, None, Kind.UNPARSED, reason)]


def _family_headers(headers: Headers) -> dict[str, str]:
    """The (lower-cased) values of the headers that MTA family rows look at."""
    out = {}
    for name in _FAMILY_HEADER_NAMES:
        value = headers.get(name)
        if value is not None:
            out[name] = value.lower()
    return out


def _text_bounce(
    text: str,
    family: rules.MtaFamily,
    context: MessageContext,
    *,
    lower: str,
    lower_subject: str,
    why: str | None = None,
) -> list[MailReport]:
    delay = is_delay(lower, lower_subject)
    originals = _original_recipients(context)
    recipients = read_recipients(text, family, context.exclude, originals)
    if not recipients and family is not rules.GENERIC:
        recipients = read_recipients(text, rules.GENERIC, context.exclude, originals)
    kind = Kind.DELAYED if delay else Kind.BOUNCE
    label = family.name if why is None else f"{family.name} ({why})"
    reports = []
    for recipient in recipients:
        evidence = f"{label} text" + (f", delay warning {delay!r}" if delay else "")
        if "@" not in recipient.named:
            evidence += (
                f", recipient {recipient.named!r} named without a domain"
                + (", completed from the returned original" if recipient.email else
                   ", not completed: no single match in the returned original")
            )  # fmt: skip
        if recipient.diagnostic:
            evidence += f": {recipient.diagnostic}"
        reports.append(
            report(
                context,
                recipient.email,
                kind,
                evidence,
                smtp_status=recipient.smtp_status,
                smtp_code=recipient.smtp_code,
                diagnostic=recipient.diagnostic,
                remote_mta=recipient.remote_mta,
                mta_family=family.name,
            )
        )
    return reports


_RECIPIENT_HEADERS = ("to", "cc", "envelope-to", "x-original-to")


def _original_recipients(context: MessageContext) -> tuple[str, ...]:
    """The returned original's recipients (normalised) in the reporting server's domain,
    for local-part-only names.

    A gateway names local recipients, so only an original recipient in the reporting
    host's domain (the host of the bounce's From, else of its Message-ID) can be the one
    meant: ``john`` reported by a gateway of b.example is never completed to
    ``john@a.example`` because the original also went there.
    """
    if context.original is None:
        return ()
    reporters = _reporter_domains(context)
    found = (
        address(a)
        for name in _RECIPIENT_HEADERS
        for value in context.original.raw(name)
        for a in addresses_in(decode_header_value(value))  # every one, angled or bare
    )
    return tuple(
        dict.fromkeys(
            a for a in found if a is not None and _related(a.rpartition("@")[2], reporters)
        )
    )


def _reporter_domains(context: MessageContext) -> tuple[str, ...]:
    """The domains the bounce says it comes from: its From address, else its Message-ID's."""
    for text in (decode_header_value(context.sender), context.message_id or ""):
        domains = tuple(a.rpartition("@")[2] for a in (address(x) for x in addresses_in(text)) if a)
        if domains:
            return domains
    return ()


def _related(domain: str, reporters: tuple[str, ...]) -> bool:
    """Whether ``domain`` belongs with a reporter host: the host's own domain (the host
    less its first label, when two labels remain) or below it, or a parent of the host
    of two labels or more, so no top-level domain relates two organisations."""
    for reporter in reporters:
        labels = reporter.split(".")
        base = ".".join(labels[1:]) if len(labels) > 2 else reporter
        if domain == base or domain.endswith("." + base):
            return True
        if "." in domain and (reporter == domain or reporter.endswith("." + domain)):
            return True
    return False


def _lone_recipient(context: MessageContext, text: str, label: str) -> list[MailReport]:
    """A bounce with no recipient line: the one To of the returned original, if it has one."""
    original = context.original
    if original is None or _looks_like_bounce_message(original):
        return []
    to = [e for e in (address(a) for a in original.addresses("to")) if e]
    if len(to) != 1 or to[0] in context.exclude:
        return []
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    diagnostic = " ".join(lines[:12])[:2000] or None
    status, code = codes_in(diagnostic)
    lower = " ".join(text.lower().split())
    kind = Kind.DELAYED if is_delay(lower, context.subject.lower()) else Kind.BOUNCE
    return [
        report(
            context,
            to[0],
            kind,
            f"{label} text, recipient from the returned original's To: {diagnostic or ''}",
            smtp_status=status,
            smtp_code=code,
            diagnostic=diagnostic,
            mta_family=label,
        )
    ]


def _looks_like_bounce_message(headers: Headers) -> bool:
    """Whether an enclosed message is itself a bounce (a forwarded NDR), not an original."""
    if (headers.get("content-type") or "").lower().startswith("multipart/report"):
        return True
    return looks_like_bounce(headers.get("from") or "", headers.get("subject") or "") is not None


def _relayed(parts: list[Message], depth: int, via: str | None) -> list[MailReport]:
    """A bounce forwarded inside another message (an ESP's or a person's forward)."""
    for part in parts[1:]:
        if content_type(part) not in ("message/rfc822", "message/global"):
            continue
        inner = enclosed(part)
        if inner is None:
            continue
        try:
            raw = inner.as_bytes()
        except Exception:
            continue
        reports = _parse(raw, depth + 1)
        if any(r.kind != Kind.UNPARSED for r in reports):
            label = "relayed" if via is None else f"relayed by {via}"
            return [replace(r, evidence=f"{label}: {r.evidence}"[:MAX_EVIDENCE]) for r in reports]
    return []
