"""The README and docs/ stay true to the tree: every relative link and every named path exists.

Pages name files in two ways: Markdown links (relative to the page, with an optional
``#heading``) and repository paths such as ``workers/domain/ladder.py`` or
``tests/ops/`` (relative to the repository root). A renamed module or folder leaves both
behind, so both are checked here. Text only: no import of the code, no broker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from tests.test_architecture import LAYERS

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

_FENCE = re.compile(r"^\s*(```|~~~)")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


@dataclass(frozen=True)
class Page:
    """One Markdown page split into prose lines and fenced-code lines."""

    path: Path
    prose: tuple[str, ...]
    code: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join((*self.prose, *self.code))


@cache
def read_page(path: Path) -> Page:
    """The page's lines, told apart by whether they sit inside a fenced code block."""
    prose: list[str] = []
    code: list[str] = []
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        (code if fenced else prose).append(line)
    return Page(path, tuple(prose), tuple(code))


def slug(heading: str) -> str:
    """The anchor a heading gets on the usual Markdown hosts (GitHub's rule)."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a page, repeated headings numbered as the hosts do."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for line in read_page(path).prose:
        match = _HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def _without_code_spans(line: str) -> str:
    return re.sub(r"`[^`]*`", "", line)


def links(page: Page) -> list[str]:
    """The targets of the page's Markdown links outside code."""
    return [m.group(1) for line in page.prose for m in _LINK.finditer(_without_code_spans(line))]


def dead_link(page: Path, target: str) -> str | None:
    """Why a link target does not resolve, or None when it does (web links are not fetched)."""
    if _SCHEME.match(target):
        return None
    file_part, _, fragment = target.partition("#")
    resolved = (page.parent / file_part).resolve() if file_part else page
    if not resolved.exists():
        return f"{target}: no file {_shown(resolved)}"
    if fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
        return f"{target}: no heading #{fragment} in {_shown(resolved)}"
    return None


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


@cache
def top_folders() -> frozenset[str]:
    """The repository's own top-level folders (hidden ones only when tracked, like .ci)."""
    names = {p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")}
    names.discard("__pycache__")
    return frozenset(names | {".ci"})


def named_paths(page: Page) -> list[str]:
    """Repository paths the page names, in prose, code spans or code blocks."""
    folders = "|".join(re.escape(name) for name in sorted(top_folders()))
    pattern = re.compile(rf"(?<![\w./<>-])((?:{folders})/[\w./*-]*)")
    return [m.group(1).rstrip(".") for m in pattern.finditer(page.text)]


def missing_path(name: str) -> str | None:
    """Why a named path does not exist, or None when it does.

    A glob must match something. A path inside a layer that ``tests/test_architecture.py``
    already names but whose folder is not there yet (a subsystem being built) passes.
    """
    if "*" in name:
        return None if any(ROOT.glob(name)) else f"{name}: matches nothing"
    if (ROOT / name).exists():
        return None
    parts = Path(name).parts
    planned = len(parts) >= 2 and parts[0] == "workers" and parts[1] in LAYERS
    if planned and not (ROOT / "workers" / parts[1]).exists():
        return None
    return f"{name}: no such file or folder"


def _ids(paths: list[Path]) -> list[str]:
    return [_shown(p) for p in paths]


@pytest.mark.parametrize("path", PAGES, ids=_ids(PAGES))
def test_every_relative_link_resolves(path: Path) -> None:
    """Each relative link of the page points at an existing file, and at a real heading."""
    dead = [why for target in links(read_page(path)) if (why := dead_link(path, target))]
    assert not dead, dead


@pytest.mark.parametrize("path", PAGES, ids=_ids(PAGES))
def test_every_named_path_exists(path: Path) -> None:
    """Each repository path the page names (``workers/...``, ``tests/...``) exists."""
    missing = [why for name in named_paths(read_page(path)) if (why := missing_path(name))]
    assert not missing, missing


def test_pages_named_in_code_exist() -> None:
    """Docstrings and comments that send the reader to ``docs/...`` name a real page."""
    pointer = re.compile(r"(?<![\w/])docs/[\w.-]+\.(?:md|json)")
    missing = sorted(
        f"{source.relative_to(ROOT)}: {name}"
        for folder in ("workers", "tests", "benchmarks")
        for source in (ROOT / folder).rglob("*.py")
        for name in set(pointer.findall(source.read_text(encoding="utf-8")))
        if not (ROOT / name).exists()
    )
    assert not missing, missing


def test_the_checks_catch_what_they_are_for(tmp_path: Path) -> None:
    """A dead link, a missing heading and a stale module path are all reported."""
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n[a](nowhere.md) [b](#title) [c](#gone)\n`workers/tools/lists.py`\n")
    parsed = read_page(page)
    assert [t for t in links(parsed) if dead_link(page, t)] == ["nowhere.md", "#gone"]
    assert [n for n in named_paths(parsed) if missing_path(n)] == ["workers/tools/lists.py"]
    assert missing_path("workers/domain/ladder.py") is None
    assert slug("The `suppressions` topic (wire format)") == "the-suppressions-topic-wire-format"
