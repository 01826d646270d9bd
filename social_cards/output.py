"""Output formats and deterministic encoding of a drawn card."""

from __future__ import annotations

import functools
import io
import struct
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .errors import SocialCardsError

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["FORMATS", "OutputFormat", "encode", "write_png"]

FORMATS = ("png", "jpeg", "webp")

PNG_COLORS = 128
"""Palette size of PNG cards (see docs/performance.md for the encoder measurements)."""

PNG_COMPRESS_LEVEL = 3
"""zlib-ng level of PNG cards (see docs/performance.md for the encoder measurements)."""
JPEG_QUALITY = 88
WEBP_QUALITY = 85

# The palette is chosen from a reduced copy: quantizing the full card costs more than
# drawing it, and a box-filtered copy keeps every colour that covers real area,
# including the blended edges of text.
_PALETTE_SAMPLE_FACTOR = 8

_MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
_SUFFIXES = {"png": ".png", "jpeg": ".jpg", "webp": ".webp"}


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """The file format of a card and the encoder settings; both are part of the key."""

    format: Literal["png", "jpeg", "webp"] = "png"
    colors: int = PNG_COLORS
    quality: int = 0

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise SocialCardsError(f"unknown output format {self.format!r}: expected one of {', '.join(FORMATS)}")

    @classmethod
    def named(cls, name: str) -> OutputFormat:
        """The default settings for a format name (``jpg`` is accepted for ``jpeg``)."""
        name = name.lower()
        name = "jpeg" if name == "jpg" else name
        if name == "png":
            return cls("png", PNG_COLORS, 0)
        if name == "jpeg":
            return cls("jpeg", 0, JPEG_QUALITY)
        if name == "webp":
            return cls("webp", 0, WEBP_QUALITY)
        raise SocialCardsError(f"unknown output format {name!r}: expected one of {', '.join(FORMATS)}")

    @property
    def media_type(self) -> str:
        """The MIME type, for ``og:image:type``."""
        return _MEDIA_TYPES[self.format]

    @property
    def suffix(self) -> str:
        """The file name ending, with its dot."""
        return _SUFFIXES[self.format]

    def canonical(self) -> dict[str, object]:
        return {
            "format": self.format,
            "colors": self.colors,
            "quality": self.quality,
            "png_level": PNG_COMPRESS_LEVEL,
            "png_deflate": _deflate_version(),
        }


@functools.lru_cache(maxsize=1)
def _deflate_version() -> str:
    # Another release of the compressor may pack the same pixels into other bytes.
    from zlib_ng import zlib_ng

    return f"zlib-ng {zlib_ng.ZLIBNG_VERSION}"


def encode(image: Image.Image, output: OutputFormat) -> bytes:
    """Encode an RGB card; the same pixels and settings always give the same bytes."""
    from PIL import Image  # loaded when first needed: warm builds never encode

    buf = io.BytesIO()
    if output.format == "png":
        if output.colors:
            sample = image.reduce(_PALETTE_SAMPLE_FACTOR)
            palette = sample.quantize(output.colors, method=Image.Quantize.FASTOCTREE)
            return write_png(image.quantize(palette=palette, dither=Image.Dither.NONE))
        image.save(buf, "PNG", compress_level=PNG_COMPRESS_LEVEL)
    elif output.format == "jpeg":
        image.save(buf, "JPEG", quality=output.quality, optimize=True, progressive=False, subsampling="4:2:0")
    else:
        image.save(buf, "WEBP", quality=output.quality, method=4)
    return buf.getvalue()


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def write_png(image: Image.Image) -> bytes:
    """A palette PNG: the same file Pillow writes, deflated by zlib-ng (2-3 times faster, and smaller)."""
    from PIL import Image
    from zlib_ng import zlib_ng

    width, height = image.size
    # Each row starts with its filter type; 0 (none) suits palette indices best.
    rows = Image.new("P", (width + 1, height), 0)
    rows.paste(image, (1, 0))
    palette = bytes(image.getpalette() or ())
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)  # 8-bit palette indices
    return b"".join(
        (
            _PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"PLTE", palette),
            _chunk(b"IDAT", zlib_ng.compress(rows.tobytes(), PNG_COMPRESS_LEVEL)),
            _chunk(b"IEND", b""),
        )
    )
