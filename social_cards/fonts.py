"""Fonts: bundled faces, system discovery, character coverage and the fallback chain.

A text layer names one font file; characters it cannot draw fall through a chain:
the bundled faces (Inter, Noto Sans Arabic and Hebrew), fonts the user configured,
then fonts installed on the system (found with fontconfig, or in the usual font
folders when fontconfig is absent), emoji and CJK families first. Coverage comes
from each face's ``cmap`` table, read lazily, so a font is only opened when an
earlier one lacks a character.
"""

from __future__ import annotations

import bisect
import functools
import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from .digest import file_digest
from .errors import AssetError, FontError
from .files import locate
from .fontfile import coverage, tables

if TYPE_CHECKING:
    from PIL import ImageFont

__all__ = [
    "BUNDLED_FONTS_DIR",
    "FontChain",
    "FontFace",
    "bundled_face",
    "fontconfig_listing",
    "load_font",
    "prefetch_system_fonts",
    "system_faces",
    "system_fonts_wanted",
]

logger = logging.getLogger(__name__)

BUNDLED_FONTS_DIR = Path(__file__).parent / "fonts"
"""Folder of the fonts shipped in the package (see ``OFL.txt`` there)."""

BUNDLED_PREFIX = "bundled:"
"""A font path starting with this names a file in :data:`BUNDLED_FONTS_DIR`."""

_BUNDLED_CHAIN = {
    "regular": ("Inter-Regular.otf", "NotoSansArabic-Regular.ttf", "NotoSansHebrew-Regular.ttf"),
    "bold": ("Inter-Bold.otf", "NotoSansArabic-Bold.ttf", "NotoSansHebrew-Bold.ttf"),
}

# Emoji and CJK faces lead the system part of the chain: they cover the most of what
# chat titles hold. Names are matched as prefixes of the family name (or file name).
_SYSTEM_PRIORITY = (
    "Noto Color Emoji", "Apple Color Emoji", "Segoe UI Emoji", "Twemoji", "JoyPixels", "Noto Emoji",
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Noto Sans CJK JP", "Noto Sans CJK KR",
    "Noto Sans CJK TC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Zen Hei", "Droid Sans Fallback",
    "Noto Sans", "DejaVu Sans",
)  # fmt: skip

_FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc")
_FONT_DIRS = (
    "/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts", "/System/Library/Fonts",
    "/Library/Fonts", "~/Library/Fonts", "C:/Windows/Fonts",
)  # fmt: skip

# Colour bitmap fonts (CBDT/sbix) only load at the sizes of their strikes.
_BITMAP_STRIKES_PX = (109, 136, 160, 128, 96, 64, 48, 32)


@dataclass(frozen=True, slots=True)
class FontFace:
    """One face in a font file (``index`` selects a face inside a collection)."""

    path: Path
    index: int = 0

    @property
    def digest(self) -> str:
        """Digest of the file's bytes plus the face index; what a key records."""
        digest = file_digest(self.path)
        return digest if self.index == 0 else f"{digest}#{self.index}"

    def covers(self, codepoint: int) -> bool:
        """Whether the face maps ``codepoint`` to a glyph."""
        starts, ends = coverage(self.path, self.index)
        i = bisect.bisect_right(starts, codepoint) - 1
        return i >= 0 and codepoint <= ends[i]

    @property
    def is_color(self) -> bool:
        """Whether the face carries colour glyphs (CBDT, sbix or COLR tables)."""
        return bool(tables(self.path, self.index) & {b"CBDT", b"sbix", b"COLR"})


def bundled_face(name: str) -> FontFace:
    """A bundled font by file name, e.g. ``bundled_face("Inter-Bold.otf")``."""
    return FontFace(BUNDLED_FONTS_DIR / name)


def template_font(value: str, root: Path, where: str) -> Path:
    """The font file a text layer names: ``bundled:NAME``, or a file inside the template folder.

    Raises:
        FontError: no such file, a file outside the template folder, or not a regular file.
    """
    try:
        if value.startswith(BUNDLED_PREFIX):
            return locate(BUNDLED_FONTS_DIR, value[len(BUNDLED_PREFIX) :], where, "the bundled fonts")
        return locate(root, value, where, "the template folder")
    except AssetError as exc:
        bundled = ", ".join(sorted(p.name for p in BUNDLED_FONTS_DIR.iterdir() if p.suffix in _FONT_SUFFIXES))
        raise FontError(
            f"{exc} (a template's fonts are .ttf/.otf/.ttc files in its folder, or bundled:NAME with NAME one "
            f"of {bundled})"
        ) from None


# --- loading faces with Pillow -------------------------------------------------------

_load_lock = threading.Lock()


