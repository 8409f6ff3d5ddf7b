"""What bounces, auto-replies and their parts look like: data tables, one row a line.

Each MTA family row names the markers that identify it (lower-case phrases of its
notification text, or a header it sets), where its error block starts and ends, how it
writes a failed recipient (patterns with an ``addr`` group, and an optional ``rest``), how
it quotes the remote server's words (patterns with a ``text`` group, tried in the
recipient's section) and the remote MTA. ``textbounce`` runs the rows in order; the first
whose marker is found reads the message, and ``GENERIC`` reads what no row claims but
looks like a bounce by its sender or subject.

Sources: the formats are written from each MTA's documented or long-stable bounce text
(Postfix ``bounce(5)`` templates, Exim's ``exim_bounce``/``warn_message`` defaults and
``src/moan.c``, Sendmail's ``savemail.c`` headings, qmail-send's ``qsutil``/``qmail-send.c``
wording, Microsoft's published NDR documentation "Email non-delivery reports in Exchange
Online" and Knowledge Base articles, HCL Domino's "DELIVERY FAILURE" reports, Gmail's
"Address not found" notices, Yahoo's and Outlook.com's notices, GroupWise's "Message
status - undeliverable", Amazon SES's notification text) and, for carriers, from the
wording they commonly use. Older, closed-source or site-specific MTAs (IMail, MDaemon,
smail, InterScan, MIMEsweeper, HotPOP, phquery, JetMail) publish no text of their own:
their rows cite where their words are recorded (GNU Mailman's bounce detectors, Sympa's
bounce analyser, notices the servers sent). Each row's ``source`` names the MTA family and
where its words were found. No row copies another project's samples or patterns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ADDR",
    "AUTO_REPLY_HEADERS",
    "AUTO_REPLY_PHRASES",
    "AUTO_REPLY_SUBJECTS",
    "BOUNCE_SENDERS",
    "BOUNCE_SUBJECTS",
    "DELAY_MARKERS",
    "FAMILIES",
    "GENERIC",
    "ORIGINAL_MARKERS",
    "REDACTED_LOCAL_PARTS",
    "MtaFamily",
]

ADDR = r"(?P<addr>[^\s<>()\[\]\"',;:@]{1,64}@[^\s<>()\[\]\"',;:@]{1,255})"
"""One address as the recognisers capture it (checked and normalised afterwards)."""

LOCAL = r"(?P<local>[A-Za-z0-9][A-Za-z0-9._+-]{0,63})(?![\w.+-]*@)"
"""A recipient named by its local part alone (directory gateways); ``textbounce`` completes
it from the returned original's recipients, or leaves the recipient unnamed."""

_M = re.MULTILINE
_MI = re.MULTILINE | re.IGNORECASE


def _p(pattern: str, flags: int = _M) -> re.Pattern[str]:
    return re.compile(pattern, flags)


@dataclass(frozen=True, slots=True)
class MtaFamily:
    """How one MTA family writes a bounce, and where that knowledge comes from."""

    name: str
    source: str
    markers: tuple[str, ...]  # lower-case phrases of the notification text, subject or From
    start: tuple[str, ...]  # the error block starts at the first of these found (else the top)
    end: tuple[str, ...]  # ... and ends at the first of these after its start (else the end)
    recipients: tuple[re.Pattern[str], ...]  # group ``addr`` (and optional ``rest``) per recipient
    reasons: tuple[re.Pattern[str], ...] = ()  # group ``text``, in one recipient's section
    mtas: tuple[re.Pattern[str], ...] = ()  # group ``mta``, in one recipient's section
    headers: tuple[tuple[str, str], ...] = ()  # (header, lower-case substring) that identify it


