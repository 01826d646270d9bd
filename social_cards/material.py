"""Material for MkDocs' named colours (Zensical keeps the same palette).

The values are the shades Material's stylesheets use for each ``primary`` name, so a
card drawn in one matches the site's header.
"""

from __future__ import annotations

__all__ = ["MATERIAL_PRIMARY"]

MATERIAL_PRIMARY = {
    "red": "#ef5552", "pink": "#e92063", "purple": "#ab47bd", "deep-purple": "#7e56c2", "indigo": "#4051b5",
    "blue": "#2094f3", "light-blue": "#02a6f2", "cyan": "#00bdd6", "teal": "#009485", "green": "#4cae4f",
    "light-green": "#8bc34b", "lime": "#cbdc38", "yellow": "#ffec3d", "amber": "#ffc105", "orange": "#ffa724",
    "deep-orange": "#ff6e42", "brown": "#795649", "grey": "#757575", "blue-grey": "#546d78", "black": "#000000",
    "white": "#ffffff",
}  # fmt: skip
"""Material for MkDocs' primary palette colours by name."""
