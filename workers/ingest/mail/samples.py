"""Real-looking bounce and complaint mails, made to order (demo, tests, benchmark). Pure.

``dsn_bounce`` writes what Postfix sends (a multipart/report with the human-readable part,
the RFC 3464 delivery-status part and the returned headers); ``arf_complaint`` writes an
RFC 5965 feedback report as mailbox providers' feedback loops send it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime

__all__ = ["arf_complaint", "dsn_bounce"]


def _stamp(when: datetime | None) -> str:
    return format_datetime((when or datetime.now(UTC)).astimezone(UTC))


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]


def _boundary(*parts: str) -> str:
    return "=_" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def dsn_bounce(
    return_path: str,
    recipient: str,
    *,
    status: str = "5.1.1",
    diagnostic: str = "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown",
    reporting_mta: str = "mx.sender.example",
    remote_mta: str = "mx.recipient.example",
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
    when: datetime | None = None,
) -> bytes:
    """A Postfix-style DSN for one failed recipient, sent to ``return_path``."""
    words = diagnostic.format(rcpt=recipient)
    stamp = _stamp(when)
    mid = message_id or f"<{_digest(recipient, words, stamp)}@{reporting_mta}>"
    boundary = _boundary(return_path, recipient, stamp)
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    return (
        f"Return-Path: <>\r\n"
        f"From: MAILER-DAEMON@{reporting_mta} (Mail Delivery System)\r\n"
        f"To: {return_path}\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {stamp}\r\n"
        f"Message-Id: {mid}\r\n"
        f"Auto-Submitted: auto-replied\r\n"
        f"MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        f"\r\n"
        f"--{boundary}\r\n"
        f"Content-Description: Notification\r\n"
        f"Content-Type: text/plain; charset=us-ascii\r\n"
        f"\r\n"
        f"This is the mail system at host {reporting_mta}.\r\n"
        f"\r\n"
        f"I'm sorry to have to inform you that your message could not\r\n"
        f"be delivered to one or more recipients. It's attached below.\r\n"
        f"\r\n"
        f"<{recipient}>: host {remote_mta}[192.0.2.1] said: {words}\r\n"
        f"    (in reply to RCPT TO command)\r\n"
        f"\r\n"
        f"--{boundary}\r\n"
        f"Content-Description: Delivery report\r\n"
        f"Content-Type: message/delivery-status\r\n"
        f"\r\n"
        f"Reporting-MTA: dns; {reporting_mta}\r\n"
        f"Arrival-Date: {stamp}\r\n"
        f"\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Original-Recipient: rfc822;{recipient}\r\n"
        f"Action: failed\r\n"
        f"Status: {status}\r\n"
        f"Remote-MTA: dns; {remote_mta}\r\n"
        f"Diagnostic-Code: smtp; {words}\r\n"
        f"\r\n"
        f"--{boundary}\r\n"
        f"Content-Description: Undelivered Message Headers\r\n"
        f"Content-Type: text/rfc822-headers\r\n"
        f"\r\n"
        f"Return-Path: <{return_path}>\r\n"
        f"From: News <news@shop.example>\r\n"
        f"To: {recipient}\r\n"
        f"Subject: This week's offers\r\n"
        f"{extra}"
        f"\r\n"
        f"--{boundary}--\r\n"
    ).encode()


def arf_complaint(
    return_path: str,
    recipient: str,
    *,
    feedback_type: str = "abuse",
    reporter: str = "fbl.mailbox.example",
    message_id: str | None = None,
    when: datetime | None = None,
) -> bytes:
    """An RFC 5965 feedback report about a message sent with ``return_path``."""
    stamp = _stamp(when)
    mid = message_id or f"<{_digest(recipient, feedback_type, stamp)}@{reporter}>"
    boundary = _boundary(return_path, recipient, feedback_type, stamp)
    return (
        f"From: <fbl@{reporter}>\r\n"
        f"To: <fbl@{return_path.rpartition('@')[2]}>\r\n"
        f"Subject: Email Feedback Report\r\n"
        f"Date: {stamp}\r\n"
        f"Message-ID: {mid}\r\n"
        f"MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=feedback-report; boundary="{boundary}"\r\n'
        f"\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: text/plain; charset=us-ascii\r\n"
        f"\r\n"
        f"This is an email abuse report for a message received from your network.\r\n"
        f"\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: message/feedback-report\r\n"
        f"\r\n"
        f"Feedback-Type: {feedback_type}\r\n"
        f"User-Agent: ExampleFBL/1.0\r\n"
        f"Version: 1\r\n"
        f"Original-Mail-From: <{return_path}>\r\n"
        f"Original-Rcpt-To: <{recipient}>\r\n"
        f"Arrival-Date: {stamp}\r\n"
        f"Reporting-MTA: dns; {reporter}\r\n"
        f"\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: message/rfc822\r\n"
        f"\r\n"
        f"Return-Path: <{return_path}>\r\n"
        f"From: News <news@shop.example>\r\n"
        f"To: {recipient}\r\n"
        f"Subject: This week's offers\r\n"
        f"\r\n"
        f"Offers.\r\n"
        f"\r\n"
        f"--{boundary}--\r\n"
    ).encode()
