"""One page of a built site: how far to read it, what its head says, and its title as a card shows it."""

from __future__ import annotations

import codecs
import html
import os
import re
import stat
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..head import PageHead, read_head

__all__ = [
    "MAX_PAGE_BYTES", "SitePage", "common_site_name", "page_codec", "plain", "read_page", "strip_site_name",
]  # fmt: skip

HEAD_CHUNK_BYTES = 16 * 1024
MAX_HEAD_BYTES = 1024 * 1024
"""How far into a page its head may end; a page whose head goes on longer is left alone."""
MAX_PAGE_BYTES = 64 * 1024 * 1024
"""The largest page that is read whole (for its first heading, or to add its tags)."""

_SEPARATORS = (" | ", " - ", " — ", " – ", " · ", " :: ", " » ", " : ")
_H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class SitePage:
    """One page of the site and what its head says; ``skip`` says why it gets no card ("" when it gets one)."""

    ref: str
    path: Path
    head: PageHead
    title: str = ""
    skip: str = ""
    head_end: int = -1
    """Where the head ends, in bytes of the file (-1: not known)."""
    data: bytes | None = None
    """The whole page, when its first read held all of it (most pages): it is not read twice."""
    mode: int = 0o644
    """The page file's permissions, kept when its tags are added."""


def _read_start(path: Path) -> tuple[bytes, bool]:
    """The start of a page, up to where its head ends (or :data:`MAX_HEAD_BYTES`); True when that is the whole file."""
    data = b""
    with path.open("rb") as fh:
        while len(data) < MAX_HEAD_BYTES:
            chunk = fh.read(HEAD_CHUNK_BYTES)
            if not chunk:
                return data, True
            data += chunk
            lowered = data.lower()
            if b"</head" in lowered or b"<body" in lowered:
                return data, False
    return data, False


def page_codec(head: PageHead) -> str:
    """The page's encoding as Python names it (UTF-8 unless the page says otherwise and Python knows it)."""
    declared = head.meta.get("charset", "")
    if not declared:
        content = head.meta.get("content-type", "")
        declared = content.lower().partition("charset=")[2].strip(" ;\"'")
    try:
        return codecs.lookup(declared.strip()).name if declared.strip() else "utf-8"
    except LookupError:
        return "utf-8"


def read_page(root: Path, path: Path, site_name: str = "") -> SitePage:
    """What ``path``'s head says, and its title as a card shows it (``site_name`` taken off its end)."""
    ref = path.relative_to(root).as_posix()
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            return SitePage(ref, path, PageHead(), skip="not a regular file")
        if st.st_size > MAX_PAGE_BYTES:
            return SitePage(ref, path, PageHead(), skip="larger than a page is read")
        start, whole = _read_start(path)
    except OSError as exc:
        return SitePage(ref, path, PageHead(), skip=f"cannot be read: {exc.strerror or exc}")
    text = start.decode("utf-8", "surrogateescape")
    head = read_head(text)
    codec = page_codec(head)
    if codec != "utf-8":
        head = read_head(start.decode(codec, "replace"))
    meta = head.meta
    if head.end < 0:
        return SitePage(ref, path, head, skip="no <head> to add tags to")
    if "refresh" in meta:
        return SitePage(ref, path, head, skip="a redirect")
    if meta.get("social-cards", "").strip().lower() == "off":
        return SitePage(ref, path, head, skip="opted out")
    title = plain(meta.get("og:title", "")) or strip_site_name(head.title, site_name)
    if not title:
        body = start if whole else path.read_bytes()
        found = _H1.search(body.decode(codec, "replace"))
        title = plain(_TAG.sub(" ", found.group(1))) if found else ""
    if not title:
        return SitePage(ref, path, head, skip="no title (no og:title, <title> or <h1>)")
    head_end = len(text[: head.end].encode("utf-8", "surrogateescape")) if codec == "utf-8" else -1
    data = start if whole else None
    return SitePage(ref, path, head, title, head_end=head_end, data=data, mode=stat.S_IMODE(st.st_mode))


def plain(value: str) -> str:
    return _SPACES.sub(" ", html.unescape(value)).strip()


def strip_site_name(title: str, site_name: str) -> str:
    """``title`` less a trailing `` - Site``; a title that is only the site name (a home page) stays."""
    if site_name and title != site_name:
        for separator in _SEPARATORS:
            if title.endswith(separator + site_name):
                return title[: -len(separator + site_name)].strip()
    return title


def common_site_name(titles: list[str]) -> str:
    """The name most titles end with after a separator (``Page | Site``), if a third of them at least do."""
    ends: Counter[str] = Counter()
    for title in titles:
        seen = set()
        for separator in _SEPARATORS:
            index = title.rfind(separator)
            if index > 0:
                seen.add(title[index + len(separator) :].strip())
        ends.update(seen)
    if not ends:
        return ""
    name, count = ends.most_common(1)[0]
    return name if name and count >= max(2, len(titles) // 3) else ""
