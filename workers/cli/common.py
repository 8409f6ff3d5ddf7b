"""What every command's front end shares: reading the settings, and failing with a message."""

from __future__ import annotations

import typer

from workers.settings import Settings, SettingsError

__all__ = ["fail", "load_settings"]


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr; raise the returned exit to stop with ``code``."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def load_settings() -> Settings:
    """The settings from the environment, or exit 2 naming the variable that is wrong."""
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise fail(str(exc), 2) from exc
