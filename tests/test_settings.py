"""Settings: environment parsing, round trips, and the docs staying true to them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from workers.settings import FIELDS, Settings, SettingsError, format_duration, parse_duration

ROOT = Path(__file__).resolve().parents[1]
OPERATIONS = ROOT / "docs" / "operations.md"
SETTINGS_HEADER = "| variable | default | meaning |"


def test_defaults_work_without_any_environment() -> None:
    """With an empty environment every field has its documented default."""
    settings = Settings.from_env({})
    assert settings.bootstrap_servers == "127.0.0.1:9092"
    assert settings.ladder_steps == (timedelta(days=7), timedelta(days=14), timedelta(days=28))
    assert settings.quiet_period == timedelta(days=90)


def test_environment_values_are_parsed_per_field() -> None:
    """Each variable is parsed into its field's type."""
    settings = Settings.from_env(
        {
            "SUPPRESSOR_PARTITIONS": "8",
            "SUPPRESSOR_LADDER_STEPS": "5s,10s",
            "SUPPRESSOR_DATA_DIR": "/x",
        }
    )
    assert settings.partitions == 8
    assert settings.ladder_steps == (timedelta(seconds=5), timedelta(seconds=10))
    assert settings.data_dir == Path("/x")


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("SUPPRESSOR_PARTITIONS", "zero"),
        ("SUPPRESSOR_PARTITIONS", "0"),
        ("SUPPRESSOR_QUIET_PERIOD", "ninety days"),
        ("SUPPRESSOR_PROCESSING_GUARANTEE", "maybe"),
        ("SUPPRESSOR_LADDER_STEPS", ""),
    ],
)
def test_a_bad_value_names_its_variable(var: str, value: str) -> None:
    """A value that cannot be used is refused with the variable's name in the message."""
    with pytest.raises(SettingsError, match=var):
        Settings.from_env({var: value})


def test_to_env_round_trips() -> None:
    """to_env gives an environment that rebuilds exactly the same settings."""
    settings = Settings.from_env({}, topic_prefix="p.", quiet_period=timedelta(milliseconds=1500))
    assert Settings.from_env(settings.to_env()) == settings


@pytest.mark.parametrize("text", ["250ms", "30s", "15m", "12h", "7d"])
def test_durations_format_back_to_their_spelling(text: str) -> None:
    """format_duration is the inverse of parse_duration on canonical spellings."""
    assert format_duration(parse_duration(text)) == text


def _table_rows(markdown: str, header: str) -> list[str]:
    """The rows of the Markdown table that starts with ``header``, up to its first non-row."""
    lines = markdown.splitlines()
    assert header in lines, f"no table headed {header!r}"
    rows = []
    for line in lines[lines.index(header) + 2 :]:  # after the header and its |---| line
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def test_operations_configuration_table_is_fields_row_for_row() -> None:
    """docs/operations.md's settings table is FIELDS exactly: every row, in order, no other."""
    expected = [f"| `{var}` | `{default}` | {meaning} |" for var, default, meaning in FIELDS]
    found = _table_rows(OPERATIONS.read_text(), SETTINGS_HEADER)
    assert found == expected, "paste this table into docs/operations.md:\n" + "\n".join(
        [SETTINGS_HEADER, "|---|---|---|", *expected]
    )


def test_no_other_page_repeats_a_setting_row() -> None:
    """Settings are tabled in docs/operations.md only, so no second copy can go stale."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    copies = [
        f"{page.relative_to(ROOT)}: {var}"
        for page in pages
        if page != OPERATIONS
        for var, _default, _meaning in FIELDS
        if f"| `{var}` |" in page.read_text()
    ]
    assert not copies, f"setting rows outside docs/operations.md (link to it instead): {copies}"


def test_readme_test_command_is_what_ci_runs() -> None:
    """CI runs the README's test command, word for word."""
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./dev test     # the whole test suite" in readme
    assert ci.rstrip().splitlines()[-2].strip() == "./dev test"
