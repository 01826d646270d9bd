"""What the commands share: exit codes, usage errors, option parsing."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from ..fontfile import check_font
from ..model import CARD_FIELDS, CardInput

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "UsageError", "card_input", "fonts", "parse_options"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """A command line that cannot be run as given (exit code 2)."""


def parse_options(items: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` items as a mapping.

    Raises:
        UsageError: an item without ``=`` or without a key.
    """
    options = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--option expects KEY=VALUE, got {item!r}")
        options[name.strip()] = value
    return options


def card_input(args: argparse.Namespace) -> CardInput:
    """The card the options of ``card`` and ``key`` describe (one option per field of the model)."""
    values: dict[str, object] = {}
    for field in CARD_FIELDS:
        value = getattr(args, field.name)
        if field.kind == "list":
            value = tuple(value)
        elif field.kind == "options":
            value = CardInput.options_from(parse_options(value))
        elif field.kind == "path":
            value = value.resolve() if value else None
        values[field.name] = value
    return CardInput(**values)  # type: ignore[arg-type]


def fonts(args: argparse.Namespace) -> tuple[Path, ...]:
    """The ``--font`` files, each checked to be a readable font.

    Raises:
        FontError: a missing file, or one that is not a font.
    """
    return tuple(check_font(Path(font), "--font") for font in args.font)