@functools.lru_cache(maxsize=256)
def _strike(path: Path, index: int) -> int | None:
    """The pixel size a bitmap-only face loads at, or ``None`` for a scalable face."""
    from PIL import ImageFont  # loaded when first drawing: resolving and warm builds never need it

    try:
        ImageFont.truetype(str(path), 100, index=index, layout_engine=ImageFont.Layout.RAQM)
        return None
    except OSError:
        pass
    for size in _BITMAP_STRIKES_PX:
        try:
            ImageFont.truetype(str(path), size, index=index, layout_engine=ImageFont.Layout.RAQM)
            return size
        except OSError:
            continue
    raise FontError(f"{path}: FreeType cannot load this font at any size")


@functools.lru_cache(maxsize=512)
def _load(path: Path, index: int, size: int, basic: bool) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    engine = ImageFont.Layout.BASIC if basic else ImageFont.Layout.RAQM
    return ImageFont.truetype(str(path), size, index=index, layout_engine=engine)


def load_font(face: FontFace, size: int, *, basic: bool = False) -> tuple[ImageFont.FreeTypeFont, float]:
    """A Pillow font for ``face`` at ``size`` pixels, and the scale to apply to what it draws.

    Scalable faces load at ``size`` with scale 1. Bitmap faces (colour emoji) load at
    their strike size and report the factor that brings their glyphs to ``size``.
    ``basic`` gives FreeType's own layout (no shaping, no GPOS kerning): several times
    cheaper per call, good enough to estimate widths of text that needs no shaping.
    """
    with _load_lock:
        try:
            strike = _strike(face.path, face.index)
            if strike is None:
                return _load(face.path, face.index, size, basic), 1.0
            return _load(face.path, face.index, strike, basic), size / strike
        except OSError as exc:
            raise FontError(f"{face.path}: cannot load the font ({exc})") from exc


# --- system fonts ---------------------------------------------------------------------


class _SystemFont(NamedTuple):
    face: FontFace
    family: str
    bold: bool


_FC_LIST_FORMAT = "%{file}\t%{index}\t%{family[0]}\t%{weight}\n"
_FC_LIST_TIMEOUT_S = 30
_prefetched: list[str | None] = []
_prefetch: threading.Thread | None = None


def prefetch_system_fonts() -> None:
    """Start listing the installed fonts now, so the answer is ready when first needed.

    fontconfig takes a moment to answer; a build asks while MkDocs reads its pages.
    """
    global _prefetch
    if _prefetch is None and not fontconfig_listing.cache_info().currsize:
        _prefetch = threading.Thread(target=lambda: _prefetched.append(_run_fc_list()), daemon=True)
        _prefetch.start()


def _run_fc_list() -> str | None:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        return subprocess.run(
            [fc_list, "--format", _FC_LIST_FORMAT],
            capture_output=True, timeout=_FC_LIST_TIMEOUT_S, check=True, text=True, errors="replace",
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None


@functools.lru_cache(maxsize=1)
def fontconfig_listing() -> str | None:
    """fontconfig's list of installed fonts (a line per face: file, index, family, weight), once per process.

    None without fontconfig. :func:`system_faces` chooses from it; a digest of it (with
    each file's size and time) stands for the installed fonts in a card's fingerprint.
    """
    global _prefetch
    if _prefetch is not None:
        _prefetch.join()
        _prefetch = None
    return _prefetched.pop() if _prefetched else _run_fc_list()


@functools.lru_cache(maxsize=1)
def _fontconfig_fonts() -> list[_SystemFont] | None:
    out = fontconfig_listing()
    if out is None:
        return None
    fonts = []
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) != 4 or not parts[0].lower().endswith(_FONT_SUFFIXES):
            continue
        try:
            index = int(parts[1] or 0)
            weight = float(parts[3] or 80)
        except ValueError:
            continue
        fonts.append(_SystemFont(FontFace(Path(parts[0]), index), parts[2], weight >= 180))
    return fonts


def _scanned_fonts() -> list[_SystemFont]:
    fonts = []
    for folder in _FONT_DIRS:
        root = Path(folder).expanduser()
        if not root.is_dir():
            continue
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                if name.lower().endswith(_FONT_SUFFIXES):
                    stem = Path(name).stem
                    family = stem.split("-")[0]
                    fonts.append(_SystemFont(FontFace(Path(dirpath) / name), family, "bold" in stem.lower()))
    return fonts


_FIRST_CJK = next(i for i, name in enumerate(_SYSTEM_PRIORITY) if "CJK" in name)


