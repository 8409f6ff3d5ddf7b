"""Realistic full server lines, per MTA family and per language, classify as CLASSIFICATION.md says.

Each line is written the way the family or provider words it (RFC 3463 codes, Postfix
``smtpd_check.c`` restrictions, qmail-send texts, Exchange NDRs, provider pages); the
expected outcome is judged against the document, not read off the code.
"""

from __future__ import annotations

import pytest
from suppressor_client.types import BounceDetails, Outcome

from workers.domain.classify import classify

N = Outcome.NONEXISTENT
C = Outcome.CONDITION
P = Outcome.POLICY
U = Outcome.UNKNOWN
IGNORED = Outcome.IGNORED

POSTFIX_PREFIX = [
    (
        (
            "550 5.1.1 <jane@example.com>: Recipient address rejected: "
            "User unknown in local recipient table"
        ),
        N,
    ),
    (
        (
            "550 5.1.1 <jane@example.com>: Recipient address rejected: "
            "User unknown in virtual mailbox table"
        ),
        N,
    ),
    (
        (
            "450 4.1.1 <jane@example.com>: Recipient address rejected: "
            "User unknown in local recipient table"
        ),
        U,
    ),
    ("554 5.7.1 <jane@example.com>: Recipient address rejected: Access denied", P),
    (
        (
            "450 4.2.0 <jane@example.com>: Recipient address rejected: "
            "Greylisted, see http://postgrey.schweikert.ch/"
        ),
        P,
    ),
    (
        (
            "554 5.7.1 <jane@example.com>: Recipient address rejected: "
            "Policy rejection due to reputation"
        ),
        P,
    ),
    ("550 5.7.1 <jane@example.com>: Recipient address rejected: Authentication required", P),
    ("450 4.1.2 <jane@example.com>: Recipient address rejected: Domain not found", U),
    ("550 5.1.2 <jane@example.com>: Recipient address rejected: Domain not found", N),
    (
        (
            "556 5.1.10 <jane@example.com>: Recipient address rejected: "
            "Domain example.com does not accept mail (nullMX)"
        ),
        N,
    ),
    ("550 5.1.1 <bad_user@aol.com>: Recipient address rejected: aol.com [RCPT_TO]", N),
    ("550 <jane@example.com>: Recipient address rejected: aol.com", U),
    ("554 5.7.1 <jane@example.com>: Relay access denied", P),
    ("550 <jane@example.com>: Recipient address rejected: Account Closed", N),
]

