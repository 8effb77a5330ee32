"""The ``leadkit`` command (typer). ``leadkit --help`` lists the commands."""

from __future__ import annotations

from leadkit.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``leadkit`` console script."""
    app()