# Recipient line shapes shared by several families.
_ANGLE_ALONE = _p(rf"^[ \t]*<{ADDR}>:?[ \t]*$")  # "<jane@example.com>:" alone on its line
_ANGLE_COLON = _p(rf"^<{ADDR}>(?: \(expanded from <[^>\n]*>\))?:[ \t]*(?P<rest>.*)$")
_INDENTED = _p(rf"^[ \t]+<?{ADDR}>?[ \t]*$")  # an address alone on an indented line
_ALONE = _p(rf"^[ \t]*[<\"]?{ADDR}[>\"]?[ \t]*$")  # an address alone on its line
_ALONE_ON_DATE = _p(rf"^[ \t]*<?{ADDR}>?(?:[ \t]+on[ \t]+\d[^\n]*)?[ \t]*$", _MI)
_LEADING = _p(rf"^[ \t]*<?{ADDR}>?[ \t]*(?:[:(]|\s-\s)[ \t]*(?P<rest>.*)$")
_BULLET = _p(rf"^[ \t]*\*[ \t]*<?{ADDR}>?[ \t]*$")  # "   * jane@example.com"
_BULLET_BRACKET = _p(rf"^[ \t]*\*[ \t]*\[{ADDR}\]:[ \t]*(?P<rest>.*)$")  # "* [jane@x]: 550 ..."
# "User's mailbox is full: <jane@example.com>": two or more words (never a header name,
# which has no space) before the colon say what happened to the address after it.
_WORDS_COLON = _p(
    rf"^[ \t]*(?P<rest>[A-Za-z][\w'.-]*(?:[ \t]+[\w'.-]+){{1,8}}):[ \t]*<?{ADDR}>?[ \t]*$"
)
_ORIGINALLY = _p(rf"\(originally addressed to <?{ADDR}>?\)", _MI)
_MESSAGE_TO = _p(rf"\b(?:deliver (?:your )?message to|your message to)[ \t]+<?{ADDR}>?", _MI)
# "The address to which your message was addressed, jane@x, did not exactly match ...": an
# address inside a sentence, then what happened to it (a verb phrase).
_ADDRESS_CLAUSE = _p(
    rf"\baddress(?:ed)?,?\s+(?:to\s+)?<?{ADDR}>?,?[ \t]+"
    r"(?P<rest>(?:did|does|is|was|could|can|cannot|has|had)\b[^\n]*)$",
    _MI,
)

_REMOTE_HOST_SAID = _p(
    r"remote host said:\s*(?P<text>.+?)(?:\s*\[RCPT_TO\])?(?:\s+giving up on \S+)?$", _MI
)

