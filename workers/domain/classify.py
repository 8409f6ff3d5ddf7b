"""Bounce and complaint classification (CLASSIFICATION.md); the tables are in ``classify_rules``.

Evidence, strongest first: the provider's own fields, the enhanced status code, the
diagnostic text (which overrides the code where providers misuse it), the basic reply
code. The one mistake that costs customers is a false ``nonexistent``: a spam block read
as a dead address deletes a good subscriber for ever. So a nonexistent verdict must
survive every veto: a 4.x.x code (transient by definition), text about the sender,
spam / policy text, or text about a full or disabled mailbox.

When the bounce carries no code at all (qmail, Lotus Domino, old Sendmail, carriers'
pages), the text decides alone: an unambiguous "no such user / domain" statement is
nonexistent, a full or disabled mailbox is condition, anything else unknown.

The function is on the hot path of the worker: every phrase of every language is found
in one RE2 pass over one lower-cased copy of the text (``classify_text``), the other
regular expressions have bounded repetitions, and the status table lookup is cached.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from suppressor_client.types import BounceDetails, DeliveryEvent, DeliveryType, Outcome

from workers.domain import classify_rules as rules
from workers.domain.classify_text import Findings, scan

__all__ = [
    "MAX_SCANNED_TEXT",
    "Classification",
    "classify",
    "classify_delivery",
    "classify_feedback",
]

MAX_SCANNED_TEXT = 10_000
"""Characters of diagnostic text scanned (the schema's limit); bounds the work per event."""

_STATUS_FIELD = re.compile(r"#?\s{0,3}([245])\.(\d{1,3})\.(\d{1,3})(?!\d)")
_STATUS_AFTER_CODE = re.compile(
    r"(?:smtp; ?)?[245]\d\d[ -]{1,3}#?([245])\.(\d{1,3})\.(\d{1,3})(?!\d)"
)
_STATUS_IN_TEXT = re.compile(r"(?<![\w.])([45])\.(\d{1,3})\.(\d{1,3})(?!\d|\.\d)")
_CODE_IN_TEXT = re.compile(r"(?:smtp; ?)?([245]\d\d)(?![\d.])")
# a failure reply code further in ("host mx said: 550 ..."), not an IP, port, phone or id
_FAILURE_CODE_IN_TEXT = re.compile(r"(?<![\w.#/+=:-])([45][0-5]\d)(?=[ -]|$)")
_NOT_ALNUM = re.compile(r"[\W_]+")

_Status = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Classification:
    """An outcome and the evidence that decided it.

    Evidence reads like ``("status:5.1.1", "text:'user unknown'")`` or
    ``("provider:sendgrid:bounce/Invalid Address",)``: enough to audit a listing.
    """

    outcome: Outcome
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Signals:
    """What one bounce says, parsed once."""

    text: str  # lower-cased, whitespace collapsed
    findings: Findings  # the kinds of phrase the text holds
    status: _Status | None
    status_key: str | None  # "5.1.1"
    code: int | None

    @property
    def coded_failure(self) -> bool:
        """A real 4xx/5xx code (enhanced or basic) is present."""
        return (self.status is not None and self.status[0] in (4, 5)) or (
            self.code is not None and self.code // 100 in (4, 5)
        )

    @property
    def transient(self) -> bool:
        """A 4.x.x status or a 4xx reply code: never nonexistent."""
        return (self.status is not None and self.status[0] == 4) or (
            self.code is not None and self.code // 100 == 4
        )

    def with_status(self, *evidence: str) -> tuple[str, ...]:
        """Evidence prefixed by the status code, when there is one."""
        if self.status_key is None:
            return evidence
        return (f"status:{self.status_key}", *evidence)


def classify(details: BounceDetails) -> Classification:
    """The outcome of one bounce, following CLASSIFICATION.md; never raises."""
    signals = _signals(details)
    found = _provider_rule(details)
    if found is None:
        return _by_evidence(signals, rules.BY_EVIDENCE)
    rule, label = found
    if isinstance(rule, rules.ByEvidence):
        inner = _by_evidence(signals, rule)
        outcome = inner.outcome if inner.outcome in rule.allowed else rule.fallback
        return Classification(outcome, (label, *inner.evidence))
    if rule is Outcome.NONEXISTENT:
        veto = _nonexistent_veto(signals)
        if veto is not None:
            return Classification(veto.outcome, (label, *veto.evidence))
    return Classification(rule, (label,))


def classify_feedback(feedback_type: str | None) -> Classification:
    """The outcome of an ARF feedback-loop report, by its ``Feedback-Type``."""
    if not isinstance(feedback_type, str) or not feedback_type.strip():
        return Classification(rules.FEEDBACK_DEFAULT, ("feedback:missing",))
    key = feedback_type.strip().lower().replace("_", "-").replace(" ", "-")[:64]
    outcome = rules.FEEDBACK_RULES.get(key)
    if outcome is None:
        return Classification(rules.FEEDBACK_DEFAULT, (f"feedback:unregistered:{key}",))
    return Classification(outcome, (f"feedback:{key}",))


def classify_delivery(event: DeliveryEvent) -> Classification | None:
    """Classify a bounce or a complaint; other delivery events carry nothing to classify."""
    if event.type is DeliveryType.BOUNCE:
        return classify(event.bounce if event.bounce is not None else BounceDetails())
    if event.type is DeliveryType.COMPLAINT:
        return classify_feedback(event.feedback_type)
    return None


def _signals(details: BounceDetails) -> _Signals:
    diagnostic = details.diagnostic
    text = (
        " ".join(diagnostic[:MAX_SCANNED_TEXT].split()).lower()
        if isinstance(diagnostic, str)
        else ""
    )
    findings = scan(text)
    reason = findings.text  # the server's words: no wrapper, no returned copy
    status = _parse_status(details.smtp_status, reason)
    code = details.smtp_code
    if not isinstance(code, int) or isinstance(code, bool) or not 200 <= code <= 599:
        code = _code_in_text(reason)
    status_key = None if status is None else f"{status[0]}.{status[1]}.{status[2]}"
    return _Signals(reason, findings, status, status_key, code)


def _parse_status(field: str | None, text: str) -> _Status | None:
    """The enhanced code from its field, else from the text (after a reply code, else alone)."""
    if isinstance(field, str):
        match = _STATUS_FIELD.match(field.strip())
        if match is not None:
            return _status_of(match)
    if not text:
        return None
    match = _STATUS_AFTER_CODE.match(text) or _STATUS_IN_TEXT.search(text)
    return None if match is None else _status_of(match)


def _status_of(match: re.Match[str]) -> _Status:
    return int(match[1]), int(match[2]), int(match[3])


def _code_in_text(text: str) -> int | None:
    """A leading reply code, unless a 4xx/5xx follows (a transcript's 220 greeting); else
    the first 4xx/5xx further in."""
    leading = _CODE_IN_TEXT.match(text)
    if leading is not None and leading[1][0] in "45":
        return int(leading[1])
    failure = _FAILURE_CODE_IN_TEXT.search(text)
    if failure is not None:
        return int(failure[1])
    return None if leading is None else int(leading[1])


def _by_evidence(signals: _Signals, rule: rules.ByEvidence) -> Classification:
    """Status code, text and reply code, without provider fields."""
    status, code, found = signals.status, signals.code, signals.findings
    if not signals.coded_failure:
        if status is not None and status[0] == 2:
            return Classification(Outcome.IGNORED, signals.with_status())
        if code is not None and code // 100 == 2:
            return Classification(Outcome.IGNORED, (f"code:{code}",))
        phrase = found.first_of(rules.IGNORED_KINDS)
        if phrase is not None:
            return Classification(Outcome.IGNORED, (_text_evidence(phrase),))
    klass = status[0] if status is not None else code // 100 if code is not None else None
    no_code = klass is None and rule.assumed_class is None
    if klass is None:
        klass = rule.assumed_class
    if klass != 5:
        phrase = found.first_of(rules.DELAY_KINDS)
        if phrase is not None:
            return Classification(Outcome.IGNORED, signals.with_status(_text_evidence(phrase)))
    decided = _text_rule(found)
    if decided is not None:
        return Classification(decided[0], signals.with_status(decided[1]))
    if (klass == 5 and not signals.transient) or no_code:
        kinds = rules.STATUS_TEXT_GATES.get(signals.status_key or "", rules.MISSING_KINDS)
        phrase = found.first_of(kinds)
        if phrase is not None:
            return _unless_vetoed(signals, Outcome.NONEXISTENT, _text_evidence(phrase))
    if status is not None:
        outcome = _status_rule(status)
        if outcome is not None:
            return _unless_vetoed(signals, _downgrade(outcome, signals))
    if code is not None:
        outcome = rules.BASIC_CODE_RULES.get(code) or rules.BASIC_CLASS_DEFAULT.get(
            code // 100, Outcome.UNKNOWN
        )
        return _unless_vetoed(signals, _downgrade(outcome, signals), f"code:{code}")
    return Classification(Outcome.UNKNOWN, (*signals.with_status(), "default:unknown"))


def _unless_vetoed(signals: _Signals, outcome: Outcome, *evidence: str) -> Classification:
    """A nonexistent verdict beside temporary text ("try again", "timed out") is unknown."""
    if outcome is Outcome.NONEXISTENT:
        veto = signals.findings.first_of(rules.NONEXISTENT_VETO_KINDS)
        if veto is not None:
            return Classification(
                Outcome.UNKNOWN, signals.with_status(*evidence, _text_evidence(veto))
            )
    return Classification(outcome, signals.with_status(*evidence))


def _nonexistent_veto(signals: _Signals) -> Classification | None:
    """What overrules a provider's "nonexistent": a 4.x.x code, or any text against it."""
    found = _text_rule(signals.findings)
    if found is not None:
        return Classification(found[0], signals.with_status(found[1]))
    veto = signals.findings.first_of(rules.NONEXISTENT_VETO_KINDS)
    if veto is not None:
        return Classification(Outcome.UNKNOWN, signals.with_status(_text_evidence(veto)))
    if signals.transient:
        code = () if signals.code is None else (f"code:{signals.code}",)
        return Classification(Outcome.UNKNOWN, (*signals.with_status(), *code))
    return None


def _text_rule(found: Findings) -> tuple[Outcome, str] | None:
    if not found.first:
        return None
    for kind, outcome in rules.TEXT_RULES:
        phrase = found.get(kind)
        if phrase is not None:
            return outcome, _text_evidence(phrase)
    return None


def _downgrade(outcome: Outcome, signals: _Signals) -> Outcome:
    """A transient code is never nonexistent."""
    if outcome is Outcome.NONEXISTENT and signals.transient:
        return Outcome.UNKNOWN
    return outcome


@lru_cache(maxsize=4096)
def _status_rule(status: _Status) -> Outcome | None:
    klass, subject, detail = status
    table = rules.STATUS_RULES
    return (
        table.get(f"{klass}.{subject}.{detail}")
        or table.get(f"x.{subject}.{detail}")
        or table.get(f"x.{subject}")
    )


def _text_evidence(phrase: str) -> str:
    return f"text:{phrase!r}"


# --- provider fields ------------------------------------------------------------------

_Row = tuple[rules.ProviderRule, str, str]  # rule, type spelling, subtype spelling


def _key(value: object) -> str:
    """Case-, space- and punctuation-blind spelling of a provider field."""
    return _NOT_ALNUM.sub("", value.lower()) if isinstance(value, str) else ""


def _compile_tables() -> dict[str, dict[tuple[str, str], _Row]]:
    compiled: dict[str, dict[tuple[str, str], _Row]] = {}
    for provider, rows in rules.PROVIDER_TABLES.items():
        table = compiled.setdefault(provider, {})
        for type_, subtype, rule in rows:
            key = (
                "*" if type_ == "*" else _key(type_),
                "*" if subtype == "*" else _key(subtype),
            )
            table[key] = (rule, type_, subtype)
    return compiled


_PROVIDERS = _compile_tables()


def _provider_rule(details: BounceDetails) -> tuple[rules.ProviderRule, str] | None:
    """The provider row that matches the event's fields, and its evidence label."""
    name = _key(details.provider)
    name = rules.PROVIDER_ALIASES.get(name, name)
    table = _PROVIDERS.get(name)
    if table is None:
        return None
    type_key, subtype_key = _key(details.provider_type), _key(details.provider_subtype)
    if not type_key and not subtype_key:
        return None
    for key in (
        (type_key, subtype_key),
        ("*", subtype_key),
        (type_key, "*"),
        ("*", type_key),
        ("*", "*"),
    ):
        row = table.get(key)
        if row is not None:
            return row[0], _provider_label(name, row, details)
    return None


def _provider_label(name: str, row: _Row, details: BounceDetails) -> str:
    """``provider:sendgrid:bounce/Invalid Address``: the row's spelling, the input's for ``*``."""
    _, type_, subtype = row
    parts = (
        _raw(details.provider_type) if type_ == "*" else type_,
        _raw(details.provider_subtype) if subtype == "*" else subtype,
    )
    return f"provider:{name}:" + "/".join(part for part in parts if part)


def _raw(value: object) -> str:
    return value.strip()[:64] if isinstance(value, str) else ""
