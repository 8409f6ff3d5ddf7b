"""Load ``schemas/`` into validators and read the examples' stated failure reasons.

Shared by the schema, event and record tests. ``format: date-time`` is enforced with a
checker of our own (jsonschema needs an optional package for it), so an impossible
date such as 30 February fails the schema as it fails the parser.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from referencing import Registry, Resource

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
EXAMPLES = SCHEMAS / "examples"
ROOT_PATH = "$"


@cache
def registry() -> Registry[Any]:
    """Every schema file under its ``$id``, so relative ``$ref``s resolve offline."""
    resources = []
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((contents["$id"], Resource.from_contents(contents)))
    return Registry().with_resources(resources)


def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        datetime.fromisoformat(value.upper())
    except ValueError:
        return False
    return True


FORMATS = FormatChecker(formats=())
FORMATS.checks("date-time")(_date_time)


@cache
def validator(name: str) -> Draft202012Validator:
    """The validator of ``schemas/<name>.schema.json`` with formats enforced."""
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, registry=registry(), format_checker=FORMATS)


def schema_names() -> list[str]:
    return sorted(p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json"))


@dataclass(frozen=True, slots=True)
class Reason:
    """One stated failure: the instance path (``$`` for the root), the validator, a detail."""

    path: str
    validator: str
    detail: str | None = None

    @property
    def field(self) -> str | None:
        """The dotted field a parser should blame (``required`` blames the missing field)."""
        parts = [] if self.path == ROOT_PATH else [self.path]
        if self.validator == "required" and self.detail:
            parts.append(self.detail)
        return ".".join(parts) or None


@dataclass(frozen=True, slots=True)
class Example:
    schema: str
    valid: bool
    path: Path
    reasons: tuple[Reason, ...]

    @property
    def id(self) -> str:
        return f"{self.schema}/{'valid' if self.valid else 'invalid'}/{self.path.stem}"

    def raw(self) -> bytes:
        return self.path.read_bytes()

    def load(self) -> Any:
        return json.loads(self.raw())


def read_reasons(path: Path) -> tuple[Reason, ...]:
    """A ``.reason`` sidecar: ``#`` lines explain, others are ``path validator [detail]``."""
    reasons = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(maxsplit=2)
        reasons.append(Reason(parts[0], parts[1], parts[2] if len(parts) > 2 else None))
    return tuple(reasons)


def examples(schema: str | None = None) -> Iterator[Example]:
    """Every example file, valid and invalid, of one schema or of all."""
    for name in [schema] if schema else schema_names():
        for kind in ("valid", "invalid"):
            for path in sorted((EXAMPLES / name / kind).glob("*.json")):
                reasons = () if kind == "valid" else read_reasons(path.with_suffix(".reason"))
                yield Example(name, kind == "valid", path, reasons)


def error_path(error: ValidationError) -> str:
    """An error's instance path, dotted, with ``[i]`` for array items and ``$`` for the root."""
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or ROOT_PATH


def leaf_errors(name: str, instance: Any) -> list[ValidationError]:
    """Every error of ``instance`` against the schema ``name``, sorted for stable output."""
    return sorted(validator(name).iter_errors(instance), key=lambda e: (error_path(e), e.validator))


def matches(reason: Reason, error: ValidationError) -> bool:
    """Whether an error is the stated reason (same path and validator, detail in its message)."""
    return (
        error_path(error) == reason.path
        and error.validator == reason.validator
        and (reason.detail is None or repr(reason.detail) in error.message)
    )
