"""What the commands share: exit codes, usage errors, option parsing."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from ..errors import SocialCardsError
from ..fontfile import check_font
from ..model import CARD_FIELDS, CardInput
from ..shared import open_shared
from ..store import Store

__all__ = [
    "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "UsageError", "add_remote_options", "card_input", "fonts", "open_store",
    "parse_options", "parse_shard",
]  # fmt: skip

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


def add_remote_options(parser: argparse.ArgumentParser) -> None:
    """The shared tier's options, on every command that draws."""
    parser.add_argument(
        "--remote-cache", metavar="URL",
        help="a shared cache behind the local one: s3://bucket/prefix or https://host/path "
        "(default: $SOCIAL_CARDS_REMOTE_CACHE; credentials from the environment)",
    )  # fmt: skip
    parser.add_argument(
        "--remote-cache-mode", choices=("read-write", "read"),
        help="read: never upload (for untrusted builds such as pull requests from forks)",
    )  # fmt: skip


def open_store(cache_dir: Path, args: argparse.Namespace) -> Store:
    """The local cache, with the shared tier that the options or the environment name behind it.

    Raises:
        UsageError: a remote cache URL or mode that cannot be used.
    """
    try:
        shared = open_shared(getattr(args, "remote_cache", None), getattr(args, "remote_cache_mode", None))
    except SocialCardsError as exc:
        raise UsageError(str(exc)) from None
    store = Store(cache_dir)
    store.shared = shared
    return store


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """``K/N`` as ``(k, n)``, 1 <= k <= n.

    Raises:
        UsageError: anything else.
    """
    if value is None:
        return None
    k, sep, n = value.partition("/")
    if not (sep and k.strip().isdigit() and n.strip().isdigit() and 1 <= int(k) <= int(n)):
        raise UsageError(f"--shard expects K/N with 1 <= K <= N (2/4: the second of four slices), got {value!r}")
    return int(k), int(n)