FAMILIES: tuple[MtaFamily, ...] = (
    MtaFamily(
        name="postfix",
        source="Postfix bounce(5) default templates ('This is the mail system at host ...')",
        markers=(
            "this is the mail system at host",
            "i'm sorry to have to inform you that your message could not",
        ),
        start=("i'm sorry to have to inform you", "this is the mail system at host"),
        end=("-- the postfix program", "--- delivery report unavailable ---"),
        recipients=(_ANGLE_COLON,),
        reasons=(
            _p(r"\bsaid:\s*(?P<text>.+?)(?:\s*\(in reply to [^)]*\))?\s*$", _MI),
            _p(r"^<[^>]*>(?: \(expanded from <[^>]*>\))?:\s*(?P<text>.+)$", _MI),
        ),
        mtas=(_p(r"\bhost (?P<mta>[\w.-]+)\[", _MI),),
    ),
    MtaFamily(
        name="exim",
        source="Exim default bounce text (exim_bounce: 'This message was created automatically "
        "by mail delivery software.')",
        markers=(
            "this message was created automatically by mail delivery software",
            "the following address(es) failed",
        ),
        start=("the following address(es) failed", "could not be delivered to one or more of its"),
        end=("------ this is a copy of the message", "------ this is a copy of the body"),
        recipients=(_p(rf"^[ \t]{{2}}<?{ADDR}>?[ \t]*$"),),
        reasons=(
            _p(
                r"smtp error from remote mail ?server after [^:]*:(?:\s*<[^>]*>:)?"
                r"(?:\s*host \S+ \[[^\]]*\]:)?\s*(?P<text>\S.*)$",
                _MI,
            ),
        ),
        mtas=(_p(r"\bhost (?P<mta>[\w.-]+) \[", _MI),),
    ),
    MtaFamily(
        name="exchange-5.5",
        source="Microsoft Exchange Server 5.5 IMS / MTA non-delivery reports: 'Your message "
        "did not reach some or all of the intended recipients', 'The following recipient(s) "
        "could not be reached:', '<recipient> on <date>' lines, X.400 'dda:' addresses, "
        "'MSEXCH:IMS:' diagnostics, as Microsoft's Knowledge Base quotes them (Q183588, "
        "Q192349, Q237951); the heading 'did not reach the following recipient(s):' as GNU "
        "Mailman's SimpleMatch.py records it",
        markers=("did not reach the following recipient(s)",),
        start=("did not reach the following recipient(s)",),
        end=(),
        recipients=(
            _p(rf"dda:SMTP={ADDR};?", _MI),
            _p(rf"^[ \t]*<?{ADDR}>?[ \t]+on[ \t]+(?:[a-z]{{3}},[ \t]*)?\d", _MI),
        ),
        reasons=(_p(r"\d\d:\d\d:\d\d\s+[+-]\d{4}\s+(?P<text>.+)$", _MI),),
    ),
    MtaFamily(
        name="sendmail",
        source="Sendmail savemail.c bounce headings ('----- The following addresses had "
        "permanent fatal errors -----')",
        markers=(
            "the following addresses had permanent fatal errors",
            "----- transcript of session follows -----",
        ),
        start=("the following addresses had permanent fatal errors",),
        end=(
            "----- original message follows -----",
            "----- message header follows -----",
            "----- original message headers follow",
        ),
        recipients=(_ALONE,),
        reasons=(
            _p(r"\(reason:\s*(?P<text>.+?)\)(?:\s|$)", _MI),
            _p(r"<<<\s*(?P<text>[245]\d\d[ -].+?)(?=\s*(?:<<<|>>>|\.\.\.\s*while)|$)", _MI),
        ),
        mtas=(_p(r"while talking to (?P<mta>[\w.-]+?)\.?:", _MI),),
    ),
    MtaFamily(
        name="qmail",
        source="qmail-send bounce text ('Hi. This is the qmail-send program at ...'), also "
        "netqmail, notqmail, qmail-ldap and vpopmail",
        markers=(
            "this is the qmail-send program",
            "i'm afraid i wasn't able to deliver your message",
        ),
        start=("i'm afraid i wasn't able to deliver your message",),
        end=(
            "--- below this line is a copy of the message",
            "--- enclosed are the original headers of the message",
        ),
        recipients=(_ANGLE_ALONE,),
        reasons=(_REMOTE_HOST_SAID,),
        mtas=(
            _p(r"(?P<mta>[\w.-]+) does not like recipient", _MI),
            _p(r"connected to (?P<mta>[\w.-]+) but", _MI),
        ),
    ),
    MtaFamily(
        name="yahoo",
        source="Yahoo Mail's notice ('Sorry, we were unable to deliver your message to the "
        "following address.')",
        markers=(
            "sorry, we were unable to deliver your message to the following address",
            "unfortunately, we weren't able to deliver your message",
            "message from yahoo.com",
        ),
        start=("deliver your message to the following address",),
        end=("--- below this line is a copy of the message",),
        recipients=(_ANGLE_ALONE,),
        reasons=(_REMOTE_HOST_SAID,),
    ),
    MtaFamily(
        name="exchange",
        source="Microsoft Exchange / Exchange Online NDRs ('Delivery has failed to these "
        "recipients or groups', 'Diagnostic information for administrators')",
        markers=(
            "delivery has failed to these recipients or groups",
            "delivery has failed to these recipients or distribution lists",  # Exchange 2007
            "diagnostic information for administrators",
            "your message did not reach some or all of the intended recipients",
            "the following recipient(s) cannot be reached",
            "couldn't be delivered",
            "remote server returned '",
        ),
        start=(
            "delivery has failed to these recipients or groups",
            "the following recipient(s) cannot be reached",
            "your message to",
            "diagnostic information for administrators",
        ),
        end=("original message headers:", "original message details"),
        recipients=(
            _ALONE_ON_DATE,
            _p(rf"your message to[ \t]+{ADDR}[ \t]+couldn'?t be delivered", _MI),
            _BULLET_BRACKET,
        ),
        reasons=(
            _p(r"remote server returned '(?P<text>[^']+)'", _MI),
            _p(r"<[^<>#]*#(?P<text>\d\.\d{1,3}\.\d{1,3}[^>]*)>", _MI),
        ),
        mtas=(_p(r"generating server:\s*(?P<mta>[\w.-]+)", _MI),),
    ),
    MtaFamily(
        name="outlook.com",
        source="Outlook.com / Hotmail and Windows SMTP service DSN text ('This is an "
        "automatically generated Delivery Status Notification.')",
        markers=(
            "this is an automatically generated delivery status notification",
            "delivery to the following recipients failed",
        ),
        start=("delivery to the following recipients failed",),
        end=("----- original message -----",),
        recipients=(_INDENTED, _ALONE, _BULLET),
        reasons=(_p(r"\bsmtp:\s*\w+ host [^:\s]+:\s*(?P<text>.+?)(?:\s*={5,}.*)?$", _MI),),
    ),
    MtaFamily(
        name="domino",
        source="HCL (Lotus) Notes / Domino delivery failure reports ('was not delivered to: "
        "... because: ...')",
        markers=(
            "not listed in domino directory",
            "not listed in public name & address book",
            "delivery failure report",
            "was not delivered to:",
        ),
        start=("was not delivered to:",),
        end=("----- original message",),
        recipients=(_ALONE,),
        reasons=(_p(r"because:\s*(?P<text>.+)$", _MI),),
    ),
    MtaFamily(
        name="gmail",
        source="Gmail's notices ('** Address not found **', older 'Delivery to the following "
        "recipient failed permanently')",
        markers=(
            "** address not found **",
            "delivery to the following recipient failed permanently",
            "your message wasn't delivered to",
            "google tried to deliver your message",
            "the response from the remote server was",
            "technical details of permanent failure",
        ),
        start=(
            "** address not found **",
            "** message blocked **",
            "** message not delivered **",
            "delivery to the following recipient failed permanently",
            "delivery to the following recipients failed permanently",
            "your message wasn't delivered to",
        ),
        end=("----- original message -----", "----- message truncated -----"),
        recipients=(
            _p(rf"your message wasn't delivered to {ADDR} because", _MI),
            _INDENTED,
        ),
        reasons=(
            _p(
                r"(?:the response from the remote server was|the error that the other server "
                r"returned was):\s*(?P<text>.+)$",
                _MI,
            ),
        ),
        mtas=(_p(r"\bby (?P<mta>[\w-]+(?:\.[\w-]+)+)\.? \[", _MI),),
    ),
    MtaFamily(
        name="groupwise",
        source="Novell / Micro Focus GroupWise ('Message status - undeliverable', 'The message "
        "that you sent was undeliverable to the following')",
        markers=(
            "the message that you sent was undeliverable to the following",
            "message status - undeliverable",
            "undeliverable recipient(s)",
            "possibly truncated original message follows",
        ),
        start=("was undeliverable to the following", "undeliverable recipient(s)"),
        end=("possibly truncated original message follows", "transmit data:"),
        recipients=(_p(rf"^[ \t]*<?{ADDR}>?[ \t]*(?P<rest>\(.*)?$"),),
        reasons=(_p(r"\((?!host:|queue:)(?P<text>[^)]+)\)", _MI),),
        mtas=(_p(r"\(host:\s*(?P<mta>[\w.-]+)\)", _MI),),
    ),
    MtaFamily(
        name="ipswitch-imail",
        source="Ipswitch (now Progress) IMail Server's SMTP32 delivery agent (X-Mailer '<SMTP32 "
        "vN>'): 'Unknown user: <addr>', 'Invalid final delivery userid: <addr>', 'RCPT TO "
        "generated following response:', 'Original message follows.'. Closed source: wording "
        "as GNU Mailman's bounce detectors record it (Mailman/Bouncers/SMTP32.py, and "
        "SimpleMatch.py's 'Invalid final delivery userid:' pattern)",
        markers=("rcpt to generated following response", "invalid final delivery userid"),
        start=(),
        end=("original message follows.",),
        recipients=(_p(rf"^(?P<rest>[A-Z][A-Za-z '-]{{2,60}}):[ \t]*<?{ADDR}>?[ \t]*$"),),
        reasons=(_p(r"rcpt to generated following response:\s*(?P<text>.+)$", _MI),),
    ),
    MtaFamily(
        name="pmdf",
        source="PMDF (Process Software) and its successor Sun / Oracle Communications Messaging "
        "Server, whose NOTARY routines generate the notice (immd_return(3) of the Messaging "
        "Server MTA SDK): 'Your message cannot be delivered to the following recipients:', "
        "'Recipient address: ...', 'Reason: ...', 'This report relates to a message you sent "
        "with the following header fields:'. Named PMDF by Sympa's bounce analyser",
        markers=(
            "your message cannot be delivered to the following recipients",
            "this report relates to a message you sent with the following header fields",
        ),
        start=("cannot be delivered to the following recipients",),
        end=(),
        recipients=(_p(rf"^[ \t]*recipient address:[ \t]*<?{ADDR}>?[ \t]*$", _MI),),
        reasons=(_p(r"(?:reason|original address):\s*(?:\S+@\S+\s+)?(?P<text>.+)$", _MI),),
    ),
    MtaFamily(
        name="mdaemon",
        source="MDaemon (Alt-N, now MDaemon Technologies) 'Permanent Delivery Failure' notices: "
        "'The attached message had PERMANENT fatal delivery errors', 'removed from the MDaemon "
        "mail queue on this server', 'The following addresses did NOT receive a copy of your "
        "message:', then '--- Session Transcript ---'. Closed source: wording as MDaemon "
        "servers send it (e.g. the notice quoted in gitlab.com/stavros/Spamnesty issue 100) "
        "and as GNU Mailman's SimpleMatch.py records it for 'MDaemon 3.5.2'",
        markers=(
            "the attached message had permanent fatal delivery errors",
            "the following addresses did not receive a copy of your message",
        ),
        start=("the following addresses did not receive a copy of your message",),
        end=(),
        recipients=(_p(rf"^>[ \t]*<?{ADDR}>?[ \t]*$"),),
        reasons=(
            _p(r"(?<![\w.])(?P<text>5\d\d[ -](?!.*sender ok).+?)(?=\s+(?:quit|rset)\b|$)", _MI),
        ),
    ),
    MtaFamily(
        name="smail",
        source="smail 3 error notices ('|---- Message log follows: ----|', '|---- Failed "
        "addresses follow: ----|' with 'addr ... reason' lines, '|---- Message text follows: "
        "----|'), as GNU Mailman's SimpleMatch.py records them for Smail",
        markers=("failed addresses follow:",),
        start=("failed addresses follow:",),
        end=("message text follows:",),
        recipients=(_p(rf"^[ \t]*<?{ADDR}>?[ \t]+\.\.\.[ \t]*(?P<rest>.*)$"),),
        reasons=(_p(r"\.\.\.\s*(?P<text>[^|\n]+?)\s*(?:\||$)", _MI),),
    ),
    MtaFamily(
        name="hotpop",
        source="HotPOP (hotpop.com) and other simple notices 'Undeliverable Address: <addr>', "
        "'Reason: ...', 'Original message attached', as GNU Mailman's SimpleMatch.py records "
        "them for hotpop.com",
        markers=("undeliverable address:",),
        start=("undeliverable address:",),
        end=("original message attached",),
        recipients=(_p(rf"^[ \t]*undeliverable address:[ \t]*<?{ADDR}>?[ \t]*$", _MI),),
        reasons=(_p(r"\breason:\s*(?P<text>.+)$", _MI),),
    ),
    MtaFamily(
        name="interscan",
        source="Trend Micro InterScan Messaging Security Suite / E-Mail VirusWall notices "
        "('Message from InterScan Messaging Security Suite', the session lines 'Sent <<< RCPT "
        "TO:<...>' and 'Received >>> 550 ...', '*** End of message ***'), as GNU Mailman's "
        "SimpleMatch.py records them for InterScan E-Mail VirusWall NT",
        markers=("message from interscan messaging security suite",),
        start=(),
        end=("end of message",),
        recipients=(_p(rf"rcpt to:[ \t]*<{ADDR}>", _MI),),
        reasons=(_p(r"received >>>\s*(?P<text>.+?)(?=\s*unable to deliver|\s*\*{3}|$)", _MI),),
    ),
    MtaFamily(
        name="mail.ru",
        source="Mail.Ru, which runs Exim: a Russian preamble, then Exim's own text for a message "
        "its local_scan() or non-SMTP ACL refused (Exim src/moan.c, ERRMESS_LOCAL_SCAN: 'A "
        "message that you sent was rejected by the local scanning code that checks incoming "
        "messages on this system. The following error was given:'), then its 'Local mailbox "
        "<addr> is unavailable: ...' reason",
        markers=("сервером mail.ru", "rejected by the local scanning code"),
        start=(),
        end=("------ this is a copy of your message",),
        recipients=(
            _p(rf"^[ \t]*local mailbox <?{ADDR}>? is unavailable:?[ \t]*(?P<rest>.*)$", _MI),
        ),
        reasons=(_p(r"the following error was given:\s*(?P<text>.+)$", _MI),),
    ),
    MtaFamily(
        name="mimesweeper",
        source="Clearswift MIMEsweeper (formerly MAILsweeper) for SMTP notices: 'A message could "
        "not be delivered to:', the address alone on its line, then the reason in the site's "
        "own language (the notice text is a site-edited template); the shape as GNU "
        "Mailman's SimpleMatch.py records it ('^A message could not be delivered to:')",
        markers=("a message could not be delivered to:",),
        start=("a message could not be delivered to:",),
        end=(),
        recipients=(_ALONE,),
    ),
    MtaFamily(
        name="phquery",
        source="phquery, the CSO/ph directory mail gateway of university sites (its notice "
        "'Returned mail - nameserver error report': '--------Message not delivered to the "
        "following:', '--------Error Detail (phquery V<n>):', '--------Unsent Message below:'); "
        "the recipient written as its directory alias, often with no domain. Wording as the "
        "gateway writes it in the notice (no published source)",
        markers=("error detail (phquery",),
        start=("message not delivered to the following",),
        end=("--------unsent message below",),
        recipients=(
            _p(rf"^[ \t]+<?{ADDR}>?(?:[ \t]{{2,}}(?P<rest>\S[^\n]*))?[ \t]*$"),
            _p(rf"^[ \t]+{LOCAL}[ \t]{{2,}}(?P<rest>\S[^\n]*)$"),
        ),
        reasons=(_p(r"^-{2,}\s*\S+@\S+\s+(?P<text>.+)$"),),  # the detail's "---- jane@x" paragraph
    ),
    MtaFamily(
        name="jetmail",
        source="JetMail, a mail server of Chinese ISPs (its Received lines read 'JetMail "
        "2.5.3.0'): 'Your mail cannot be delivered to the following address(es):', then "
        "'name \"(n), ErrMsg=<reason>, account=name \"' (the local part alone), then "
        "'---- Header of the source mail attached ----'. Wording as the server writes it "
        "(closed source, no published text)",
        markers=("your mail cannot be delivered to the following address(es)",),
        start=("cannot be delivered to the following address(es)",),
        end=("---- header of the source mail attached",),
        recipients=(
            _p(rf"^[ \t]*<?{ADDR}>?[ \t]+\"(?P<rest>[^\"\n]*)"),
            _p(rf"^[ \t]*{LOCAL}[ \t]+\"(?P<rest>[^\"\n]*)"),
        ),
        reasons=(_p(r"errmsg=(?P<text>[^,\"\n]+)", _MI),),
    ),
    MtaFamily(
        name="amazon-ses",
        source="Amazon SES bounce notification text ('An error occurred while trying to deliver "
        "the mail to the following recipients')",
        markers=("an error occurred while trying to deliver the mail to the following recipients",),
        start=("to the following recipients",),
        end=(),
        recipients=(_ALONE,),
        headers=(("x-ses-outgoing", ""), ("from", "amazonses.com")),
    ),
    MtaFamily(
        name="sendgrid",
        source="SendGrid forwarded bounces (Forward Bounce setting): headers X-SG-EID / "
        "sendgrid.net senders; the remote server's text is in the body",
        markers=(),
        start=(),
        end=(),
        recipients=(_ANGLE_COLON, _LEADING, _ALONE),
        headers=(("x-sg-eid", ""), ("from", "sendgrid.net")),
    ),
    MtaFamily(
        name="mailgun",
        source="Mailgun relayed bounces: X-Mailgun-Sid header or mailgun senders; the remote "
        "server's text is in the body",
        markers=(),
        start=(),
        end=(),
        recipients=(_ANGLE_COLON, _LEADING, _ALONE),
        headers=(("x-mailgun-sid", ""), ("from", "mailgun.")),
    ),
    MtaFamily(
        name="kddi",
        source="KDDI au / ezweb.ne.jp notices ('Your mail sent on ... could not be delivered to "
        "the following address')",
        markers=("could not be delivered to the following address", "your mail sent on"),
        start=("could not be delivered to the following address",),
        end=("----- original message",),
        recipients=(_LEADING, _ALONE),
    ),
    MtaFamily(
        name="japanese",
        source="Japanese carriers and ISPs (docomo, SoftBank, Nifty, OCN): Japanese notices "
        "('次の宛先へのメールを配信できませんでした' and kin), ISO-2022-JP or Shift_JIS",
        markers=(
            "配信できませんでした",
            "配信に失敗しました",
            "送信できませんでした",
            "届けられませんでした",
            "宛先不明",
            "配送できませんでした",
        ),
        start=(
            "配信できませんでした",
            "配信に失敗しました",
            "送信できませんでした",
            "届けられませんでした",
            "配送できませんでした",
        ),
        end=("元のメッセージ", "----- original message", "以下、元のメール"),
        recipients=(_LEADING, _ALONE),
    ),
    MtaFamily(
        name="european-carrier",
        source="European carriers' own notices (Orange, SFR, T-Online, GMX/Web.de, WP/Onet/"
        "Interia, Libero, Telefonica), in their languages",
        markers=(
            "n'a pas pu être remis",
            "n'a pas pu être délivré",
            "message non remis",
            "konnte nicht zugestellt werden",
            "nicht zugestellt werden konnte",
            "unzustellbar",
            "nie mogła zostać dostarczona",
            "nie została dostarczona",
            "nie można dostarczyć",
            "nie może zostać dostarczona",
            "non è stato possibile recapitare",
            "non è stato recapitato",
            "messaggio non recapitato",
            "no se ha podido entregar",
            "no se pudo entregar",
            "kon niet worden afgeleverd",
            "onbestelbaar",
        ),
        start=(
            "n'a pas pu être",
            "zugestellt werden",
            "nie mogła",
            "nie została",
            "nie można",
            "recapitare",
            "recapitato",
            "entregar",
            "afgeleverd",
        ),
        end=(
            "----- original message",
            "message d'origine",
            "ursprüngliche nachricht",
            "oryginalna wiadomość",
            "messaggio originale",
            "mensaje original",
        ),
        recipients=(_ANGLE_COLON, _LEADING, _ALONE),
    ),
)
"""The MTA families with their own formats, tried in this order."""

