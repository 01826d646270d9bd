"""Putting cached cards where they are served, verified, in this process or a helper one.

A card is read and checked against the length and xxh3_128 recorded when it was
written, then hard-linked to its target (copied across filesystems). For a build,
:class:`Placement` does this in a helper process while the build goes on writing
pages: MkDocs draws on one core, so the other one places cards for free.

The helper runs this module as a script (``python -P placement.py``), so it
imports nothing but ``os``, ``sys``, ``typing`` and xxhash at the top: the package
would cost the helper a third of a second to import, and the usual modules
(logging, subprocess, tempfile, pathlib) another 40 ms; those are imported where
the parent side uses them.
"""

from __future__ import annotations

import itertools
import os
import sys
from typing import IO, TYPE_CHECKING

import xxhash

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Sequence
    from pathlib import Path

__all__ = ["Damaged", "Placement", "Slot", "place", "read_verified", "write_card"]

_tmp_names = itertools.count()


def _debug(message: str, *args: object) -> None:
    import logging  # here, like the other imports below that only the parent side needs

    logging.getLogger(__name__).debug(message, *args)


_END = b"done"
_FIELDS = 4


Slot = tuple[str, int, str, str]
"""A cached card's value file, its length and digest, and where to put it ("": only check it).

A plain tuple: a warm build keeps one per card until it ends, and the collector stops
tracking a plain tuple of strings and numbers, where it walks a named one at every full
collection (with this and ``Recalled``, 10,000 cards made each full collection of a
build 8-14 ms longer).
"""


class Damaged(Exception):
    """A value file does not match the length or digest recorded when it was written."""


def read_verified(source: str, size: int, digest: str) -> bytes:
    """The file's bytes; raises :class:`Damaged`, or ``OSError`` when the file is gone."""
    fd = os.open(source, os.O_RDONLY)
    try:
        data = os.read(fd, size + 1)
    finally:
        os.close(fd)
    if len(data) != size or xxhash.xxh3_128_hexdigest(data) != digest:
        raise Damaged(f"expected {size} bytes with digest {digest}, found {len(data)} bytes that differ")
    return data


def _file_mode() -> int:
    umask = os.umask(0o022)  # reading the umask means setting it; put it back at once
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()


def write_card(path: Path, data: bytes) -> None:
    """Write a card file atomically: readers see the old file or the new one, never a part.

    Raises:
        OSError: the folder cannot be made or the file cannot be written.
    """
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); a card is served, so give it the usual mode.
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)  # noqa: PTH105
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)  # noqa: PTH108
        raise


def place(source: str, data: bytes, target: str) -> None:
    """Put a verified card at ``target``: a hard link to the read-only value file, else a copy."""
    try:
        os.link(source, target)
        return
    except FileExistsError:
        try:
            if os.path.samefile(source, target):  # noqa: PTH121 (strings on the hot path)
                return
        except OSError:
            pass
    except OSError:
        pass  # another filesystem, or no hard links: copy below
    tmp = f"{target}.{os.getpid()}.{next(_tmp_names)}.tmp"
    try:
        os.link(source, tmp)
    except OSError:
        from pathlib import Path

        write_card(Path(target), data)
        return
    os.replace(tmp, target)  # noqa: PTH105 (strings on the hot path)


def place_all(slots: Sequence[Slot]) -> dict[int, tuple[str, str]]:
    """Verify and place every slot; returns, by index, those that failed: ("damaged" or "miss", reason)."""
    failed: dict[int, tuple[str, str]] = {}
    folders: set[str] = set()
    # Serial on purpose: with threads, GIL hand-offs between these short system calls
    # made 10,000 cards take 1.1-1.4 s instead of 0.6 s on two cores.
    for index, (source, size, digest, target) in enumerate(slots):
        try:
            data = read_verified(source, size, digest)
            if target:
                folder = os.path.dirname(target)  # noqa: PTH120 (strings on the hot path)
                if folder not in folders:
                    os.makedirs(folder, exist_ok=True)  # noqa: PTH103
                    folders.add(folder)
                place(source, data, target)
        except Damaged as exc:
            failed[index] = ("damaged", str(exc))
        except OSError as exc:
            failed[index] = ("miss", str(exc))
    return failed


