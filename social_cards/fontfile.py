"""Reading a font file's own tables: which characters a face maps, and which tables it has.

Only the table directory and the ``cmap`` are read, with the standard library, so
a fallback chain can ask a face about a character without loading it in FreeType.
"""

from __future__ import annotations

import functools
import struct
from pathlib import Path

from .errors import FontError, SocialCardsError
from .files import check_regular

__all__ = ["check_font", "coverage", "tables"]


def _face_offset(data: bytes, index: int, path: Path) -> int:
    tag = data[:4]
    if tag == b"ttcf":
        count = struct.unpack(">I", data[8:12])[0]
        if not 0 <= index < count:
            raise FontError(f"{path}: face index {index} is out of range (the collection has {count} faces)")
        return int(struct.unpack(">I", data[12 + 4 * index : 16 + 4 * index])[0])
    if tag in (b"\x00\x01\x00\x00", b"OTTO", b"true"):
        return 0
    raise FontError(f"{path}: not an OpenType or TrueType font (expected a .ttf, .otf or .ttc file)")


def _table_directory(path: Path, index: int) -> dict[bytes, tuple[int, int]]:
    try:
        with open(path, "rb") as fh:
            head = fh.read(12 + 4 * max(index + 1, 1))
            offset = _face_offset(head, index, path)
            fh.seek(offset)
            header = fh.read(12)
            (num_tables,) = struct.unpack(">H", header[4:6])
            records = fh.read(16 * num_tables)
    except (OSError, struct.error) as exc:
        raise FontError(f"{path}: cannot read the font ({exc})") from exc
    tables = {}
    for i in range(num_tables):
        tag, _checksum, t_offset, t_length = struct.unpack(">4sIII", records[16 * i : 16 * i + 16])
        tables[tag] = (t_offset, t_length)
    return tables


@functools.lru_cache(maxsize=1024)
def tables(path: Path, index: int) -> frozenset[bytes]:
    return frozenset(_table_directory(path, index))


@functools.lru_cache(maxsize=1024)
def coverage(path: Path, index: int) -> tuple[list[int], list[int]]:
    """Sorted, merged code point ranges the face's cmap maps to a real glyph."""
    tables = _table_directory(path, index)
    if b"cmap" not in tables:
        raise FontError(f"{path}: the font has no cmap table, so it cannot map characters")
    offset, length = tables[b"cmap"]
    with open(path, "rb") as fh:
        fh.seek(offset)
        cmap = fh.read(length)
    try:
        ranges = _parse_cmap(cmap)
    except struct.error as exc:
        raise FontError(f"{path}: damaged cmap table ({exc})") from exc
    ranges.sort()
    starts: list[int] = []
    ends: list[int] = []
    for start, end in ranges:
        if ends and start <= ends[-1] + 1:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def _parse_cmap(cmap: bytes) -> list[tuple[int, int]]:
    (num,) = struct.unpack(">H", cmap[2:4])
    subtables: dict[tuple[int, int], int] = {}
    for i in range(num):
        platform, encoding, sub_offset = struct.unpack(">HHI", cmap[4 + 8 * i : 12 + 8 * i])
        subtables[(platform, encoding)] = sub_offset
    # Full-repertoire subtables first, then the BMP ones.
    for wanted in ((3, 10), (0, 6), (0, 4), (3, 1), (0, 3), (0, 2), (0, 1), (0, 0), (3, 0)):
        if wanted in subtables:
            sub = cmap[subtables[wanted] :]
            (fmt,) = struct.unpack(">H", sub[:2])
            if fmt == 12:
                return _parse_format12(sub)
            if fmt == 4:
                return _parse_format4(sub)
    return []


def _parse_format12(sub: bytes) -> list[tuple[int, int]]:
    (groups,) = struct.unpack(">I", sub[12:16])
    out = []
    for i in range(groups):
        start, end, glyph = struct.unpack(">III", sub[16 + 12 * i : 28 + 12 * i])
        if glyph == 0:
            start += 1  # the first code point of the group maps to .notdef
        if start <= end:
            out.append((start, end))
    return out


def _parse_format4(sub: bytes) -> list[tuple[int, int]]:
    (seg_x2,) = struct.unpack(">H", sub[6:8])
    segs = seg_x2 // 2
    ends = struct.unpack(f">{segs}H", sub[14 : 14 + seg_x2])
    base = 16 + seg_x2
    starts = struct.unpack(f">{segs}H", sub[base : base + seg_x2])
    deltas = struct.unpack(f">{segs}h", sub[base + seg_x2 : base + 2 * seg_x2])
    range_base = base + 2 * seg_x2
    range_offsets = struct.unpack(f">{segs}H", sub[range_base : range_base + seg_x2])
    out: list[tuple[int, int]] = []
    for i in range(segs):
        start, end = starts[i], ends[i]
        if start == 0xFFFF:
            continue
        if range_offsets[i] == 0:
            # Glyph = (cp + delta) mod 65536; only the code point mapping to 0 is uncovered.
            hole = (-deltas[i]) % 65536
            if start <= hole <= end:
                if start < hole:
                    out.append((start, hole - 1))
                if hole < end:
                    out.append((hole + 1, end))
            else:
                out.append((start, end))
            continue
        for cp in range(start, end + 1):
            at = range_base + 2 * i + range_offsets[i] + 2 * (cp - start)
            (glyph,) = struct.unpack(">H", sub[at : at + 2])
            if glyph != 0:
                out.append((cp, cp))
    return out


def check_font(path: Path, what: str) -> Path:
    """``path`` once it proved to be a readable font file (a configured or ``--font`` fallback).

    Raises:
        FontError: missing, not a regular file, not a font, or damaged.
    """
    try:
        check_regular(path, what)
    except SocialCardsError as exc:
        raise FontError(str(exc)) from None
    coverage(path, 0)  # reads the table directory and the character map: a damaged font fails here
    return path
