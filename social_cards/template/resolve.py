"""Resolving: a template and a card's data become a frozen ``CardSpec``.

Every file a layer names is checked to be inside the template folder (or to be the
configured logo) and replaced by the digest of its bytes; every text layer gets
the chain of font faces that can draw its characters.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from ..digest import file_digest
from ..errors import AssetError, MissingGlyphError, TemplateError
from ..files import check_regular, locate, read_capped
from ..fonts import FontChain, FontFace, template_font
from ..language import cjk_region
from ..model import CardInput, RenderSettings
from ..text import ELLIPSIS, clean_text, clusters
from .sandbox import render_bounded
from .schema import CARD_SIZE, FALSY, REQUIRED, SCHEMA, SVG_ENV, render_value

if TYPE_CHECKING:
    from ..spec import Asset, Box, CardSpec, Color, Layer
    from .layout import LayerSource, Template

__all__ = ["MAX_LAYER_PX", "MAX_SVG_BYTES", "resolve"]

logger = logging.getLogger(__name__)

MAX_SVG_BYTES = 2_000_000
"""Largest SVG file a layer may name, in bytes."""

MAX_LAYER_PX = 8192
"""Largest position or size of a layer's box, in pixels (twice the largest card)."""

_LAYER_MEMO_ENTRIES = 4096


def resolve(template: Template, card: CardInput, settings: RenderSettings) -> CardSpec:
    """Render ``template``'s layout for ``card`` into a spec (see ``Template.resolve``)."""
    resolver: _Resolver | None = template.memo.get(("resolver", settings))
    if resolver is None:
        resolver = template.memo[("resolver", settings)] = _Resolver(template, settings)
    return resolver.resolve(card)


class _Resolver:
    """What resolving with one template and one set of settings keeps from card to card."""

    def __init__(self, template: Template, settings: RenderSettings) -> None:
        self.template = template
        self.settings = settings
        self.extra = tuple(FontFace(Path(p)) for p in settings.fonts)
        self.chains: dict[tuple[FontFace, bool, str], FontChain] = {}
        self.svg_sources: dict[Path, jinja2.Template] = {}
        # A layer that reads only site-wide values (background, logo, site name) resolves once:
        # its memo key holds exactly the values the layer reads.
        self.layer_memo: dict[tuple[object, ...], Layer | None] = {}
        self.missing_told: set[tuple[str, str]] = set()
        """(layer, character) pairs already warned of: one line each, not one per card."""

    def resolve(self, card: CardInput) -> CardSpec:
        from ..spec import CardSpec

        template = self.template
        context = template.context(card)
        encoded: dict[str, str] = {}

        def value_of(name: str) -> str:
            text = encoded.get(name)
            if text is None:
                text = encoded[name] = json.dumps(context.get(name), sort_keys=True, default=str)
            return text

        layers: list[Layer] = []
        for index, source in enumerate(template.layers):
            memo_key = None if source.variables is None else (index, *(value_of(n) for n in source.variables))
            if memo_key is not None and memo_key in self.layer_memo:
                layer = self.layer_memo[memo_key]
            else:
                layer = self._layer(source, context, card)
                if memo_key is not None:
                    if len(self.layer_memo) >= _LAYER_MEMO_ENTRIES:
                        self.layer_memo.clear()
                    self.layer_memo[memo_key] = layer
            if layer is not None:
                layers.append(layer)
        return CardSpec(template.width, template.height, tuple(layers), self.settings.output, template.digest)

    def _layer(self, source: LayerSource, context: Mapping[str, Any], card: CardInput) -> Layer | None:
        if "when" in source.fields:
            flag = render_value(source.fields["when"], context, f"{source.where}.when")
            if str(flag).strip().lower() in FALSY:
                return None
        values = {}
        for name, (coerce, default) in SCHEMA[source.kind].items():
            where = f"{source.where}.{name}"
            raw = render_value(source.fields[name], context, where) if name in source.fields else default
            if raw is CARD_SIZE:
                raw = self.template.width if name == "width" else self.template.height
            if raw is REQUIRED:
                raise TemplateError(f"{source.where}: the field '{name}' is required for a {source.kind} layer")
            values[name] = coerce(raw, where)
        return self._build(source, values, context, card)

    def _build(
        self, source: LayerSource, v: dict[str, Any], context: Mapping[str, Any], card: CardInput
    ) -> Layer | None:
        from ..spec import BackgroundLayer, ImageLayer, RectLayer, SvgLayer, TextLayer

        kind, where = source.kind, source.where
        if kind == "background":
            image = self._asset(v["image"], card, where) if v["image"] else None
            return BackgroundLayer(v["color"], v["gradient_to"], v["angle"], image, v["fit"], v["opacity"])
        if kind == "rect":
            return RectLayer(_box(v, where), v["fill"], v["radius"], v["outline"], v["outline_width"])
        if kind in ("image", "svg"):
            if not v["file"].strip():
                return None
            path = self._path(v["file"], card, where)
            if kind == "svg" or path.suffix.lower() == ".svg":
                markup = self._svg(path, context, where, templated=kind == "svg")
                if v["tint"] is not None:
                    markup = tint_monochrome(markup, v["tint"])
                return SvgLayer(markup, path, _box(v, where), v["opacity"])
            return ImageLayer(self._asset(v["file"], card, where), _box(v, where), v["fit"], v["radius"], v["opacity"])
        text = clean_text(v["text"], markup=v["markup"] == "true")
        if not text:
            return None
        primary = FontFace(template_font(v["font"], self.template.root, where))
        text, faces = self._fonts(text, primary, v["weight"] == "bold", where, cjk_region(card.lang))
        if not text:
            return None
        low, high = v["size"]
        direction = v["direction"]
        if direction == "auto" and card.direction.strip().lower() in ("ltr", "rtl"):
            direction = card.direction.strip().lower()  # the page's own, where the layer leaves it open
        return TextLayer(
            text, faces, v["color"], _box(v, where), high, low, v["line_height"], max(1, v["max_lines"]),
            v["align"], v["valign"], direction,
        )  # fmt: skip

    def _fonts(
        self, text: str, primary: FontFace, bold: bool, where: str, region: str
    ) -> tuple[str, tuple[FontFace, ...]]:
        """The text less what no font can draw, and the faces that draw the rest."""
        chain = self.chains.get((primary, bold, region))
        if chain is None:
            chain = self.chains[(primary, bold, region)] = FontChain.build(
                primary, bold=bold, extra=self.extra, system=self.settings.system_fonts, region=region
            )
        used = {0}
        ellipsis = chain.face_for(ELLIPSIS)  # the typesetter may need it to cut the text
        if ellipsis is not None:
            used.add(ellipsis)
        parts = clusters(text)
        faces = {part: chain.face_for(part) for part in set(parts)}
        used.update(index for index in faces.values() if index is not None)
        kept = [part for part in parts if faces[part] is not None]
        missing = [part for part in parts if faces[part] is None]
        if missing:
            strict = self.settings.strict
            # Without an emoji font, a site whose titles carry emoji would get a line per card.
            new = missing if strict else [m for m in dict.fromkeys(missing) if (where, m) not in self.missing_told]
            if new:
                shown = ", ".join(f"U+{ord(m[0]):04X} {m!r}" for m in dict.fromkeys(new))
                message = (
                    f"{where}: no font in the fallback chain has {shown}; left out. "
                    "Install a font that covers it (see the docs) or add one with --font / 'fonts'."
                )
                if strict:
                    raise MissingGlyphError(message)
                self.missing_told.update((where, m) for m in new)
                logger.warning(message + " (said once per character and layer)")
        return " ".join("".join(kept).split()), tuple(chain.faces[i] for i in sorted(used))

    def _path(self, value: str, card: CardInput, where: str) -> Path:
        """A file a layer names: inside the template folder, or the configured logo."""
        name = value.strip()
        if card.logo is not None and "\0" not in name:
            logo = Path(card.logo)
            given = Path(name) if Path(name).is_absolute() else self.template.root / name
            try:
                is_logo = given == logo or given.resolve() == logo.resolve()
            except (OSError, ValueError, RuntimeError):
                is_logo = False  # not a name a file can have: locate() below says so
            if is_logo:
                check_regular(logo, f"{where} (the logo)")
                return logo.resolve()
        return locate(self.template.root, name, where, "the template folder")

    def _asset(self, value: str, card: CardInput, where: str) -> Asset:
        from ..spec import Asset

        path = self._path(value, card, where)
        try:
            return Asset(path, file_digest(path))
        except OSError as exc:
            raise AssetError(f"{where}: cannot read {path}: {exc}") from None

    def _svg(self, path: Path, context: Mapping[str, Any], where: str, *, templated: bool) -> str:
        try:
            source = self.svg_sources.get(path) if templated else None
            if source is None:
                text = read_capped(path, where, MAX_SVG_BYTES).decode("utf-8")
                if not templated:
                    return text
                source = self.svg_sources[path] = SVG_ENV.bounded(text)
        except UnicodeDecodeError:
            raise AssetError(f"{where}: {path} is not UTF-8 text, so not an SVG file") from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"{path}: Jinja2 syntax error: {exc.message} (line {exc.lineno})") from None
        try:
            return render_bounded(source, context)
        except (jinja2.TemplateError, TemplateError) as exc:
            raise TemplateError(f"{path}: {exc}") from None


