"""The layout schema: the layer kinds, their fields, and how each field's value is read.

A field's text that uses Jinja2 is checked when the template loads and compiled when
a card first needs it; each is rendered on its own in a sandbox.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import jinja2
import jinja2.meta

from ..errors import TemplateError
from .sandbox import BoundedSandbox, render_bounded

if TYPE_CHECKING:
    from ..spec import Color

__all__ = [
    "CARD_SIZE", "COMMON", "FALSY", "REQUIRED", "SCHEMA", "SVG_ENV", "Field", "Value", "compile_value", "render_value",
    "variables_of",
]  # fmt: skip


_Coerce = Callable[[Any, str], Any]


def _int(value: Any, where: str) -> int:
    try:
        return round(float(value))
    except (TypeError, ValueError):
        raise TemplateError(f"{where}: expected a whole number, got {value!r}") from None


def _float(value: Any, where: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TemplateError(f"{where}: expected a number, got {value!r}") from None


_HEX_COLOR = re.compile(r"#([0-9a-fA-F]{6}|[0-9a-fA-F]{8})")


def _color(value: Any, where: str) -> Color:
    text = str(value).strip()
    if _HEX_COLOR.fullmatch(text):  # the usual spelling, read without loading Pillow (a warm build never draws)
        channels = [int(text[i : i + 2], 16) for i in range(1, len(text), 2)]
        return (channels[0], channels[1], channels[2], channels[3] if len(channels) == 4 else 255)
    from PIL import ImageColor

    try:
        rgb = ImageColor.getrgb(text)
    except ValueError:
        raise TemplateError(
            f"{where}: expected a colour such as '#1e293b', '#1e293bcc', 'rgb(30, 41, 59)' or 'white', got {value!r}"
        ) from None
    return (rgb[0], rgb[1], rgb[2], rgb[3] if len(rgb) == 4 else 255)


def _optional_color(value: Any, where: str) -> Color | None:
    return None if value is None or str(value).strip() == "" else _color(value, where)


def _text(value: Any, where: str) -> str:
    return "" if value is None else str(value)


def _choice(*allowed: str) -> _Coerce:
    def coerce(value: Any, where: str) -> str:
        text = str(value).strip().lower()
        if text not in allowed:
            raise TemplateError(f"{where}: expected one of {', '.join(allowed)}, got {value!r}")
        return text

    return coerce


def _size_range(value: Any, where: str) -> tuple[int, int]:
    if isinstance(value, (int, float, str)):
        low = high = _int(value, where)
    elif isinstance(value, list) and len(value) == 2:
        low, high = sorted((_int(value[0], where), _int(value[1], where)))
    else:
        raise TemplateError(f"{where}: expected a size or [min, max] sizes in pixels, got {value!r}")
    if low < 4 or high > 1000:
        raise TemplateError(f"{where}: font sizes must lie between 4 and 1000 pixels, got {value!r}")
    return low, high


REQUIRED = object()
CARD_SIZE = object()
_BOX = {"x": (_int, 0), "y": (_int, 0), "width": (_int, CARD_SIZE), "height": (_int, CARD_SIZE)}
_FIT = _choice("cover", "contain", "stretch")
SCHEMA: dict[str, dict[str, tuple[_Coerce, Any]]] = {
    "background": {
        "color": (_color, "#ffffff"),
        "gradient_to": (_optional_color, None),
        "angle": (_float, 0.0),
        "image": (_text, ""),
        "fit": (_FIT, "cover"),
        "opacity": (_float, 1.0),
    },
    "image": {
        **_BOX,
        "file": (_text, REQUIRED),
        "fit": (_FIT, "contain"),
        "radius": (_int, 0),
        "opacity": (_float, 1.0),
        "tint": (_optional_color, None),
    },
    "svg": {**_BOX, "file": (_text, REQUIRED), "opacity": (_float, 1.0), "tint": (_optional_color, None)},
    "rect": {
        **_BOX,
        "fill": (_optional_color, None),
        "radius": (_int, 0),
        "outline": (_optional_color, None),
        "outline_width": (_int, 0),
    },
    "text": {
        **_BOX,
        "text": (_text, ""),
        "font": (_text, "bundled:Inter-Regular.otf"),
        "weight": (_choice("regular", "bold"), "regular"),
        "color": (_color, "#000000"),
        "size": (_size_range, [32, 64]),
        "line_height": (_float, 1.2),
        "max_lines": (_int, 3),
        "align": (_choice("start", "end", "left", "center", "right"), "start"),
        "valign": (_choice("top", "middle", "bottom"), "top"),
        "direction": (_choice("auto", "ltr", "rtl"), "auto"),
        # Page values arrive with their markup stripped once (a second pass would read a code span's
        # __init__ as emphasis); "true" also strips markup from the layer's own text.
        "markup": (_choice("true", "false"), "false"),
    },
}
COMMON = {"kind", "when"}
FALSY = {"", "false", "0", "none", "no", "off"}


_FIELD_ENV = BoundedSandbox(autoescape=False)
SVG_ENV = BoundedSandbox(autoescape=True)


class Field:
    """A layer field's text that uses variables: checked and read for its variables when the
    template loads, compiled when a card first needs it (a warm build never does: compiling
    every field took two thirds of loading a template)."""

    __slots__ = ("_compiled", "source", "variables")

    def __init__(self, source: str, where: str) -> None:
        try:
            parsed = _FIELD_ENV.parse(source)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"{where}: Jinja2 syntax error: {exc.message} (line {exc.lineno})") from None
        self.source = source
        self.variables = frozenset(jinja2.meta.find_undeclared_variables(parsed))
        self._compiled: jinja2.Template | None = None

    def render(self, context: Mapping[str, Any]) -> str:
        if self._compiled is None:
            self._compiled = _FIELD_ENV.bounded(self.source)
        return render_bounded(self._compiled, context)


Value = Any  # a static TOML value, or a _Field for a string using variables


def compile_value(value: Any, where: str) -> Value:
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        return Field(value, where)
    if isinstance(value, list):
        return [compile_value(v, where) for v in value]
    return value


def render_value(value: Value, context: Mapping[str, Any], where: str) -> Any:
    if isinstance(value, Field):
        try:
            return value.render(context)
        except (jinja2.TemplateError, TemplateError) as exc:
            raise TemplateError(f"{where}: {exc}") from None
    if isinstance(value, list):
        return [render_value(v, context, where) for v in value]
    return value


def variables_of(value: Value) -> set[str]:
    if isinstance(value, Field):
        return set(value.variables)
    if isinstance(value, list):
        return set().union(*(variables_of(v) for v in value)) if value else set()
    return set()
