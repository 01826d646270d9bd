"""Open Graph and Twitter meta tags: built escaped, added to a page's head once each.

A page gets its tags as MkDocs writes it (:func:`insert_tags`), or, in a large build,
once it is written, from a helper process (:class:`Tagger`): MkDocs writes pages on
one core, so the other one adds the tags for free. The helper runs this module as a
script, so it imports nothing at the top beyond ``html``, ``os``, ``re``, ``sys`` and
``typing``.
"""

from __future__ import annotations

import html
import os
import re
import sys
from typing import IO, TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import subprocess

__all__ = ["CardTags", "Tagger", "insert_tags", "remove_tags", "tag_file"]

_HEAD_END = re.compile(r"</head\s*>", re.IGNORECASE)
_EXISTING = re.compile(
    r"""<meta\b[^>]*?\b(?:property|name)\s*=\s*["']?((?:og|twitter):[\w:.-]+)""",
    re.IGNORECASE,
)


class CardTags(NamedTuple):
    """What a page's tags say. ``image`` is an absolute URL; text is plain text; 0 is an unknown size.

    A tuple, like the store's records: a warm build makes one per page.
    """

    image: str
    width: int
    height: int
    media_type: str
    title: str
    description: str
    url: str
    kind: str = "website"

    def pairs(self) -> list[tuple[str, str, str]]:
        """(attribute, name, value) for every tag, in the order they are written."""
        og = [
            ("og:type", self.kind),
            ("og:title", self.title),
            ("og:description", self.description),
            ("og:url", self.url),
            ("og:image", self.image),
            ("og:image:type", self.media_type),
            ("og:image:width", str(self.width) if self.width else ""),
            ("og:image:height", str(self.height) if self.height else ""),
            ("og:image:alt", self.title),
        ]
        twitter = [
            ("twitter:card", "summary_large_image"),
            ("twitter:title", self.title),
            ("twitter:description", self.description),
            ("twitter:image", self.image),
        ]
        return [("property", n, v) for n, v in og if v] + [("name", n, v) for n, v in twitter if v]


_COLONS_STEPPED = 32
"""Colons of a head looked at one by one before searching it for the endings instead."""


def _present(page_html: str, end: int) -> set[str]:
    """Names of the Open Graph and Twitter tags the head (``page_html`` up to ``end``) already has.

    Every such name holds "og:" or "twitter:" in some case: a colon after g or r. A head
    with none is answered without reading its meta tags, which is every head of the mkdocs,
    readthedocs and material themes. Those hold a few colons (8 in the material theme's:
    URLs, a style, a script), so stepping from colon to colon, a one-character search, is
    cheaper than searching for the four endings (3 against 7 us a page over a generated
    site's pages, 5 against 7 in its build); a head with many colons gets the four
    searches after the first few.
    """
    find = page_html.find
    colon = find(":", 0, end)
    stepped = 0
    while colon >= 0:
        if colon and page_html[colon - 1] in "gGrR":
            break
        stepped += 1
        if stepped == _COLONS_STEPPED:
            if all(find(ending, colon, end) < 0 for ending in ("g:", "r:", "G:", "R:")):
                return set()
            break
        colon = find(":", colon + 1, end)
    else:
        return set()
    return {m.group(1).lower() for m in _EXISTING.finditer(page_html, 0, end)}


def _head_end(page_html: str) -> int:
    """Where ``</head>`` starts, or -1."""
    end = page_html.find("</head>")  # a plain search first: this runs for every page of a build
    if end < 0:
        match = _HEAD_END.search(page_html)
        return -1 if match is None else match.start()
    return end


def _line(attr: str, name: str, text: str) -> str:
    return f'<meta {attr}="{name}" content="{text}">'


