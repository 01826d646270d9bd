"""Putting a card where it is served: an independent regular file, written atomically.

A card in a site never shares storage with the cache: it is a file of its own, so an
image optimizer that edits site files in place cannot change a cached card. A target
is never written through a symbolic link or over anything but a regular file.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import stat
from pathlib import Path, PurePosixPath

from .errors import SocialCardsError

__all__ = ["place", "relative_path", "write_atomic"]


_tmp_names = itertools.count()


def relative_path(value: str, expected: str) -> PurePosixPath:
    """``value`` as a path that stays inside the folder it is relative to (``\\`` read as ``/``).

    Raises:
        SocialCardsError: ``expected``, then what arrived: an absolute path, a drive letter,
            a ``..`` part, a NUL, or no path at all.
    """
    path = PurePosixPath(value.replace("\\", "/"))
    drive = len(value) > 1 and value[1] == ":" and value[0].isalpha()
    if path.is_absolute() or drive or ".." in path.parts or "\0" in value or not path.parts:
        raise SocialCardsError(f"{expected}, got {value!r}")
    return path


def write_atomic(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part.

    The bytes go to a new file beside it (never through a link), which then replaces it;
    with ``mode``, the new file gets those permissions (those of the file it replaces, say).

    Raises:
        OSError: the folder cannot be made or the file cannot be written.
    """
    tmp = f"{path}.{os.getpid()}.{next(_tmp_names)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(tmp, flags, 0o666)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, flags, 0o666)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with open(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)  # noqa: PTH105 (strings: this runs for every card)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)  # noqa: PTH108
        raise


def place(target: Path, data: bytes) -> None:
    """Put a card at ``target`` as a regular file of its own; a file that holds these bytes already is left alone.

    Raises:
        SocialCardsError: ``target`` is a symbolic link, a device, a folder or anything
            but a regular file, or it cannot be written.
    """
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        raise SocialCardsError(f"cannot write {target!r}: {getattr(exc, 'strerror', None) or exc}") from None
    else:
        if not stat.S_ISREG(st.st_mode):
            kind = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a regular file"
            raise SocialCardsError(f"cannot write {target}: it is {kind}; a card is only written as a regular file")
        if st.st_size == len(data) and st.st_nlink == 1 and _holds(target, data):
            return  # the card is there already: a rerun over a built site leaves it as it was
    try:
        write_atomic(target, data)
    except OSError as exc:
        raise SocialCardsError(f"cannot write {target}: {exc.strerror or exc}") from None
    except ValueError:  # a name the filesystem cannot hold (a lone surrogate, say)
        raise SocialCardsError(f"cannot write {target!r}: the file system cannot hold this name") from None


def _holds(path: Path, data: bytes) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(len(data) + 1) == data
    except OSError:
        return False
