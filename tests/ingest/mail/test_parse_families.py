"""Table tests: one realistic message per MTA family, each recipient's facts as parsed."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.ingest.mail.helpers import FIXTURES, fixture
from workers.ingest.mail.parse import parse_message


@dataclass(frozen=True)
class Want:
    email: str | None
    kind: str
    status: str | None = None
    code: int | None = None
    family: str | None = None
    words: str | None = None  # a substring the diagnostic must hold
    mta: str | None = None


TABLE: dict[str, list[Want]] = {
    # RFC 3464 DSNs (Postfix, Gmail, Amazon SES), several recipients, UTF-8 (RFC 6533)
    "postfix-dsn-two-recipients.eml": [
        Want(
            "jane.doe@example.net",
            "bounce",
            "5.1.1",
            550,
            "dsn",
            "User unknown in virtual",
            "mx1.example.net",
        ),
        Want("bob@example.org", "bounce", "5.2.2", 552, "dsn", "Mailbox full", "mx.example.org"),
    ],
    "gmail-address-not-found.eml": [
        Want("nobody.here@gmail.com", "bounce", "5.1.1", 550, "dsn", "does not exist"),
    ],
    "amazon-ses-notification.eml": [
        Want(
            "shopper@retail.example",
            "bounce",
            "5.1.1",
            550,
            "dsn",
            "User unknown",
            "mx.retail.example",
        ),
    ],
    "global-dsn-utf8.eml": [
        Want("josé@xn--bcher-kva.example", "bounce", "5.1.1", 550, "dsn", "unbekannter Empfänger"),
    ],
    "dsn-bad-final-recipient.eml": [
        Want(None, "unparsed", family="dsn"),
        Want("valid.person@example.com", "bounce", "5.0.0", 550, "dsn", "Mailbox unavailable"),
    ],
    # Text bounces, one family each
    "postfix-text-only-local.eml": [
        Want("ex-staff@sender.example", "bounce", None, None, "postfix", "unknown user"),
        Want("nodomain@no-such-domain.example", "bounce", None, None, "postfix", "Host not found"),
    ],
    "exim-text.eml": [
        Want("klaus@example.de", "bounce", "5.1.1", 550, "exim", "User unknown", "mx00.example.de"),
    ],
    "sendmail-text.eml": [
        Want(
            "m.jones@oldcorp.example",
            "bounce",
            "5.1.1",
            550,
            "sendmail",
            "User unknown",
            "mail.oldcorp.example",
        ),
    ],
    "qmail-text.eml": [
        Want("old.customer@qmailhost.example", "bounce", "5.1.1", None, "qmail", "no mailbox here"),
        Want(
            "busy@remote.example", "bounce", "5.7.1", 550, "qmail", "rejected as spam", "192.0.2.55"
        ),
    ],
    "exchange-online-ndr.eml": [
        Want(
            "pat.lee@contoso.example",
            "bounce",
            "5.1.10",
            550,
            "exchange",
            "RecipientNotFound",
            "dm6pr12mb1234.namprd12.prod.outlook.com",
        ),
    ],
    "exchange-online-html-only.eml": [
        Want(
            "kim@contoso.example",
            "bounce",
            "5.1.10",
            550,
            "exchange",
            "RecipientNotFound",
            "srv1.contoso.example",
        ),
    ],
    "exchange-2010-ndr.eml": [
        Want(
            "old.account@fabrikam.example",
            "bounce",
            "5.1.1",
            550,
            "exchange",
            "RecipNotFound",
            "mail01.fabrikam.example",
        ),
    ],
    "exchange-2003-text.eml": [
        Want("sales@legacy.example", "bounce", "5.1.1", 550, "exchange", "User unknown"),
    ],
    "outlook-com-dsn-text.eml": [
        Want(
            "lost.user@hotmail.example",
            "bounce",
            "5.5.0",
            550,
            "outlook.com",
            "mailbox unavailable",
        ),
    ],
    "domino-failure.eml": [
        Want(
            "thart@corp.example", "bounce", None, None, "domino", "not listed in Domino Directory"
        ),
    ],
    "gmail-legacy-text.eml": [
        Want(
            "ghost@partner.example",
            "bounce",
            "5.1.1",
            550,
            "gmail",
            "User unknown",
            "mx.partner.example",
        ),
    ],
    "yahoo-text.eml": [
        Want("gone.user@yahoo.example", "bounce", None, 554, "yahoo", "doesn't have a yahoo"),
    ],
    "groupwise-undeliverable.eml": [
        Want("clerk@county.example", "bounce", "5.1.1", 550, "groupwise", "User unknown"),
        Want(
            "records@county.example",
            "bounce",
            None,
            None,
            "groupwise",
            "Undeliverable",
            "smtp.county.example",
        ),
    ],
    # Older and smaller MTAs' text bounces (rows sourced in mta_rules)
    "exchange-55-ims.eml": [
        Want("pat.lee@legacyco.example", "bounce", None, None, "exchange-5.5", "not recognized"),
    ],
    "imail-smtp32.eml": [
        Want(
            "gone.user@smallisp.example", "bounce", "5.1.1", 550, "ipswitch-imail", "User unknown"
        ),
        Want(
            "closed.box@smallisp.example", "bounce", None, None, "ipswitch-imail", "final delivery"
        ),
    ],
    "pmdf-quota.eml": [
        Want(
            "mueller@mailhost.uni.example.ch", "bounce", "5.0.0", None, "dsn", "disk quota exceeded"
        ),
    ],
    "dsn-status-comment.eml": [
        Want("full.box@msg.example.org", "bounce", "5.2.2", None, "dsn", "reached disk quota"),
    ],
    "mdaemon-permanent.eml": [
        Want(
            "no.such.person@shop.example", "bounce", "5.1.1", 550, "mdaemon", "unknown user account"
        ),
    ],
    "smail-failed-addresses.eml": [
        Want("lost.user@nowhere.example", "bounce", None, None, "smail", "unknown host"),
    ],
    "hotpop-over-quota.eml": [
        Want("filled.up@freepop.example", "bounce", None, None, "hotpop", "over disk quota"),
    ],
    "dsn-auto-submitted-bounce.eml": [
        Want("ivan.petrov@bigmail.example", "bounce", None, 550, "generic", "User not found"),
    ],
    "interscan-rcpt-rejected.eml": [
        Want("left.company@firm.example", "bounce", "5.1.1", 550, "interscan", "does not exist"),
    ],
    "mailru-local-scan.eml": [
        Want("olga.k@mail.example.ru", "bounce", None, None, "mail.ru", "user not found"),
    ],
    "exchange-2007-bullets.eml": [
        Want("crammed@isp.example", "bounce", None, 552, "exchange", "over its storage limit"),
    ],
    "bulleted-dsn-text.eml": [
        Want(
            "missing.one@smallhost.example", "bounce", "5.1.1", 550, "outlook.com", "No such user"
        ),
    ],
    # Shapes the generic reader knows: "<words>: <addr>", "(Originally addressed to ...)",
    # "... deliver your message to <addr>"
    "generic-words-colon.eml": [
        Want("stuffed@bigisp.example", "bounce", None, None, "generic", "mailbox is full"),
        Want("old.alias@bigisp.example", "bounce", None, None, "generic", "User not known"),
        Want("third.one@bigisp.example", "bounce", None, 550, "generic", "no such recipient"),
    ],
    # An address inside a sentence: "The address ... was addressed, <addr>, did not ..."
    "generic-address-clause.eml": [
        Want("j.smith@lab.example", "bounce", None, None, "generic", "did not exactly match"),
    ],
    # Recipients named by local part alone, completed from the returned original's To
    # when exactly one address there has that local part, else left unnamed
    "phquery-alias-completed.eml": [
        Want("rkwan@campus.example", "bounce", None, None, "phquery", "No matches to nameserver"),
    ],
    "phquery-alias-ambiguous.eml": [
        Want(None, "bounce", None, None, "phquery", "Ambiguous name"),
    ],
    "jetmail-mailbox-full.eml": [
        Want("lihua@isp.example.cn", "bounce", None, None, "jetmail", "mail box space not enough"),
    ],
    # RFC 5429 Sieve reject: an MDN with disposition "deleted" and the reason in its text
    "sieve-reject-mdn.eml": [
        Want("brimful@host.example", "bounce", None, None, "sieve-reject", "Quota exceeded"),
    ],
    "gateway-delay-notice.eml": [
        Want("slowpoke@partner.example", "delayed", None, None, "generic", "postponed"),
    ],
    "mimesweeper-french.eml": [
        Want("claire.martin@agence.example", "bounce", None, None, "mimesweeper", "n'existe pas"),
    ],
    "amazon-ses-text-only.eml": [Want("buyer@retail.example", "bounce", family="amazon-ses")],
    "sendgrid-forwarded-bounce.eml": [
        Want("reader@partner.example", "bounce", "5.1.1", 550, "postfix", "User unknown"),
    ],
    "mailgun-relayed.eml": [
        Want("client@agency.example", "bounce", "5.1.1", 550, "mailgun", "does not exist"),
    ],
    # Carriers, in their charsets and transfer encodings
    "japanese-iso2022jp.eml": [
        Want(
            "hanako@docomo.example",
            "bounce",
            None,
            550,
            "japanese",
            "宛先のメールアドレスが見つかりません",
        ),
    ],
    "japanese-shiftjis-base64.eml": [
        Want("taro@softbank.example", "bounce", None, None, "japanese", "宛先不明"),
    ],
    "european-orange-qp-latin1.eml": [
        Want(
            "marie.durand@orange.example",
            "bounce",
            "5.1.1",
            550,
            "european-carrier",
            "adresse inconnue",
        ),
    ],
    "european-tonline-utf8.eml": [
        Want(
            "anna.schmidt@t-online.example",
            "bounce",
            "5.1.1",
            550,
            "european-carrier",
            "Benutzer unbekannt",
        ),
    ],
    "european-wp-pl-iso8859-2.eml": [
        Want(
            "jan.kowalski@wp.example",
            "bounce",
            "5.1.1",
            550,
            "european-carrier",
            "Adresat nie istnieje",
        ),
    ],
}


def test_every_fixture_is_in_a_table() -> None:
    """Each fixture message is checked by some table row (none is written and forgotten)."""
    from tests.ingest.mail.test_parse_special import SPECIAL

    names = {path.name for path in FIXTURES.glob("*.eml")}
    assert names == set(TABLE) | set(SPECIAL)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_family_fixture_reads_every_recipient(name: str) -> None:
    """The message gives exactly the expected recipients with their codes, words and MTA."""
    reports = parse_message(fixture(name))
    got = [(r.email, r.kind) for r in reports]
    assert got == [(w.email, w.kind) for w in TABLE[name]], [r.evidence for r in reports]
    for report, want in zip(reports, TABLE[name], strict=True):
        assert report.smtp_status == want.status, report
        assert report.smtp_code == want.code, report
        if want.family is not None:
            assert report.mta_family == want.family
        if want.words is not None:
            assert report.diagnostic is not None and want.words in report.diagnostic, report
        if want.mta is not None:
            assert report.remote_mta == want.mta
        assert report.evidence


def test_every_family_row_cites_where_its_words_come_from() -> None:
    """Each MTA family row names whose words it reads and where they were found (the MTA's
    docs or source, an RFC, a public record of its notices), never a test corpus alone."""
    from workers.ingest.mail.mta_rules import FAMILIES, GENERIC

    names = [family.name for family in FAMILIES]
    assert len(names) == len(set(names))
    for family in (*FAMILIES, GENERIC):
        source = family.source.lower()
        assert len(source.split()) >= 6, family.name
        assert "test data" not in source and "flufl" not in source, family.name