def _priority(family: str, region: str = "") -> tuple[float, str]:
    normalized = family.replace("-", " ").lower()
    if region and normalized in (f"noto sans cjk {region.lower()}", f"source han sans {region.lower()}"):
        return _FIRST_CJK - 0.5, family
    for rank, name in enumerate(_SYSTEM_PRIORITY):
        if normalized.startswith(name.lower()):
            return rank, family
    return len(_SYSTEM_PRIORITY), family


def system_fonts_wanted(requested: bool) -> bool:
    """Whether installed fonts join the chain: asked for, and not turned off by SOCIAL_CARDS_SYSTEM_FONTS=0."""
    return requested and os.environ.get("SOCIAL_CARDS_SYSTEM_FONTS", "1") != "0"


@functools.lru_cache(maxsize=16)
def system_faces(bold: bool, region: str = "") -> tuple[FontFace, ...]:
    """Installed font faces in fallback order, one per family, of the wanted weight.

    Found once per process with fontconfig (``fc-list``), or by scanning the usual
    font folders when fontconfig is missing. Emoji and CJK families come first (the
    CJK variant of ``region`` first among them), the rest by family name, so the
    order is the same on every run.
    """
    fonts = _fontconfig_fonts()
    if fonts is None:
        fonts = _scanned_fonts()
    chosen: dict[str, _SystemFont] = {}
    for font in sorted(fonts, key=lambda f: (f.family, str(f.face.path), f.face.index)):
        if font.face.path.parent == BUNDLED_FONTS_DIR:
            continue
        current = chosen.get(font.family)
        if current is None or (current.bold != bold and font.bold == bold):
            chosen[font.family] = font
    ordered = sorted(chosen.values(), key=lambda f: _priority(f.family, region))
    logger.debug("%d system font families found for fallback", len(ordered))
    return tuple(f.face for f in ordered)


# --- the chain --------------------------------------------------------------------------


class FontChain:
    """An ordered list of faces; each character is drawn by the first face that has it.

    Args:
        faces: the faces in order (duplicates are dropped, the first kept).
    """

    __slots__ = ("_emoji", "_memo", "faces")

    def __init__(self, faces: Iterable[FontFace]) -> None:
        seen: dict[FontFace, None] = {}
        for face in faces:
            seen.setdefault(face, None)
        self.faces: tuple[FontFace, ...] = tuple(seen)
        self._emoji: tuple[int, ...] | None = None
        self._memo: dict[tuple[int, bool], int | None] = {}

    @classmethod
    def build(
        cls,
        primary: FontFace,
        *,
        bold: bool = False,
        extra: Sequence[FontFace] = (),
        system: bool = True,
        region: str = "",
    ) -> FontChain:
        """The standard chain: ``primary``, bundled faces, ``extra``, then system faces.

        ``region`` (from :func:`social_cards.language.cjk_region`) puts that CJK variant first among the system faces.
        """
        bundled = [bundled_face(name) for name in _BUNDLED_CHAIN["bold" if bold else "regular"]]
        faces = [primary, *bundled, *extra]
        if system_fonts_wanted(system):
            faces.extend(system_faces(bold, region))
        return cls(faces)

    def _emoji_faces(self) -> tuple[int, ...]:
        if self._emoji is None:
            found = []
            for i, face in enumerate(self.faces):
                try:
                    if face.is_color:
                        found.append(i)
                except FontError:
                    continue
            self._emoji = tuple(found)
        return self._emoji

    def face_for(self, cluster: str) -> int | None:
        """Index of the face that draws ``cluster``, or ``None`` if no face has it.

        Clusters with emoji presentation (a VS16, a skin tone, a joiner sequence, a
        flag, or a pictograph past U+1F000) prefer a colour face that has them.
        """
        base = ord(cluster[0])
        emoji = _wants_emoji(cluster)
        memo_key = (base, emoji)
        if memo_key in self._memo:
            return self._memo[memo_key]
        found: int | None = None
        order: Iterable[int] = range(len(self.faces))
        if emoji:
            order = [*self._emoji_faces(), *order]
        for i in order:
            try:
                if self.faces[i].covers(base):
                    found = i
                    break
            except (FontError, OSError) as exc:
                if i == 0:
                    raise FontError(f"{self.faces[0].path}: {exc}") from exc
                logger.debug("skipping unreadable fallback font %s: %s", self.faces[i].path, exc)
        self._memo[memo_key] = found
        return found


def _wants_emoji(cluster: str) -> bool:
    if len(cluster) > 1:
        for ch in cluster[1:]:
            cp = ord(ch)
            if cp == 0xFE0F or 0x1F3FB <= cp <= 0x1F3FF or ch == "\u200d" or 0x1F1E6 <= cp <= 0x1F1FF:
                return True
    cp = ord(cluster[0])
    return 0x1F000 <= cp <= 0x1FAFF