GENERIC = MtaFamily(
    name="generic",
    source="Any bounce-looking notice: recipient lines as most MTAs write them",
    markers=(),
    start=(),
    end=(),
    recipients=(
        _ANGLE_COLON, _LEADING, _ALONE, _WORDS_COLON, _ORIGINALLY, _MESSAGE_TO, _ADDRESS_CLAUSE
    ),
    reasons=(_REMOTE_HOST_SAID,),
)  # fmt: skip

ORIGINAL_MARKERS: tuple[str, ...] = (
    "------ this is a copy of the message",  # Exim
    "--- below this line is a copy of the message",  # qmail, Yahoo
    "--- enclosed are the original headers of the message",  # qmail
    "----- original message follows -----",  # Sendmail
    "----- message header follows -----",  # Sendmail
    "----- original message -----",  # Gmail, many
    "original message headers:",  # Exchange
    "-----original message-----",  # Outlook
    "possibly truncated original message follows",  # GroupWise
    "---- header of the source mail attached ----",  # JetMail
    "--------unsent message below:",  # phquery
)
"""Lines after which a text bounce quotes the returned original message (lower-case)."""

DELAY_MARKERS: tuple[str, ...] = (
    "delayed mail (still being retried)",  # Postfix delay warning subject
    "this is a warning message only",  # Postfix
    "has not yet been delivered to one or more of its recipients",  # Exim warn_message
    "warning: message still undelivered",  # Sendmail
    "this is only a warning; you do not need to resend",  # Sendmail
    "delivery to the following recipient has been delayed",  # Gmail
    "delivery to the following recipients has been delayed",  # Exchange
    "delivery incomplete",  # Gmail
    "delay notification",  # Exchange
    "will retry for",  # Exim, Gmail
    "message delayed",
    "delivery attempts will continue to be made",  # Symantec AntiVirus for SMTP Gateways
    "we will continue to try to deliver your message",
)
"""Phrases of "still trying" warnings: a delay, not a bounce (lower-case)."""

