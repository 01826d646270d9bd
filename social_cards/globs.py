"""Globs on relative paths: ``*`` and ``?`` stay within a folder, ``**`` spans folders.

Matched folder by folder without regular expressions, so a pattern with many ``*``
takes time linear in the pattern times the path, never exponential.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["glob"]


def glob(pattern: str) -> Callable[[str], bool]:
    """A glob on source paths: ``*`` and ``?`` stay within a folder, ``**`` spans folders.

    Matched folder by folder, without regular expressions, in time linear in the
    pattern times the path however many ``*`` the pattern holds.
    """
    parts = pattern.strip("/").split("/")

    def match(path: str) -> bool:
        segments = path.split("/")
        reachable = {0}  # how many segments the parts so far can have matched
        for part in parts:
            if part == "**":
                reachable = set(range(min(reachable), len(segments) + 1))
            else:
                reachable = {i + 1 for i in reachable if i < len(segments) and _wildcard(part, segments[i])}
            if not reachable:
                return False
        return len(segments) in reachable

    return match


def _wildcard(pattern: str, name: str) -> bool:
    """Whether ``name`` matches ``pattern`` (``*``: any run of characters, ``?``: one)."""
    p = n = 0
    star, resume = -1, 0
    while n < len(name):
        if p < len(pattern) and pattern[p] in ("?", name[n]):
            p += 1
            n += 1
        elif p < len(pattern) and pattern[p] == "*":
            star, resume = p, n
            p += 1
        elif star >= 0:  # let the last "*" take one more character
            resume += 1
            p, n = star + 1, resume
        else:
            return False
    return all(ch == "*" for ch in pattern[p:])
