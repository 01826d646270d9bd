"""Fingerprints: a digest of every input a resolve reads, so a warm run need not resolve.

A fingerprint covers the card's fields (:data:`~social_cards.model.CARD_FIELDS`,
with the logo by the digest of its bytes), the template folder (which holds every
file a layer may name but the logo and the bundled fonts), the fonts the settings
name, the installed fonts when they take part, the output settings, and this
package's own code. Equal fingerprints resolve to equal specs,
so the store can remember the key a fingerprint led to.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..digest import LINE_BREAKING, RENDERER_VERSION, bytes_digest, file_digest
from ..fonts import BUNDLED_FONTS_DIR, fontconfig_listing, system_faces, system_fonts_wanted
from ..model import CARD_FIELDS, CardInput, RenderSettings

if TYPE_CHECKING:
    from .layout import Template

__all__ = ["fingerprint"]

_PACKAGE = Path(__file__).resolve().parent.parent


def fingerprint(template: Template, card: CardInput, settings: RenderSettings) -> str | None:
    """The fingerprint of resolving ``card`` with ``template`` and ``settings``, or None.

    None when a layer chooses its font with a variable, or a font or the logo cannot be
    read (the resolve then reports why).
    """
    base = _base(template, settings)
    if base is None:
        return None
    values: list[object] = [base]
    for spec in CARD_FIELDS:
        value = getattr(card, spec.name)
        if spec.kind == "path" and value is not None:
            try:
                value = file_digest(value)
            except OSError:
                return None
        values.append(value)
    text = json.dumps(values, ensure_ascii=False, separators=(",", ":"), default=str)
    return bytes_digest(text.encode("utf-8", "surrogatepass"))


def _base(template: Template, settings: RenderSettings) -> str | None:
    """The part of a fingerprint every card of ``template`` with ``settings`` shares."""
    if template.variable_font:
        return None
    memo_key = ("fingerprint", settings)
    base: str | None = template.memo.get(memo_key)
    if base is None:
        try:
            fonts = [file_digest(p) for p in settings.fonts]
        except OSError:
            return None
        system = system_fonts_wanted(settings.system_fonts)
        output = settings.output
        parts = [
            _code_digest(),
            template.digest,
            fonts,
            settings.strict,
            _system_fonts_digest() if system else "",
            [output.format, output.colors, output.quality],
        ]
        base = template.memo[memo_key] = json.dumps(parts, separators=(",", ":"))
    return base


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    """This package's code and bundled fonts: a change to either may change what a resolve gives."""
    files = sorted(_PACKAGE.rglob("*.py")) + sorted(p for p in BUNDLED_FONTS_DIR.iterdir() if p.is_file())
    parts = [
        str(RENDERER_VERSION),
        LINE_BREAKING,
        *(f"{p.relative_to(_PACKAGE).as_posix()}\0{file_digest(p)}" for p in files),
    ]
    return bytes_digest("\n".join(parts).encode("utf-8"))


@functools.lru_cache(maxsize=1)
def _system_fonts_digest() -> str:
    """The installed fallback fonts: every face fontconfig lists, with its file's size and modification time.

    Which of them a card can use follows from that listing and this package's code, so
    a digest of the listing is enough. Without fontconfig, the faces found by scanning
    the font folders. Once per process.
    """
    listing = fontconfig_listing()
    parts = []
    if listing is not None:
        for line in sorted(set(listing.splitlines())):
            try:
                st = os.stat(line.split("\t", 1)[0])  # noqa: PTH116
            except OSError:
                continue
            parts.append(f"{line}\0{st.st_size}\0{st.st_mtime_ns}")
        return bytes_digest("\n".join(parts).encode("utf-8", "replace"))
    for bold in (False, True):
        for face in system_faces(bold):
            try:
                st = face.path.stat()
            except OSError:
                continue
            parts.append(f"{bold}\0{face.path}\0{face.index}\0{st.st_size}\0{st.st_mtime_ns}")
    return bytes_digest("\n".join(parts).encode("utf-8", "replace"))
