"""What a site coming from Material for MkDocs brings: its named colours and its ``social`` plugin's options.

The colours are the shades Material's stylesheets use for each ``primary`` name
(Zensical keeps the same palette), so a card drawn in one matches the site's header.
The options of Material's ``social`` plugin are understood where they mean something
here, and each of the others gets one message naming what to use instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["LAYOUTS", "MATERIAL_PRIMARY", "UNSUPPORTED_OPTIONS", "LayoutOptions", "layout_options"]

MATERIAL_PRIMARY = {
    "red": "#ef5552", "pink": "#e92063", "purple": "#ab47bd", "deep-purple": "#7e56c2", "indigo": "#4051b5",
    "blue": "#2094f3", "light-blue": "#02a6f2", "cyan": "#00bdd6", "teal": "#009485", "green": "#4cae4f",
    "light-green": "#8bc34b", "lime": "#cbdc38", "yellow": "#ffec3d", "amber": "#ffc105", "orange": "#ffa724",
    "deep-orange": "#ff6e42", "brown": "#795649", "grey": "#757575", "blue-grey": "#546d78", "black": "#000000",
    "white": "#ffffff",
}  # fmt: skip
"""Material for MkDocs' primary palette colours by name."""


LAYOUTS = {"default": "material", "default/variant": "material", "default/accent": "accent"}
"""Material's built-in layouts, and the template that draws each the nearest way."""

UNSUPPORTED_OPTIONS = {
    "cards_layout_dir": "a custom layout becomes a template folder: set 'template' to it (see docs/templates.md)",
    "cache": "the card cache is always on; 'cache_dir' moves it",
    "debug": "'social-cards preview' shows templates with sample titles",
    "debug_on_build": "'social-cards preview' shows templates with sample titles",
    "debug_grid": "'social-cards preview' shows templates with sample titles",
    "debug_grid_step": "'social-cards preview' shows templates with sample titles",
    "debug_color": "'social-cards preview' shows templates with sample titles",
    "log": "messages go to MkDocs' log; 'mkdocs build --verbose' shows more",
    "log_level": "messages go to MkDocs' log; 'mkdocs build --verbose' shows more",
}
"""Options of Material's social plugin that have no use here, and what to use instead."""

_FONTS = (
    "fonts are never downloaded: the built-in templates draw with Inter and the installed fonts; "
    "add font files with 'fonts', or give a template folder its own font"
)
_UNSUPPORTED_LAYOUT = {
    "background_image": "a background picture goes in a template folder of your own (see docs/templates.md)",
    "font_family": _FONTS,
    "font_variant": _FONTS,
}
_LAYOUT_OPTIONS = {"background_color": "background", "color": "color"}


@dataclass(frozen=True, slots=True)
class LayoutOptions:
    """Material's ``cards_layout_options`` as this project's settings.

    Attributes:
        options: template options (``background_color`` is ``background``, ``color`` is ``color``).
        title: a title for the card(s), or "".
        description: a description for the card(s), or "".
        logo: a logo file as written, or "".
        messages: one line for each key that has no use here, naming what to use instead.
    """

    options: dict[str, str]
    title: str = ""
    description: str = ""
    logo: str = ""
    messages: tuple[str, ...] = ()


def layout_options(mapping: Mapping[str, object], where: str = "cards_layout_options") -> LayoutOptions:
    """What Material's ``cards_layout_options`` (site-wide, or a page's ``social:``) mean here."""
    options: dict[str, str] = {}
    messages = []
    for key, value in mapping.items():
        text = "" if value is None else str(value)
        if key in _LAYOUT_OPTIONS:
            options[_LAYOUT_OPTIONS[key]] = text
        elif key in _UNSUPPORTED_LAYOUT:
            messages.append(f"{where}.{key} is not used: {_UNSUPPORTED_LAYOUT[key]}")
        elif key not in ("title", "description", "logo"):
            messages.append(f"{where}.{key} is not an option of Material's layouts; it is not used")
    get = mapping.get
    return LayoutOptions(
        options, str(get("title") or ""), str(get("description") or ""), str(get("logo") or ""), tuple(messages)
    )
