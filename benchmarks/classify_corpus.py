"""Score the bounce classifier against a public corpus of real bounce mails, by effect.

Run: ``python benchmarks/classify_corpus.py [--cache DIR] [--output FILE]``. Downloads the
``flufl.bounce`` source distribution (its ``tests/data`` holds ~115 real bounces from ~40
MTAs and providers) with pip into a git-ignored cache, reads each message with the mail
parser (``workers.ingest.mail.parse``), classifies every recipient report, and compares
the effect with our own labels (``corpus/flufl_bounce_labels.tsv``: one line per file,
judged by reading the message against CLASSIFICATION.md, with a short why).

Two figures: ``pipeline`` scores the product path (parser, then classifier); ``text``
scores the classifier alone on the server's words: where the parser found no diagnostic
(or could not read the message), the message's own notification text (its text parts,
read with the stdlib ``email`` package, whole) is classified instead.

Effects: ``hard`` (listed at once: nonexistent, complaint), ``ladder`` (condition),
``none`` (policy / unknown: counted, never listed), ``ignored`` (not a bounce: delay
warnings, auto-replies, delivery notices). Prints agreement, the false-hard rate of the
non-hard cases, the missed-hard rate, a confusion table and every disagreement; writes
``results/classify_corpus.json``. The corpus files are read from the cache, never
committed.
"""

from __future__ import annotations

import argparse
import email
import json
import re
import subprocess
import sys
import tarfile
from collections import Counter
from dataclasses import dataclass, replace
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from suppressor_client.types import BounceDetails, Outcome

from workers.domain.classify import Classification, classify, classify_feedback
from workers.ingest.mail.parse import parse_message
from workers.ingest.mail.reports import IGNORED_KINDS, Kind, MailReport

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "flufl.bounce"
VERSION = "6.0.0"
LABELS = Path(__file__).resolve().parent / "corpus" / "flufl_bounce_labels.tsv"
RESULTS = Path(__file__).resolve().parent / "results" / "classify_corpus.json"
CACHE = ROOT / ".cache" / "corpus"  # .cache/ is git-ignored
DATA_DIR = "/tests/data/"
TEXT_LIMIT = 10_000
_TAG = re.compile(r"<[^>]{0,500}>")
EFFECTS = ("hard", "ladder", "none", "ignored")

EFFECT_OF: dict[Outcome, str] = {
    Outcome.NONEXISTENT: "hard",
    Outcome.COMPLAINT: "hard",
    Outcome.UNSUBSCRIBE: "hard",
    Outcome.CONDITION: "ladder",
    Outcome.POLICY: "none",
    Outcome.UNKNOWN: "none",
    Outcome.IGNORED: "ignored",
}
"""What each outcome does to an address (SPEC.md §6)."""


@dataclass(frozen=True, slots=True)
class Scored:
    """One recipient of one corpus message: what we expected and what we got."""

    file: str
    email: str
    expected: str
    got: str
    kind: str
    evidence: tuple[str, ...]
    why: str


def sdist(cache: Path) -> Path:
    """The cached sdist, downloaded with pip when missing."""
    cache.mkdir(parents=True, exist_ok=True)
    found = sorted(cache.glob("flufl_bounce-*.tar.gz")) + sorted(cache.glob("flufl.bounce-*"))
    if found:
        return found[0]
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--no-binary",
        ":all:",
        f"{PACKAGE}=={VERSION}",
        "-d",
        str(cache),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = sorted(cache.glob("flufl_bounce-*.tar.gz"))
    if done.returncode != 0 or not found:
        raise SystemExit(
            f"could not download {PACKAGE}=={VERSION} with pip (exit {done.returncode}):\n"
            f"{done.stderr.strip()[-2000:]}\n"
            f"Check that the package index is reachable, or put the sdist in {cache}."
        )
    return found[0]


