"""Auto-replies (vacation, out of office, other RFC 3834 replies): not bounces, never listed.

RFC 3834 headers first (``Auto-Submitted`` but ``no``, ``X-Autoreply``, ``Precedence:
auto_reply`` ...), then the subject's wording, then the body's, in several languages
(``mta_rules.AUTO_REPLY_*``). Bounces carry such headers too: RFC 3834 §5 has an MTA's
notification marked ``auto-generated`` or ``auto-replied`` as well (Postfix, Exim, Mail.Ru
and EarthLink do). So ``parse`` asks only once no MTA family has read the message, and a
message whose sender or subject says "bounce" is not an auto-reply by its headers alone.
"""

from __future__ import annotations

from workers.ingest.mail import mta_rules as rules
from workers.ingest.mail.context import MessageContext, address, report
from workers.ingest.mail.reports import Kind, MailReport

__all__ = ["auto_reply"]


def auto_reply(
    context: MessageContext, lower_text: str, *, bounce_like: bool = False
) -> MailReport | None:
    """An auto-reply report (the replier's address, the evidence), or None.

    ``bounce_like``: the sender or subject reads as a bounce; RFC 3834 headers then prove
    nothing (a DSN is auto-generated too), only the subject's or body's wording counts.
    """
    evidence = None
    for name, values in () if bounce_like else rules.AUTO_REPLY_HEADERS:
        value = (context.headers.get(name) or "").strip().lower()
        if not value:
            continue
        if values and any(v in value for v in values):
            evidence = f"header {name}: {value}"
            break
        if not values and value not in ("no", "false", "0"):
            evidence = f"header {name}: {value}"
            break
    if evidence is None:
        subject = context.subject.lower()
        marker = next((m for m in rules.AUTO_REPLY_SUBJECTS if m in subject), None)
        if marker is not None:
            evidence = f"subject {marker!r}"
    if evidence is None:
        marker = next((m for m in rules.AUTO_REPLY_PHRASES if m in lower_text[:5000]), None)
        if marker is not None:
            evidence = f"text {marker!r}"
    if evidence is None:
        return None
    senders = [e for e in (address(a) for a in context.headers.addresses("from")) if e]
    sender = senders[0] if senders else None
    return report(
        context, sender, Kind.AUTO_REPLY, f"auto-reply: {evidence}", mta_family="auto-reply"
    )