FAMILIES = [
    # Sendmail
    ("550 5.1.1 <jane@example.com>... User unknown", N),
    ("553 5.3.0 <jane@example.com>... Addressee unknown, relay=[192.0.2.10]", N),
    ("550 5.7.1 <jane@example.com>... Relaying denied", P),
    ("554 5.0.0 Service unavailable", U),
    ("553 5.1.8 <list@example.org>... Domain of sender address list@example.org does not exist", P),
    ("Host unknown (Name server: mx.example.com: host not found)", N),
    # Postfix's own bounces
    (
        (
            "host mx.example.com[192.0.2.1] said: 550 unknown user "
            "<jane@example.com> (in reply to RCPT TO command)"
        ),
        N,
    ),
    ("Name service error for name=example.com type=MX: Host not found, try again", U),
    (
        (
            "Host or domain name not found. Name service error for "
            "name=example.com type=A: Host not found"
        ),
        N,
    ),
    (
        (
            "host mx.example.com said: 550 5.7.1 Client host rejected: "
            "cannot find your hostname (in reply to MAIL FROM command)"
        ),
        P,
    ),
    ("maildir delivery failed: error writing message: Disk quota exceeded", C),
    (
        (
            "conversation with mx.example.com[192.0.2.1] timed out while "
            "receiving the initial server greeting"
        ),
        U,
    ),
    # Exim
    (
        (
            "SMTP error from remote mail server after RCPT "
            "TO:<jane@example.com>: 550 Unrouteable address"
        ),
        N,
    ),
    (
        (
            "SMTP error from remote mail server after MAIL "
            "FROM:<list@example.org> SIZE=1234: 550 Sender verify failed"
        ),
        P,
    ),
    ("Unrouteable address", N),
    ("all relevant MX records point to non-existent hosts", N),
    ("retry time not reached for any host after a long failure period", U),
    ("mailbox is full: retry timeout exceeded", C),
    ("No Such User Here", N),
    # qmail / vpopmail
    ("Sorry, no mailbox here by that name. (#5.1.1)", N),
    ("Sorry, I couldn't find any host named example.com. (#5.1.2)", N),
    ("Sorry, I couldn't find any host by that name. (#4.1.2)", U),
    ("This address no longer accepts mail. (#5.1.1)", N),
    ("Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)", P),  # x.4.x
    ("The users mailfolder is over the allowed quota (size). (#5.2.2)", C),
    (
        "192.0.2.7 does not like recipient. Remote host said: 550 jane@example.com... No such user",
        N,
    ),
    ("192.0.2.7 does not like recipient. Remote host said: 554 5.7.1 Message rejected as spam", P),
    # Exchange / Office 365
    ("550 5.1.1 RESOLVER.ADR.RecipNotFound; not found", N),
    (
        (
            "550 5.4.1 Recipient address rejected: Access denied. "
            "AS(201806281) [BN8NAM12FT047.eop-nam12.prod.protection.outlook.com]"
        ),
        N,
    ),
    (
        (
            "The recipient name is not recognized "
            "MSEXCH:IMS:Example:MAIN:MAINEX1 0 (000C05A6) Unknown Recipient"
        ),
        N,
    ),
    (
        "Your message to jane@example.com couldn't be delivered. jane wasn't found at example.com.",
        N,
    ),
    (
        (
            "552 5.2.2 STOREDRV.Deliver; The recipient's mailbox is full "
            "and can't accept messages now."
        ),
        C,
    ),
    ("550 5.7.606 Access denied, banned sending IP [192.0.2.1].", P),
    ("550 Requested action not taken: mailbox unavailable", U),
    ("553 Exceeded maximum inbound message size", P),
    # Gmail
    (
        (
            "550-5.1.1 The email account that you tried to reach does "
            "not exist. Please try double-checking the recipient's email address"
        ),
        N,
    ),
    ("550-5.2.1 The email account that you tried to reach is disabled.", C),
    ("452-4.2.2 The email account that you tried to reach is over quota.", C),
    ("552-5.2.2 The recipient's inbox is out of storage space.", C),
    ("550-5.7.1 Our system has detected that this message is likely unsolicited mail.", P),
    ("421-4.7.28 Our system has detected an unusual rate of unsolicited mail", P),
    (
        (
            "550 5.7.26 Unauthenticated email from example.org is not "
            "accepted due to domain's DMARC policy"
        ),
        P,
    ),
    ("550 5.4.5 Daily user sending quota exceeded.", P),
    # Yahoo / AOL
    (
        (
            "554 delivery error: dd This user doesn't have a yahoo.com "
            "account (jane@yahoo.com) [0] - mta1001.mail.example"
        ),
        N,
    ),
    (
        (
            "554 delivery error: dd Sorry your message to jane@yahoo.com "
            "cannot be delivered. This account has been disabled or discontinued [#102]."
        ),
        C,
    ),
    (
        (
            "554 delivery error: dd Sorry, your message to "
            "jane@yahoo.com cannot be delivered. This mailbox is disabled (554.30)."
        ),
        C,
    ),
    ("421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to user complaints", P),
    ("550 MAILBOX NOT FOUND", N),
    # Lotus Domino, MDaemon, SMTP32, phquery, Comcast, Interia, Coremail, QQ, 163
    ("User jane (jane@example.com) not listed in Domino Directory", N),
    ("jane@example.com - no such user here. There is no user by that name at this server.", N),
    ("Invalid final delivery userid: jane@example.com", N),
    ("No matches to nameserver query", N),
    ("551 5.1.1 <jane@comcast.net> Not our Customer", N),
    ("550 5.2.1 Mailbox not available", C),
    ("550 5.7.1 Recipient doesn't want your mail", P),
    ("550 #2175041 unavailable mail user", N),
    (
        (
            "550 Mailbox not found. "
            "http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no=1000728"
        ),
        N,
    ),
    ("550 User not found: 12345@163.com", N),
    ("5.1.1 szn; User hasn't got the service mapped", N),
    ("552 5.1.1 5.2.2 sorry, final recipient mailbox is full (chkuser)", C),
    ("550 5.1.1 <list@example.org> sender is blacklisted", P),
    ("552 5.2.0 0biL1i00V1cmcpM01biL4w spam detected", P),
    ("552 Requested mail action aborted: exceeded mailsize limit", P),
    # delay warnings and non-bounces
    (
        (
            "THIS IS A WARNING ONLY. YOU DO NOT NEED TO RESEND YOUR "
            "MESSAGE. Your message could not be delivered for 4 hours."
        ),
        IGNORED,
    ),
    (
        (
            "Delivery to the following recipient has been delayed: "
            "jane@example.com Message will be retried for 2 more day(s)"
        ),
        IGNORED,
    ),
    ("Automatic reply: Out of Office until Monday", IGNORED),
]