def _every_line(tags: CardTags) -> str | None:
    """Every tag, each value escaped once: the usual page, which has none of them yet.

    The lines :meth:`CardTags.pairs` gives, in its order, in one string; None when a
    value is empty (that tag is left out, the general way).
    """
    title, description, url, image, kind, media_type = (
        tags.title, tags.description, tags.url, tags.image, tags.kind, tags.media_type
    )  # fmt: skip
    if not (kind and title and description and url and image and media_type and tags.width and tags.height):
        return None
    values = f"{title}{description}{url}{image}{kind}{media_type}"
    if "&" in values or "<" in values or ">" in values or '"' in values or "'" in values:  # five quick scans
        same = description == title
        title, url, image, kind, media_type = map(html.escape, (title, url, image, kind, media_type))
        description = title if same else html.escape(description)
    return (
        f'<meta property="og:type" content="{kind}">\n'
        f'<meta property="og:title" content="{title}">\n'
        f'<meta property="og:description" content="{description}">\n'
        f'<meta property="og:url" content="{url}">\n'
        f'<meta property="og:image" content="{image}">\n'
        f'<meta property="og:image:type" content="{media_type}">\n'
        f'<meta property="og:image:width" content="{tags.width}">\n'
        f'<meta property="og:image:height" content="{tags.height}">\n'
        f'<meta property="og:image:alt" content="{title}">\n'
        '<meta name="twitter:card" content="summary_large_image">\n'
        f'<meta name="twitter:title" content="{title}">\n'
        f'<meta name="twitter:description" content="{description}">\n'
        f'<meta name="twitter:image" content="{image}">\n'
    )


def insert_tags(page_html: str, tags: CardTags) -> str:
    """``page_html`` with the tags before ``</head>``, leaving out any the page already has."""
    end = _head_end(page_html)
    if end < 0:
        return page_html
    present = _present(page_html, end)
    block = None if present else _every_line(tags)
    if block is None:
        escaped: dict[str, str] = {}
        lines = []
        for attr, name, value in tags.pairs():
            if name not in present:
                text = escaped.get(value)
                if text is None:
                    text = escaped[value] = html.escape(value, quote=True)
                lines.append(_line(attr, name, text) + "\n")
        if not lines:
            return page_html
        block = "".join(lines)
    if page_html.startswith("</head>", end):  # the first one, so one copy of the page where slicing makes two
        return page_html.replace("</head>", block + "</head>", 1)
    return f"{page_html[:end]}{block}{page_html[end:]}"


def remove_tags(page_html: str, tags: CardTags) -> str:
    """``page_html`` as it was before :func:`insert_tags` added ``tags`` (unchanged if it did not).

    For a page written with a card that could not be made after all.
    """
    end = _head_end(page_html)
    if end < 0:
        return page_html
    ours = [_line(attr, name, html.escape(value, quote=True)) + "\n" for attr, name, value in tags.pairs()]
    cuts = [end]
    while True:  # peel the tags off the end of the head, last first
        piece = next((p for p in ours if page_html.endswith(p, 0, cuts[-1])), None)
        if piece is None:
            break
        cuts.append(cuts[-1] - len(piece))
    # The theme may have had one of these very tags just before ours: keep the deepest cut that
    # gives back exactly this page when the tags are added again.
    for cut in reversed(cuts[1:]):
        before = page_html[:cut] + page_html[end:]
        if insert_tags(before, tags) == page_html:
            return before
    return page_html


def tag_file(path: str, tags: CardTags) -> bool:
    """Add ``tags`` to the page MkDocs wrote at ``path``; False when it needed none or is not there.

    The file ends as MkDocs would have written the page with :func:`insert_tags` applied
    (UTF-8, with what UTF-8 cannot encode, such as a lone surrogate, as a character
    reference). It is rewritten in place, as MkDocs writes it: the new text only grows,
    so nothing of the old is left behind.

    Raises:
        OSError: the page cannot be read or written.
        UnicodeDecodeError: the page is not UTF-8 (MkDocs never writes one that is not).
    """
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False  # MkDocs writes no file for a page whose output is empty
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, size)
        while len(data) < size:  # a short read
            more = os.read(fd, size - len(data))
            if not more:
                break
            data += more
        text = data.decode("utf-8")
        tagged = insert_tags(text, tags)
        if tagged is text:
            return False
        out = tagged.encode("utf-8", errors="xmlcharrefreplace")
        written = 0
        while written < len(out):
            written += os.pwrite(fd, out[written:], written)
        if len(out) < len(data):  # never for text that only grew; a page rewritten meanwhile
            os.ftruncate(fd, len(out))
    finally:
        os.close(fd)
    return True


