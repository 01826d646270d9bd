"""Putting a card where it is served: an independent regular file, written atomically.

A card in a site never shares storage with the cache: it is a file of its own, so an
image optimizer that edits site files in place cannot change a cached card. A target
is never written through a symbolic link or over anything but a regular file.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from .errors import SocialCardsError

__all__ = ["place", "write_atomic"]


def _file_mode() -> int:
    umask = os.umask(0o022)  # reading the umask means setting it; put it back at once
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part.

    Raises:
        OSError: the folder cannot be made or the file cannot be written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private; a card is served, so it gets the usual mode.
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)  # noqa: PTH105
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def place(target: Path, data: bytes) -> None:
    """Put a card at ``target`` as a regular file of its own.

    Raises:
        SocialCardsError: ``target`` is a symbolic link, a device, a folder or anything
            but a regular file, or it cannot be written.
    """
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise SocialCardsError(f"cannot write {target}: {exc.strerror or exc}") from None
    else:
        if not stat.S_ISREG(st.st_mode):
            kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a regular file"
            raise SocialCardsError(f"cannot write {target}: it is {kind}; a card is only written as a regular file")
    try:
        write_atomic(target, data)
    except OSError as exc:
        raise SocialCardsError(f"cannot write {target}: {exc.strerror or exc}") from None
