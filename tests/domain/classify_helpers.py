"""Shared by the classification tests: a text each phrase row must be found in."""

from __future__ import annotations

from workers.domain.classify_phrases import Phrase

__all__ = ["REGEX_EXAMPLES", "example"]

REGEX_EXAMPLES: dict[str, str] = {
    r"\bmail from(?:$|[^:]|:[^ <]|: [^<])": "not accepting mail from bulk@example.net",
    r"wasn't found at [a-z0-9.-]{1,253}": "jane wasn't found at example.com.",
    r"scanned (?:for|by) [^.;:]{0,80}": "this message has been scanned for viruses and spam.",
    r"the domain [a-z0-9.-]{1,253} couldn't be found": "the domain example.com couldn't be found",
    r"subject: .{0,300}? (?:sent:|was not delivered to)": "subject: virus alert sent:",
    r"recipient addresses rejected ?: access denied": (
        "all recipient addresses rejected : access denied"
    ),
}
"""A text each regex row must match (literal rows are their own example)."""


def example(row: Phrase) -> str:
    """A text that holds the row."""
    return REGEX_EXAMPLES[row.text] if row.regex else row.text