def _box(v: Mapping[str, Any], where: str) -> Box:
    """A layer's box; one far larger than any card would only cost memory and time to draw."""
    from ..spec import Box

    if not all(abs(v[name]) <= MAX_LAYER_PX for name in ("x", "y", "width", "height")):
        raise TemplateError(
            f"{where}: x, y, width and height must lie within {MAX_LAYER_PX} pixels, got "
            f"{v['x']}, {v['y']}, {v['width']}, {v['height']}"
        )
    return Box(v["x"], v["y"], max(1, v["width"]), max(1, v["height"]))


_COLOR_USE = re.compile(
    r"""\b(fill|stroke|stop-color|color)(\s*[:=]\s*["']?\s*)(#[0-9a-fA-F]{3,8}\b|rgba?\([^)]*\)|[a-zA-Z]+\b)"""
)
_NOT_A_COLOR = {"none", "transparent", "currentcolor", "inherit", "url"}
_ROOT = re.compile(r"<svg\b[^>]*>")


def tint_monochrome(markup: str, color: Color) -> str:
    """A one-colour SVG (an icon) drawn in ``color``; an SVG of several colours as it is.

    Icons usually name no colour at all (so they draw black) or one: both take the tint,
    as a logo must read on the card's background.
    """
    tint = "#{:02x}{:02x}{:02x}".format(*color[:3])
    used = {match.group(3).lower() for match in _COLOR_USE.finditer(markup)} - _NOT_A_COLOR
    if len(used) > 1:
        return markup
    markup = _COLOR_USE.sub(lambda m: m[1] + m[2] + (tint if m[3].lower() in used else m[3]), markup)
    root = _ROOT.search(markup)
    if root is None or re.search(r"\sfill\s*=", root.group(0)):
        return markup
    return f'{markup[: root.start() + 4]} fill="{tint}"{markup[root.start() + 4 :]}'