BOUNCE_SENDERS: tuple[str, ...] = (
    "mailer-daemon",
    "mailer_daemon",
    "mailerdaemon",
    "mail-daemon",
    "postmaster",
    "mail delivery subsystem",
    "mail delivery system",
    "microsoftexchange",
    "mdaemon",
)
"""Sender names or local parts of bounces (lower-case substrings of From)."""

BOUNCE_SUBJECTS: tuple[str, ...] = (
    "undeliver",  # Undeliverable, Undelivered Mail Returned to Sender
    "returned mail",
    "delivery status notification",
    "failure notice",
    "mail delivery failed",
    "delivery failure",
    "delivery_failure",
    "could not be delivered",
    "non-delivery",
    "nondeliverable",
    "message status - undeliverable",
    "returned to sender",
    "message non remis",
    "non remis",
    "unzustellbar",
    "nicht zustellbar",
    "niedostarczon",
    "nie dostarczono",
    "non recapitat",
    "no entregado",
    "no se pudo entregar",
    "onbestelbaar",
    "配信エラー",
    "配信失敗",
    "未達",
)
"""Subjects of bounces (lower-case substrings)."""

AUTO_REPLY_HEADERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("auto-submitted", ()),  # RFC 3834: any value but "no"
    ("x-autoreply", ()),
    ("x-autorespond", ()),
    ("x-autoresponder", ()),
    ("precedence", ("auto_reply", "auto-reply")),
    ("x-precedence", ("auto_reply", "auto-reply")),
    ("x-auto-response", ()),
)
"""Headers of auto-replies: (name, values that count; empty: any value but no/false)."""