def corpus(archive: Path) -> dict[str, bytes]:
    """The test messages of the sdist: file name -> raw bytes."""
    messages: dict[str, bytes] = {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile() and DATA_DIR in member.name and member.name.endswith(".txt"):
                handle = tar.extractfile(member)
                if handle is not None:
                    messages[Path(member.name).name] = handle.read()
    return messages


def labels(path: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(file, recipient or "*") -> (expected effect, why)."""
    table: dict[tuple[str, str], tuple[str, str]] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t", 3)
        if len(fields) != 4 or fields[2] not in EFFECTS:
            raise SystemExit(f"{path}:{number}: expected file, recipient, effect, why: {line!r}")
        file, recipient, effect, why = fields
        table[(file, recipient.lower())] = (effect, why)
    return table


def outcome_of(report: MailReport) -> tuple[str, Classification | None]:
    """The effect of one parsed report, and the classification when there was one."""
    if report.kind in IGNORED_KINDS or report.kind == Kind.DELIVERED:
        return "ignored", None
    if report.kind == Kind.COMPLAINT:
        result = classify_feedback(report.feedback_type)
        return EFFECT_OF[result.outcome], result
    if report.kind != Kind.BOUNCE:
        return "none", None  # unparsed / unresolved: no listing (the DLQ keeps it)
    result = classify(
        BounceDetails(
            smtp_status=report.smtp_status,
            smtp_code=report.smtp_code,
            diagnostic=report.diagnostic,
        )
    )
    return EFFECT_OF[result.outcome], result


def notification_text(raw: bytes) -> str:
    """The human-readable parts of a bounce, as a producer would pass them on: whole (the
    classifier itself cuts off the returned copy and the providers' frames)."""
    message = email.message_from_bytes(raw, policy=policy.default)
    chunks: list[str] = []
    for part in _parts(message):
        try:
            content = part.get_content()
        except (LookupError, ValueError, AssertionError):
            payload = part.get_payload(decode=True)
            content = payload.decode("latin-1") if isinstance(payload, bytes) else ""
        if isinstance(content, bytes):
            content = content.decode("latin-1")
        if part.get_content_subtype() == "html":
            content = _TAG.sub(" ", content)
        chunks.append(str(content))
    return "\n".join(chunks)[:TEXT_LIMIT]


def _parts(message: EmailMessage) -> list[EmailMessage]:
    """Text parts, not descending into the returned original message."""
    if message.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
        return []
    if message.is_multipart():
        return [part for child in message.iter_parts() for part in _parts(child)]  # type: ignore[arg-type]
    return [message] if message.get_content_maintype() == "text" else []


def reports_of(raw: bytes, text_fallback: bool) -> list[MailReport]:
    """The parser's reports; with ``text_fallback``, empty diagnostics read the mail's text."""
    reports = parse_message(raw)
    if not text_fallback:
        return reports
    text = notification_text(raw)
    fixed: list[MailReport] = []
    for parsed in reports:
        if parsed.kind == Kind.UNPARSED:
            fixed.append(replace(parsed, kind=Kind.BOUNCE, diagnostic=text))
        elif parsed.kind == Kind.BOUNCE and not parsed.diagnostic:
            fixed.append(replace(parsed, diagnostic=text))
        else:
            fixed.append(parsed)
    return fixed


def score(
    messages: dict[str, bytes],
    table: dict[tuple[str, str], tuple[str, str]],
    text_fallback: bool = False,
) -> list[Scored]:
    """Every (file, recipient) of the labelled messages, scored once."""
    scored: list[Scored] = []
    for file in sorted(messages):
        if (file, "*") not in table:
            continue
        seen: set[str] = set()
        for report in reports_of(messages[file], text_fallback):
            email = (report.email or "").lower()
            if email in seen:
                continue
            seen.add(email)
            expected, why = table.get((file, email)) or table[(file, "*")]
            got, result = outcome_of(report)
            evidence = result.evidence if result is not None else (f"kind:{report.kind}",)
            scored.append(Scored(file, email, expected, got, str(report.kind), evidence, why))
    return scored


def figures(scored: list[Scored]) -> dict[str, Any]:
    """Agreement, false-hard and missed-hard rates, and the confusion table."""
    total = len(scored)
    hard = [row for row in scored if row.expected == "hard"]
    not_hard = [row for row in scored if row.expected != "hard"]
    confusion = Counter((row.expected, row.got) for row in scored)
    return {
        "cases": total,
        "agreement": round(sum(row.expected == row.got for row in scored) / total, 4),
        "false_hard_rate_of_non_hard": round(
            sum(row.got == "hard" for row in not_hard) / max(len(not_hard), 1), 4
        ),
        "missed_hard_rate": round(sum(row.got != "hard" for row in hard) / max(len(hard), 1), 4),
        "expected_counts": dict(Counter(row.expected for row in scored)),
        "confusion": {
            expected: {got: confusion[(expected, got)] for got in EFFECTS} for expected in EFFECTS
        },
    }


def report(title: str, result: dict[str, Any], scored: list[Scored]) -> None:
    """Print the figures, the confusion table and every disagreement."""
    print(f"\n== {title}: {PACKAGE} {VERSION} tests/data, {result['cases']} recipient cases")
    print(f"agreement:                  {result['agreement']:.1%}")
    print(f"false hard (of non-hard):   {result['false_hard_rate_of_non_hard']:.1%}")
    print(f"missed hard:                {result['missed_hard_rate']:.1%}")
    print("\nconfusion (rows expected, columns got):")
    print(f"{'':>10}" + "".join(f"{effect:>9}" for effect in EFFECTS))
    for expected in EFFECTS:
        row = result["confusion"][expected]
        print(f"{expected:>10}" + "".join(f"{row[got]:>9}" for got in EFFECTS))
    wrong = [row for row in scored if row.expected != row.got]
    if wrong:
        print("\ndisagreements:")
    for row in wrong:
        print(f"  {row.file} {row.email or '-'}: expected {row.expected}, got {row.got}")
        print(f"      kind={row.kind} evidence={' '.join(row.evidence)}")
        print(f"      label: {row.why}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=CACHE, help="where the sdist is kept")
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    messages = corpus(sdist(args.cache))
    table = labels(args.labels)
    unlabelled = sorted(file for file in messages if (file, "*") not in table)
    if unlabelled:
        raise SystemExit(f"messages without a label in {args.labels}: {', '.join(unlabelled)}")
    missing = sorted({file for file, _ in table} - set(messages))
    if missing:
        print(f"labelled but not in the sdist: {', '.join(missing)}")
    result: dict[str, Any] = {"corpus": f"{PACKAGE}=={VERSION} tests/data"}
    for name, fallback in (("pipeline", False), ("text", True)):
        scored = score(messages, table, text_fallback=fallback)
        figures_of = figures(scored)
        figures_of["disagreements"] = [
            {"file": row.file, "email": row.email, "expected": row.expected, "got": row.got}
            for row in scored
            if row.expected != row.got
        ]
        title = (
            "pipeline (parser, then classifier)"
            if name == "pipeline"
            else ("classifier on the server's words (notification text where the parser had none)")
        )
        report(title, figures_of, scored)
        result[name] = figures_of
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