LANGUAGES = [
    # German
    ("550 5.1.1 <jane@example.de>: Benutzer nicht bekannt/User unknown", N),
    ("550 Empfänger unbekannt", N),
    ("Die E-Mail-Adresse, die Sie eingegeben haben, wurde nicht gefunden.", N),
    ("552 Das Postfach des Empfängers ist voll", C),
    ("550 Benutzer hat das Speichervolumen ueberschritten", C),
    ("Das Konto wurde gesperrt", C),
    ("554 Nachricht als Spam abgelehnt", P),
    # French
    ("550 5.1.1 Utilisateur inconnu", N),
    (
        (
            "L'adresse de messagerie référencée ci-dessus n'existe pas. "
            "Veuillez en vérifier l'orthographe."
        ),
        N,
    ),
    ("552 5.2.2 Boite du destinataire pleine. Recipient mailbox is full.", C),
    ("Compte désactivé", C),
    ("554 Message refusé : courrier indésirable", P),
    # Spanish
    ("550 Usuario desconocido", N),
    ("El buzón de correo está lleno", C),
    ("La cuenta está suspendida: cuenta suspendida", C),
    ("554 Rechazado: correo no deseado", P),
    # Italian
    ("550 Utente inesistente", N),
    ("La casella di posta piena, riprovare", C),
    ("Account disabilitato", C),
    ("554 Rifiutato: posta indesiderata", P),
    # Portuguese
    ("550 Usuário desconhecido", N),
    ("552 Caixa postal cheia", C),
    ("Conta desativada", C),
    ("554 Mensagem classificada como lixo eletrônico", P),
    # Dutch
    ("550 Gebruiker onbekend", N),
    ("552 Mailbox is vol", C),
    ("Account is geblokkeerd", C),
    ("554 Geweigerd: ongewenste e-mail", P),
    # Polish
    ("550 Konto nie istnieje", N),
    ("552 Skrzynka odbiorcy jest przepełniona", C),
    ("Konto jest zablokowane", C),
    ("554 Wiadomość odrzucona jako niechciana poczta", P),
    # Czech
    ("550 Uživatel neexistuje", N),
    ("552 Schránka je plná", C),
    ("Účet je zablokován", C),
    ("554 Zpráva odmítnuta jako nevyžádaná pošta", P),
    # Russian
    ("550 Пользователь не найден", N),
    ("552 Почтовый ящик переполнен", C),
    ("Учетная запись заблокирована", C),
    ("554 Сообщение отклонено как спам", P),
    # Japanese
    ("宛先不明のため配送できませんでした", N),
    ("<jane@example.jp> のユーザーは登録されていません", N),
    ("メールボックスが一杯のため受信できません", C),
    ("アカウントが停止されています", C),
    ("受信拒否設定により配送できませんでした", P),
    # Chinese
    ("该用户不存在", N),
    ("对方邮箱帐号不存在", N),
    ("收件人空间不足", C),
    ("帐号被冻结", C),
    ("550 Error: content rejected; 垃圾邮件", P),
]


@pytest.mark.parametrize(
    ("line", "expected"), POSTFIX_PREFIX, ids=[line for line, _ in POSTFIX_PREFIX]
)
def test_postfix_prefix_is_decided_by_what_follows(line: str, expected: Outcome) -> None:
    """ "Recipient address rejected:" is a prefix: the words after it and the code decide."""
    assert classify(BounceDetails(diagnostic=line)).outcome is expected


@pytest.mark.parametrize(("line", "expected"), FAMILIES, ids=[line for line, _ in FAMILIES])
def test_mta_family_lines(line: str, expected: Outcome) -> None:
    """Real wording of each MTA family and provider gives the documented outcome."""
    assert classify(BounceDetails(diagnostic=line)).outcome is expected


@pytest.mark.parametrize(("line", "expected"), LANGUAGES, ids=[line for line, _ in LANGUAGES])
def test_language_lines(line: str, expected: Outcome) -> None:
    """Servers answering in other languages are read like English ones."""
    assert classify(BounceDetails(diagnostic=line)).outcome is expected


def test_mixed_languages_keep_the_bias() -> None:
    """A "no such user" in one language beside a spam block in another is never nonexistent."""
    assert classify(BounceDetails(diagnostic="550 Utilisateur inconnu / спам")).outcome is P
    assert (
        classify(BounceDetails(diagnostic="該用戶不存在 ユーザーが存在しません 受信拒否")).outcome
        is P
    )


def test_status_field_with_text_only_reason() -> None:
    """A bare 5.0.0 takes its meaning from the text: full stays condition, unknown stays unknown."""
    assert (
        classify(BounceDetails(smtp_status="5.0.0", diagnostic="disk quota exceeded")).outcome is C
    )
    assert classify(BounceDetails(smtp_status="5.0.0", diagnostic="Message timed out")).outcome is U
