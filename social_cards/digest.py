"""Content digests of files, memoized by (file, size, mtime) so each file is read once per process.

Also the renderer version, which every key and every template digest includes.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import xxhash
from icu4py import icu_version

__all__ = ["LINE_BREAKING", "RENDERER_VERSION", "bytes_digest", "file_digest"]

RENDERER_VERSION = 3
"""Bump whenever the same spec would draw a different picture; every key changes with it."""

LINE_BREAKING = f"icu-{icu_version}"
"""Where lines may break comes from ICU: another version of its rules or dictionaries may wrap a title
differently, so every key names it."""

_CHUNK_BYTES = 1 << 20

_memo: dict[tuple[int, int, int, int], str] = {}
_lock = threading.Lock()


def bytes_digest(data: bytes) -> str:
    """The 32-hex-digit xxh3_128 digest of ``data``."""
    return xxhash.xxh3_128_hexdigest(data)


def file_digest(path: Path) -> str:
    """The xxh3_128 digest of a file's bytes.

    The result is memoized by the identity of the file the path leads to (device and
    inode, after symbolic links), its size and its modification time in nanoseconds:
    keying thousands of cards reads each font or asset once and costs one ``stat``
    per file per card, while a file rewritten or replaced is read again.

    Raises:
        OSError: the file cannot be read.
    """
    st = os.stat(path)  # noqa: PTH116 (a str or a Path; one system call on a hot path)
    memo_key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    cached = _memo.get(memo_key)
    if cached is not None:
        return cached
    hasher = xxhash.xxh3_128()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK_BYTES):
            hasher.update(chunk)
    digest = hasher.hexdigest()
    with _lock:
        _memo[memo_key] = digest
    return digest