AUTO_REPLY_SUBJECTS: tuple[str, ...] = (
    "out of office",
    "out of the office",
    "automatic reply",
    "auto reply",
    "auto-reply",
    "autoreply",
    "auto:",
    "autosvar",  # Scandinavian
    "automatische antwort",
    "abwesenheitsnotiz",
    "réponse automatique",
    "reponse automatique",
    "absence du bureau",
    "respuesta automática",
    "respuesta automatica",
    "risposta automatica",
    "odpowiedź automatyczna",
    "odpowiedz automatyczna",
    "automatisch antwoord",
    "vacation",
    "away from my mail",
    "不在",
    "自動応答",
    "自動返信",
)
"""Subjects of vacation and out-of-office replies (lower-case substrings)."""

AUTO_REPLY_PHRASES: tuple[str, ...] = (
    "out of the office",
    "out of office",
    "i am on vacation",
    "i'm on vacation",
    "currently on vacation",
    "on annual leave",
    "on holiday",
    "limited access to e-mail",
    "limited access to email",
    "i am currently away",
    "i'm currently away",
    "bin ich nicht im büro",
    "abwesend",
    "absent du bureau",
    "en congés",
    "fuera de la oficina",
    "poza biurem",
    "fuori ufficio",
    "不在にしております",
)
"""Body phrases of auto-replies that carry no auto-reply header (lower-case)."""

REDACTED_LOCAL_PARTS = re.compile(
    r"^(?:x+|\*+|redacted|\[redacted\]|removed|anonymi[sz]ed|hidden)$"
)
"""Local parts that feedback loops write instead of the real recipient."""
