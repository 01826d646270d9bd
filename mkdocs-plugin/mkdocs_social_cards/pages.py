"""From an MkDocs page to what its card is made of: front matter, titles, globs.

A page asks for a card, names its own picture (its tags are known at once), or has
no card at all.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from mkdocs.structure.pages import Page

from social_cards.files import locate, picture_size, read_capped
from social_cards.material import layout_options

__all__ = [
    "FRONT_MATTER_KEYS", "card_path", "date_of", "first_heading", "front_matter", "names", "own_image", "text",
]  # fmt: skip

FRONT_MATTER_KEYS = ("cards", "title", "description", "template", "options", "image")
"""Keys of a page's ``social:`` front matter."""

_MEDIA_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp", ".gif": "image/gif"}


def front_matter(page: Page, warn: Callable[[str], None]) -> Mapping[str, Any] | None:
    """The page's ``social:`` front matter, checked; None when the page opts out of a card."""
    social = page.meta.get("social")
    if not isinstance(social, Mapping):
        return {}
    if social.get("cards", True) is False:
        return None
    checked = dict(social)
    layout = checked.pop("cards_layout_options", None)  # Material's name for a page's own card settings
    if isinstance(layout, Mapping):
        found = layout_options(layout, "social.cards_layout_options")
        for message in found.messages:
            warn(message)
        if found.title:
            checked.setdefault("title", found.title)
        if found.description:
            checked.setdefault("description", found.description)
        if found.options:
            own = checked.get("options")
            checked["options"] = {**found.options, **(own if isinstance(own, Mapping) else {})}
    for key in list(checked):
        if key not in FRONT_MATTER_KEYS:
            warn(f"unknown key social.{key} ignored; expected one of {', '.join(FRONT_MATTER_KEYS)}")
            del checked[key]
    if "options" in checked and not isinstance(checked["options"], Mapping):
        warn("social.options must be a mapping of option names to values; ignored")
        del checked["options"]
    return checked


def own_image(page: Page, image: str, docs: Path, site_url: str) -> tuple[str, int, int, str]:
    """A page's own picture: its URL, size (0 when unknown) and media type. A file must be inside the docs.

    Raises:
        SocialCardsError: the file is outside the docs folder, or not a picture.
    """
    if re.match(r"^https?://", image):
        suffix = PurePosixPath(image.split("?", 1)[0]).suffix.lower()
        return image, 0, 0, _MEDIA_TYPES.get(suffix, "image/png")
    folder = posixpath.dirname(page.file.src_uri)
    relative = image.lstrip("/") if image.startswith("/") else posixpath.join(folder, image)
    path = locate(docs, relative, f"social.image {image!r}", "the docs folder")
    width, height, media_type = picture_size(read_capped(path, f"social.image {image!r}"), f"social.image {image!r}")
    return site_url + quote(path.relative_to(docs.resolve()).as_posix()), width, height, media_type


_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_ATX_H1 = re.compile(r"^\s{0,3}#(?!#)\s+(.+?)\s*(?:\{[^}]*\})?\s*#*\s*$")


def first_heading(markdown: str) -> str:
    """The page's first level-one heading as written (Markdown kept: a code span stays one), or ""."""
    fence = ""
    for line in markdown.splitlines():
        opened = _FENCE.match(line)
        if opened and (not fence or opened.group(1)[0] == fence[0]):
            fence = "" if fence else opened.group(1)
            continue
        heading = None if fence else _ATX_H1.match(line)
        if heading:
            return heading.group(1)
    return ""


def card_path(cards_dir: str, ref: str, suffix: str) -> str:
    """A page's card's path in the site, named after the page (``blog/post.md`` -> ``blog/post.png``)."""
    return f"{cards_dir}/{posixpath.splitext(ref)[0]}{suffix}"


def text(value: object) -> str:
    return "" if value is None else str(value).strip()


def names(value: object) -> tuple[str, ...]:
    """Names from a string, a list, or objects with a ``name`` or ``title`` (Material's authors, categories)."""
    if value is None or value == "":
        return ()
    items = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for item in items:
        # A plain string first: str has a title() method, which would stand in for the name.
        name = item if isinstance(item, str) else getattr(item, "name", None) or getattr(item, "title", None) or item
        if isinstance(name, (str, int, float)) and str(name).strip():
            out.append(str(name).strip())
    return tuple(out)


def date_of(page: Page) -> str:
    """A post's date as text: Material's blog date, or a ``date`` in the front matter."""
    value: object = None
    date = getattr(getattr(page, "config", None), "date", None)
    if date is not None:
        value = getattr(date, "created", None) or date
    if value is None:
        value = page.meta.get("date")
    if isinstance(value, Mapping):
        value = value.get("created")
    if isinstance(value, (dt.date, dt.datetime)):
        return f"{value:%B} {value.day}, {value.year}"
    return text(value) if isinstance(value, str) else ""
