"""What a site's theme says about its cards: logo and primary colour.

Material for MkDocs names its primary colours (``indigo``, ``deep-orange``; see
:mod:`social_cards.material`). Other themes have no palette, and ``custom``
palettes are CSS variables we cannot read: then the template's own colours stay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig

from social_cards.material import MATERIAL_PRIMARY

__all__ = ["ThemeDefaults", "theme_defaults"]

_MATERIAL_DEFAULT_ICON = "material/library"


@dataclass(frozen=True, slots=True)
class ThemeDefaults:
    """What the theme offers: a logo file and a primary colour (either may be missing)."""

    logo: Path | None = None
    primary: str | None = None


def theme_defaults(config: MkDocsConfig) -> ThemeDefaults:
    """The logo file and primary colour the configured theme shows, where it has them."""
    theme = config.theme
    return ThemeDefaults(_logo(config), _primary(theme.get("palette")) if theme.name == "material" else None)


def _primary(palette: Any) -> str | None:
    """The primary colour a visitor first sees: the first scheme of a palette list that names a known one.

    Material's automatic light/dark palette starts with an entry that only toggles (no colour).
    """
    for scheme in palette if isinstance(palette, list) else [palette]:
        if isinstance(scheme, Mapping):
            name = str(scheme.get("primary", "")).strip().lower().replace(" ", "-")
            if name in MATERIAL_PRIMARY:
                return MATERIAL_PRIMARY[name]
    return None


def _logo(config: MkDocsConfig) -> Path | None:
    theme = config.theme
    logo = theme.get("logo")
    if isinstance(logo, str) and logo and "://" not in logo and not logo.startswith("data:"):
        for folder in (config.docs_dir, *theme.dirs):
            candidate = Path(folder) / logo.lstrip("/")
            if candidate.is_file():
                return candidate.resolve()
        return None
    if theme.name != "material":
        return None
    icons = theme.get("icon")
    name = icons.get("logo") if isinstance(icons, Mapping) else None
    name = name if isinstance(name, str) and name else _MATERIAL_DEFAULT_ICON
    for folder in theme.dirs:
        candidate = Path(folder) / ".icons" / f"{name}.svg"
        if candidate.is_file():
            return candidate.resolve()
    return None
