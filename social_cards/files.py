"""Files that templates, pages, JSON Lines lines and configuration name.

Each is found inside the folder it must be in (after links are followed), must be a
regular file, and is read with a size cap: no input can make a run read a device or
a FIFO, follow a link out of its folder, or read without end. An error names the
file and what is wrong with it, never what the file holds.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import AssetError

__all__ = ["MAX_FILE_BYTES", "check_regular", "locate", "picture_size", "read_capped"]

MAX_FILE_BYTES = 32 * 2**20
"""Largest file an input may name (an image, an SVG, a font, a layout), in bytes."""


def locate(root: Path, name: str | Path, what: str, folder: str = "its folder") -> Path:
    """The regular file ``name`` names, relative to ``root`` (an absolute name must lie inside it too).

    ``folder`` says what ``root`` is, for the message ("the template folder").

    Raises:
        AssetError: a NUL in the name, no such file, a file outside ``root`` once links
            are followed, or something other than a regular file.
    """
    if "\0" in str(name):
        raise AssetError(f"{what}: a file name cannot hold a NUL character")
    raw = Path(name)
    path = raw if raw.is_absolute() else root / raw
    try:
        resolved = path.resolve(strict=True)
    except ValueError:  # a lone surrogate: no file system holds such a name
        raise AssetError(f"{what}: {str(name)!r} cannot be a file name") from None
    except (OSError, RuntimeError):
        raise AssetError(f"{what}: file not found: {path}") from None
    if not resolved.is_relative_to(root.resolve()):
        raise AssetError(f"{what}: {str(name)!r} is outside {folder} {root}; only files inside it may be used")
    check_regular(resolved, what)
    return resolved


def check_regular(path: Path, what: str, max_bytes: int = MAX_FILE_BYTES) -> None:
    """Refuse anything but a regular file of at most ``max_bytes`` (a FIFO would block a reader for ever).

    Raises:
        AssetError: no such file, not a regular file, or too large.
    """
    try:
        st = path.stat()
    except FileNotFoundError:
        raise AssetError(f"{what}: file not found: {path}") from None
    except OSError as exc:
        raise AssetError(f"{what}: cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise AssetError(f"{what}: {path} is not a regular file")
    if st.st_size > max_bytes:
        raise AssetError(f"{what}: {path} is larger than {max_bytes} bytes")


def read_capped(path: Path, what: str, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file at ``path``, refusing more than ``max_bytes``.

    Raises:
        AssetError: not a regular file, too large, or unreadable.
    """
    try:
        # Non-blocking: a FIFO put in place since it was checked must not hang the run.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise AssetError(f"{what}: cannot read {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise AssetError(f"{what}: {path} is not a regular file")
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise AssetError(f"{what}: {path} is larger than {max_bytes} bytes")
    return data


def picture_size(data: bytes, what: str) -> tuple[int, int, str]:
    """The width, height and media type of a picture's bytes (read from its header, not decoded).

    Raises:
        AssetError: not a picture Pillow knows.
    """
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as picture:
            return picture.width, picture.height, Image.MIME.get(picture.format or "", "image/png")
    except (OSError, ValueError, UnidentifiedImageError):
        raise AssetError(f"{what}: not a picture (PNG, JPEG, WebP or GIF)") from None
