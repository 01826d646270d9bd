"""Memos: what one named run of a store used, so its next run looks nothing up.

A site is built again and again with mostly the same cards. A memo lists, for each
input fingerprint a run recalled and served, the key it resolved to, the picture
size, and the card's file with its length and digest: everything the warm path of
the next run would otherwise ask the index for, a few hundred pages a query.

A memo is only ever a hint. Every card it names is still verified against its
length and digest before it is served. A file that is gone since (another process
wrote the same card again) costs a lookup, a damaged one a redraw; never a wrong
card. Its body is text, one card a line, tab-separated fields that cannot hold a
tab (hex digests, the store's own file names, numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import xxhash

from .collector import collector_paused

__all__ = ["Memo", "MemoFile", "Resolved"]

_HEADER = "social-cards memo 1"
_FIELDS = 7


Resolved = tuple[str, int, int]
"""What a card's inputs resolved to last time: its key, and its picture's width and height."""

MemoFile = tuple[str, int, str]
"""Where a cached card's file is (relative to the store's folder), its length and its digest.

Both are plain tuples: a warm build holds one of each per page from the time it reads its
memo to its end, and the collector stops tracking a plain tuple of strings and numbers,
where it walks a named one at every full collection (20,000 of them at 10,000 pages).
"""


@dataclass(slots=True)
class Memo:
    """Fingerprints with what they resolved to, and the cached file of each key."""

    resolved: dict[str, Resolved] = field(default_factory=dict)
    files: dict[str, MemoFile] = field(default_factory=dict)

    @classmethod
    def decode(cls, body: bytes) -> Memo:
        """The memo ``body`` holds; an empty one when it is not a memo of this version."""
        try:
            lines = body.decode("ascii").split("\n")
        except UnicodeDecodeError:
            return cls()
        if lines[0] != _HEADER:
            return cls()
        resolved: dict[str, Resolved] = {}
        files: dict[str, MemoFile] = {}
        # Tens of thousands of new tuples would start collections over everything else the
        # process holds (10,000 cards beside 300,000 other objects: 33 -> 27 ms paused).
        try:
            with collector_paused():
                for line in lines[1:]:
                    fingerprint, key, width, height, file, size, digest = line.split("\t")
                    resolved[fingerprint] = (key, int(width), int(height))
                    files[key] = (file, int(size), digest)
        except ValueError:
            return cls()  # a damaged memo is no memo: the run looks everything up
        return cls(resolved, files)

    def encode(self) -> bytes:
        """The body :meth:`decode` reads back; the same memo always gives the same bytes."""
        lines = [_HEADER]
        files = self.files
        for fingerprint in sorted(self.resolved):
            key, width, height = self.resolved[fingerprint]
            found = files.get(key)
            if found is None:
                continue
            file, size, digest = found
            line = f"{fingerprint}\t{key}\t{width}\t{height}\t{file}\t{size}\t{digest}"
            if line.count("\t") != _FIELDS - 1 or "\n" in line or not line.isascii():
                continue  # not from this store: left out rather than written unreadable
            lines.append(line)
        return "\n".join(lines).encode("ascii")

    @staticmethod
    def digest(body: bytes) -> str:
        """A digest of an encoded memo (a run that used the same cards writes no new body)."""
        return xxhash.xxh3_128_hexdigest(body)

    def card_keys(self) -> set[str]:
        """The keys of the cards the memo names."""
        return {key for key, _, _ in self.resolved.values()}

    def without(self, keys: set[str]) -> Memo:
        """This memo less the cards of ``keys`` (removed by a prune)."""
        resolved = {fp: r for fp, r in self.resolved.items() if r[0] not in keys}
        return Memo(resolved, {k: f for k, f in self.files.items() if k not in keys})