class Placement:
    """Slots being placed by a helper process; :meth:`wait` says which failed.

    When the helper cannot start or dies, :meth:`wait` places every slot in this
    process instead (a card placed twice is the same hard link), so nothing is lost.
    """

    def __init__(self, slots: Sequence[Slot]) -> None:
        import subprocess
        import tempfile
        from pathlib import Path

        self.slots = list(slots)
        self._proc: subprocess.Popen[bytes] | None = None
        self._out: IO[bytes] | None = None
        script = Path(__file__)
        if not self.slots or not script.is_file():
            return
        try:
            with tempfile.TemporaryFile() as work:
                work.write(_encode(self.slots))
                work.seek(0)
                self._out = tempfile.TemporaryFile()  # noqa: SIM115 (read and closed in wait)
                # -P: the package folder must not shadow anything on the helper's path.
                self._proc = subprocess.Popen(
                    [sys.executable, "-P", str(script)], stdin=work, stdout=self._out, stderr=self._out
                )
        except OSError as exc:
            _debug("placing cards in this process: the helper did not start (%s)", exc)
            self._close()

    def wait(self) -> dict[int, tuple[str, str]]:
        """Block until every slot is placed; returns the failed ones by index, as :func:`place_all` does."""
        if self._proc is None or self._out is None:
            return place_all(self.slots)
        code = self._proc.wait()
        self._out.seek(0)
        report = self._out.read()
        self._close()
        failed = _decode_failures(report)
        if code != 0 or failed is None:
            _debug("placing cards in this process: the helper ended with %s: %s", code, report[-500:])
            return place_all(self.slots)
        return failed

    def cancel(self) -> None:
        """Stop the helper (cards it placed stay placed)."""
        if self._proc is not None:
            try:  # noqa: SIM105 (contextlib is not imported here)
                self._proc.kill()
            except OSError:
                pass  # already gone
            self._proc.wait()
        self._close()

    def _close(self) -> None:
        if self._out is not None:
            self._out.close()
        self._out = None
        self._proc = None


def _encode(slots: Sequence[Slot]) -> bytes:
    # NUL cannot occur in a path, so it separates fields without any escaping. One string encoded
    # once gives the bytes os.fsencode gives each path, in a third of the time at 10,000 cards.
    text = "\0".join(f"{source}\0{size}\0{digest}\0{target}" for source, size, digest, target in slots)
    return text.encode(sys.getfilesystemencoding(), sys.getfilesystemencodeerrors())


def _decode_slots(data: bytes) -> list[Slot]:
    fields = data.split(b"\0") if data else []
    if len(fields) % _FIELDS:
        raise ValueError(f"expected groups of {_FIELDS} fields, got {len(fields)} fields")
    return [
        (os.fsdecode(fields[i]), int(fields[i + 1]), fields[i + 2].decode(), os.fsdecode(fields[i + 3]))
        for i in range(0, len(fields), _FIELDS)
    ]


def _encode_failures(failed: dict[int, tuple[str, str]]) -> bytes:
    lines = [
        f"{index}\t{outcome}\t{reason}".replace("\n", " ").encode(errors="replace")
        for index, (outcome, reason) in failed.items()
    ]
    return b"\n".join([*lines, _END])


def _decode_failures(report: bytes) -> dict[int, tuple[str, str]] | None:
    """The helper's failures, or None when it did not finish its report."""
    lines = report.split(b"\n")
    if lines[-1] != _END:
        return None
    failed = {}
    for line in lines[:-1]:
        index, outcome, reason = line.decode(errors="replace").split("\t", 2)
        failed[int(index)] = (outcome, reason)
    return failed


def _main() -> None:
    failed = place_all(_decode_slots(sys.stdin.buffer.read()))
    sys.stdout.buffer.write(_encode_failures(failed))


if __name__ == "__main__":
    _main()