_WARNINGS_SHOWN = 3
_CHUNK_PAGES = 32
"""Pages handed to the helper at a time: one write to its pipe each (about 12 kB), and the most
it has left to tag when the build ends (about 25 us a page)."""
_HEADER_BYTES = 8
_FIELDS = 10
"""A page's folder and file, and the eight fields of its :class:`CardTags`."""
_NO_PAGE = ["", "", "", "0", "0", "", "", "", "", ""]
"""A record with no file: the helper only counts it, so the indices of its report stay right."""
_END = b"done"
_TRANSPORT = "surrogatepass"
"""How text crosses the pipe: any Python string, surrogates and all, comes back the same."""


class Tagger:
    """Pages tagged by a helper process once MkDocs has written them.

    MkDocs writes a page right after its ``on_post_page`` hook, so a page handed to
    :meth:`add` is passed on to the helper when the next one arrives (it is written by
    then), and the last one by :meth:`wait`. When the helper cannot start, :meth:`start`
    returns None and the caller tags pages itself; when it dies or cannot tag a page,
    :meth:`wait` tags those pages in this process, so no page is left without its tags.
    """

    def __init__(self, proc: subprocess.Popen[bytes], report: IO[bytes]) -> None:
        self._proc: subprocess.Popen[bytes] | None = proc
        self._report: IO[bytes] | None = report
        self._pages: list[tuple[str, str, str, CardTags]] = []
        """Every page handed over, by its place in the stream: (ref, site folder, file in it, tags)."""
        self._sent = 0
        self._mine: list[int] = []
        """Pages whose text cannot cross the pipe (a NUL in it), tagged by :meth:`wait` here."""

    @classmethod
    def start(cls) -> Tagger | None:
        """A tagger with its helper running, or None when it cannot start."""
        import subprocess
        import tempfile

        script = __file__
        if not os.path.isfile(script):  # noqa: PTH113 (pathlib is not imported here)
            return None
        report = tempfile.TemporaryFile()  # noqa: SIM115 (read and closed in wait)
        try:
            # -I -S: the standard library only; the helper must not see the user's site or environment.
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", script], stdin=subprocess.PIPE, stdout=report, stderr=report
            )
        except OSError:
            report.close()
            return None
        return cls(proc, report)

    def add(self, ref: str, folder: str, file: str, tags: CardTags) -> None:
        """Tag the page ``ref`` once it is written (by the time the next page arrives).

        Its file is ``file`` (MkDocs' ``dest_uri``) in ``folder`` (``dest_dir``), joined as
        MkDocs joins them (``abs_dest_path``) by whoever tags the page.
        """
        self._pages.append((ref, folder, file, tags))
        if len(self._pages) - self._sent > _CHUNK_PAGES:
            self._send(len(self._pages) - 1)  # all but this page, which MkDocs has yet to write

    def _send(self, upto: int) -> None:
        """Hand pages ``_sent`` to ``upto`` (excluded) to the helper."""
        start, self._sent = self._sent, upto
        proc = self._proc
        if proc is None or proc.stdin is None or start == upto:
            return
        pages = self._pages
        fields: list[str] = []
        for index in range(start, upto):
            _, folder, file, t = pages[index]
            fields += (folder, file, t.image, str(t.width), str(t.height), t.media_type, t.title, t.description,
                       t.url, t.kind)  # fmt: skip
        text = "\0".join(fields)
        if text.count("\0") != len(fields) - 1:  # a NUL in some page's text: that page is tagged by wait()
            for at, index in enumerate(range(start, upto)):
                if any("\0" in value for value in fields[at * _FIELDS : (at + 1) * _FIELDS]):
                    self._mine.append(index)
                    fields[at * _FIELDS : (at + 1) * _FIELDS] = _NO_PAGE
            text = "\0".join(fields)
        body = text.encode("utf-8", _TRANSPORT)
        try:
            proc.stdin.write(len(body).to_bytes(_HEADER_BYTES, "big") + body)
            proc.stdin.flush()
        except OSError:
            pass  # the helper is gone: wait() tags what it did not

    def wait(self) -> list[str]:
        """Block until every page is tagged; returns a warning for each page that could not be."""
        self._send(len(self._pages))
        failed = self._finish()
        redo = sorted(set(range(len(self._pages)) if failed is None else failed) | set(self._mine))
        warnings = []
        for index in redo:
            ref, folder, file, tags = self._pages[index]
            path = _joined(folder, file)
            try:
                tag_file(path, tags)
            except (OSError, UnicodeDecodeError) as exc:
                warnings.append(f"{ref}: the meta tags could not be added to {path}: {exc}")
        self._pages = []
        if len(warnings) > _WARNINGS_SHOWN:  # one cause (a site folder made read-only) should not bury the log
            hidden = len(warnings) - _WARNINGS_SHOWN
            warnings[_WARNINGS_SHOWN:] = [f"and {hidden} more pages whose meta tags could not be added"]
        return warnings

    def _finish(self) -> list[int] | None:
        """End the helper's input and read its report: the pages it failed, or None if it did not finish."""
        proc, report = self._proc, self._report
        self._proc = self._report = None
        if proc is None or report is None:
            return None
        try:
            if proc.stdin is not None:
                try:
                    proc.stdin.write(bytes(_HEADER_BYTES))
                    proc.stdin.close()
                except OSError:
                    pass
            code = proc.wait()
            report.seek(0)
            lines = report.read().split(b"\n")
        finally:
            report.close()
        if code != 0 or lines[-1] != _END:
            return None
        return [int(line.split(b"\t", 1)[0]) for line in lines[:-1]]

    def cancel(self) -> None:
        """Stop the helper (the build failed); pages it tagged stay tagged."""
        proc, report = self._proc, self._report
        self._proc = self._report = None
        if proc is not None:
            try:  # noqa: SIM105 (contextlib is not imported here)
                proc.kill()
            except OSError:
                pass  # already gone
            proc.wait()
            if proc.stdin is not None:
                proc.stdin.close()
        if report is not None:
            report.close()
        self._pages = []


def _joined(folder: str, file: str) -> str:
    """The page's file, as MkDocs' ``File.abs_dest_path`` gives it."""
    return os.path.normpath(os.path.join(folder, file))  # noqa: PTH118 (pathlib is not imported here)


def _main() -> None:
    stdin, out = sys.stdin.buffer, sys.stdout.buffer
    index = 0
    while True:
        header = stdin.read(_HEADER_BYTES)
        if len(header) < _HEADER_BYTES:
            sys.exit(1)  # the parent went away: no report, so it tags what it still needs itself
        size = int.from_bytes(header, "big")
        if size == 0:
            break
        body = stdin.read(size)
        if len(body) < size:
            sys.exit(1)
        fields = body.decode("utf-8", _TRANSPORT).split("\0")
        for at in range(0, len(fields), _FIELDS):
            folder, file, image, width, height, media_type, title, description, url, kind = fields[at : at + _FIELDS]
            if file:
                tags = CardTags(image, int(width), int(height), media_type, title, description, url, kind)
                try:
                    tag_file(_joined(folder, file), tags)
                except (OSError, UnicodeDecodeError) as exc:
                    out.write(f"{index}\t{exc}".replace("\n", " ").encode(errors="replace") + b"\n")
            index += 1
    out.write(_END)
    out.flush()
    os._exit(0)  # the interpreter's own shutdown took 5 ms, which the build would wait for


if __name__ == "__main__":
    _main()
