"""Templates: a folder with a ``layout.toml`` (layers drawn in order) and its own assets.

Every string in a layer may use Jinja2 (``{{ title }}``, ``{% if %}``) against the
page's variables; each string is rendered on its own in a sandbox, so a value can
only ever fill the field it was put in. SVG files a layer names are Jinja2 templates
too, rendered with autoescaping. Resolving a template against a :class:`CardInput`
gives a :class:`~social_cards.spec.CardSpec`.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import jinja2
import jinja2.meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .digest import RENDERER_VERSION, bytes_digest, file_digest
from .errors import AssetError, MissingGlyphError, TemplateError
from .fonts import (
    BUNDLED_FONTS_DIR,
    BUNDLED_PREFIX,
    FontChain,
    FontFace,
    fontconfig_listing,
    resolve_font_path,
    system_faces,
    system_fonts_wanted,
)
from .output import OutputFormat
from .text import ELLIPSIS, clean_text, clusters

if TYPE_CHECKING:
    # The spec's classes load with the first resolve (the imports in the methods below):
    # a warm build only fingerprints its pages, and creating them is 4 ms of its start.
    from .spec import Asset, Box, CardSpec, Color, Layer

__all__ = ["BUILTIN_TEMPLATES_DIR", "CardFields", "CardInput", "Template", "builtin_templates", "load_template"]

logger = logging.getLogger(__name__)

LAYOUT_FILE = "layout.toml"
_LAYER_MEMO_ENTRIES = 4096
MAX_SVG_BYTES = 2_000_000
"""Largest SVG file a layer may name, in bytes."""


_SEP = "\x1e"
_SEP_IN_LIST = "\x1f"


def _separators(card: CardFields) -> int:
    """How many list separators the fingerprint text has when no value holds one."""
    authors, tags, categories, options = card.authors, card.tags, card.categories, card.options
    # Plain arithmetic, not a sum over the lists: this runs for every page of a warm build.
    return (
        (len(authors) - 1 if authors else 0)
        + (len(tags) - 1 if tags else 0)
        + (len(categories) - 1 if categories else 0)
        + (2 * len(options) - 1 if options else 0)
    )


def _builtin_dir() -> Path:
    packaged = Path(__file__).parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "templates"  # a source checkout


BUILTIN_TEMPLATES_DIR = _builtin_dir()
"""Where the built-in templates live (inside the package once installed)."""


@dataclass(frozen=True, slots=True)
class CardInput:
    """What a page contributes to its card. Text fields may hold any string.

    ``options`` overrides the template's option defaults (colours and the like);
    ``logo`` is a trusted file path from configuration, the one file outside the
    template folder a layer may draw.
    """

    title: str
    description: str = ""
    site_name: str = ""
    site_url: str = ""
    page_url: str = ""
    date: str = ""
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    logo: Path | None = None
    options: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, fields: CardFields) -> CardInput:
        """The card input holding the values of another object's fields (see :class:`CardFields`)."""
        return cls(*(getattr(fields, name) for name in cls.__dataclass_fields__))

    @staticmethod
    def options_from(mapping: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
        """Options in the frozen form this class keeps (sorted pairs of strings)."""
        return tuple(sorted((str(k), "" if v is None else str(v)) for k, v in mapping.items()))


class CardFields(Protocol):
    """:class:`CardInput`'s fields, on any object: what a fingerprint reads.

    A build keeps each page's fields in an object of its own and makes a
    :class:`CardInput` only for a card it has to resolve.
    """

    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def site_name(self) -> str: ...
    @property
    def site_url(self) -> str: ...
    @property
    def page_url(self) -> str: ...
    @property
    def date(self) -> str: ...
    @property
    def authors(self) -> tuple[str, ...]: ...
    @property
    def tags(self) -> tuple[str, ...]: ...
    @property
    def categories(self) -> tuple[str, ...]: ...
    @property
    def logo(self) -> Path | None: ...
    @property
    def options(self) -> tuple[tuple[str, str], ...]: ...


# --- the layout schema --------------------------------------------------------------

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
        size = _int(value, where)
        return size, size
    if isinstance(value, list) and len(value) == 2:
        low, high = sorted((_int(value[0], where), _int(value[1], where)))
        if low < 4 or high > 1000:
            raise TemplateError(f"{where}: font sizes must lie between 4 and 1000 pixels, got {value!r}")
        return low, high
    raise TemplateError(f"{where}: expected a size or [min, max] sizes in pixels, got {value!r}")


_REQUIRED = object()
_CARD_SIZE = object()
_BOX = {"x": (_int, 0), "y": (_int, 0), "width": (_int, _CARD_SIZE), "height": (_int, _CARD_SIZE)}
_FIT = _choice("cover", "contain", "stretch")
_SCHEMA: dict[str, dict[str, tuple[_Coerce, Any]]] = {
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
        "file": (_text, _REQUIRED),
        "fit": (_FIT, "contain"),
        "radius": (_int, 0),
        "opacity": (_float, 1.0),
    },
    "svg": {**_BOX, "file": (_text, _REQUIRED), "opacity": (_float, 1.0)},
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
        "markup": (_choice("true", "false"), "true"),
    },
}
_COMMON = {"kind", "when"}
_FALSY = {"", "false", "0", "none", "no", "off"}


def _environment(autoescape: bool) -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(autoescape=autoescape, undefined=jinja2.Undefined, keep_trailing_newline=True)


_FIELD_ENV = _environment(False)
_SVG_ENV = _environment(True)


class _Field:
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
            self._compiled = _FIELD_ENV.from_string(self.source)
        return self._compiled.render(context)


_Value = Any  # a static TOML value, or a _Field for a string using variables


def _compile(value: Any, where: str) -> _Value:
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        return _Field(value, where)
    if isinstance(value, list):
        return [_compile(v, where) for v in value]
    return value


def _render(value: _Value, context: Mapping[str, Any], where: str) -> Any:
    if isinstance(value, _Field):
        try:
            return value.render(context)
        except jinja2.TemplateError as exc:
            raise TemplateError(f"{where}: {exc}") from None
    if isinstance(value, list):
        return [_render(v, context, where) for v in value]
    return value


class _Fonts(NamedTuple):  # private types are tuples: a dataclass costs 1.5 ms to define at import
    """How text layers find glyphs: extra fallback faces, strictness, system fonts."""

    extra: tuple[FontFace, ...]
    strict: bool
    system: bool


class _LayerSource(NamedTuple):
    kind: str
    where: str
    fields: dict[str, _Value]
    variables: tuple[str, ...] | None
    """The page variables the layer reads (sorted), or None when that cannot be known."""


def _variables(value: _Value) -> set[str]:
    if isinstance(value, _Field):
        return set(value.variables)
    if isinstance(value, list):
        return set().union(*(_variables(v) for v in value)) if value else set()
    return set()


def _layer_variables(kind: str, fields: dict[str, _Value], root: Path) -> tuple[str, ...] | None:
    names = set().union(*(_variables(v) for v in fields.values()))
    if kind == "svg":
        file = fields.get("file")
        if not isinstance(file, str):
            return None
        try:
            names |= jinja2.meta.find_undeclared_variables(_SVG_ENV.parse((root / file).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, jinja2.TemplateSyntaxError):
            return None  # reported when the layer is resolved
    return tuple(sorted(names))


@dataclass(slots=True)
class Template:
    """A loaded template; resolve it against page data with :meth:`resolve`."""

    name: str
    root: Path
    description: str
    width: int
    height: int
    defaults: dict[str, str]
    layers: list[_LayerSource] = field(repr=False)
    digest: str
    theme_color: tuple[str, ...] = ()
    """Options a site theme's primary colour fills when the user does not set them."""
    _chains: dict[tuple[FontFace, bool, tuple[FontFace, ...], bool], FontChain] = field(
        default_factory=dict, repr=False
    )
    _svg_sources: dict[Path, jinja2.Template] = field(default_factory=dict, repr=False)
    _layer_memo: dict[tuple[object, ...], Layer | None] = field(default_factory=dict, repr=False)
    font_files: tuple[Path, ...] | None = field(default=(), repr=False)
    """Font files outside the template folder that layers name; None when a layer picks
    its font with a variable (then nothing but a full resolve knows the inputs)."""
    _fingerprint_bases: dict[tuple[object, ...], str] = field(default_factory=dict, repr=False)
    _logo_digests: dict[Path, str] = field(default_factory=dict, repr=False)
    _missing_told: set[tuple[str, str]] = field(default_factory=set, repr=False)
    """(layer, character) pairs already warned of: one line each, not one per card."""

    def context(self, card: CardInput) -> dict[str, Any]:
        """The variables layers see for ``card``."""
        options = dict(self.defaults)
        options.update(dict(card.options))
        authors = [clean_text(a) for a in card.authors]
        return {
            "title": clean_text(card.title),
            "description": clean_text(card.description),
            "site_name": clean_text(card.site_name),
            "site_url": card.site_url,
            "page_url": card.page_url,
            "date": clean_text(card.date),
            "authors": authors,
            "author": ", ".join(authors),
            "tags": [clean_text(t) for t in card.tags],
            "categories": [clean_text(c) for c in card.categories],
            "logo": "" if card.logo is None else str(card.logo),
            "options": options,
            "width": self.width,
            "height": self.height,
        }

    def fingerprint(
        self,
        card: CardFields,
        *,
        output: OutputFormat | None = None,
        fonts: Sequence[Path] = (),
        strict: bool = False,
        system_fonts: bool = True,
    ) -> str | None:
        """A digest of every input :meth:`resolve` reads for these arguments, or None.

        Equal fingerprints resolve to equal specs, so a build can remember the key a
        fingerprint led to and skip resolving (about 15 times the cost) next time. It
        covers the page data, the template folder, every font file a layer or ``fonts``
        names, the installed fonts when they take part, the output settings, and this
        package's own code. None when a layer chooses its font with a variable.
        """
        return self.fingerprinter(output=output, fonts=fonts, strict=strict, system_fonts=system_fonts)(card)

    def fingerprinter(
        self,
        *,
        output: OutputFormat | None = None,
        fonts: Sequence[Path] = (),
        strict: bool = False,
        system_fonts: bool = True,
    ) -> Callable[[CardFields], str | None]:
        """:meth:`fingerprint` with these arguments, for many cards.

        What does not depend on the card (the fonts' digests, the settings, whether
        installed fonts take part) is worked out once, at the first card: a build
        fingerprints every page with the same arguments, and lists the installed
        fonts in the background until then.
        """
        settings = (output or OutputFormat(), tuple(fonts), strict, system_fonts_wanted(system_fonts))
        base: str | None = None
        logos = self._logo_digests

        def fingerprint(card: CardFields) -> str | None:
            nonlocal base
            if base is None:
                base = self._fingerprint_base(*settings)
                if base is None:
                    return None
            logo = ""
            if card.logo is not None:
                # Like the folder digest, read once per template load: a build does not see edits it makes itself.
                logo = logos.get(card.logo, "")
                if not logo:
                    try:
                        logo = logos[card.logo] = file_digest(card.logo)
                    except OSError:
                        return None  # resolve reports the missing logo
            # Fields joined by a separator escaped out of the values: cheaper than JSON, just as unambiguous.
            fields = (
                base, card.title, card.description, card.site_name, card.site_url, card.page_url, card.date,
                _SEP_IN_LIST.join(card.authors), _SEP_IN_LIST.join(card.tags), _SEP_IN_LIST.join(card.categories),
                logo, _SEP_IN_LIST.join(_SEP_IN_LIST.join(pair) for pair in card.options),
            )  # fmt: skip
            text = _SEP.join(fields)
            if text.count(_SEP) != len(fields) - 1 or text.count(_SEP_IN_LIST) != _separators(card):
                text = json.dumps(fields, ensure_ascii=False)  # a value holds a separator: fall back to JSON
            return bytes_digest(text.encode("utf-8", "surrogatepass"))

        return fingerprint

    def _fingerprint_base(
        self, output: OutputFormat, fonts: tuple[Path, ...], strict: bool, system: bool
    ) -> str | None:
        """The part of a fingerprint every card shares, or None when there can be no fingerprint."""
        if self.font_files is None:
            return None
        base_key = (output, fonts, strict, system)
        base = self._fingerprint_bases.get(base_key)
        if base is None:
            try:
                font_digests = [file_digest(p) for p in self.font_files], [file_digest(Path(p)) for p in fonts]
            except OSError:
                return None  # resolve reports the missing font
            parts = [
                _code_digest(),
                self.digest,
                font_digests,
                strict,
                _system_fonts_digest() if system else "",
                [output.format, output.colors, output.quality],
            ]
            base = self._fingerprint_bases[base_key] = json.dumps(parts, separators=(",", ":"))
        return base

    def resolve(
        self,
        card: CardInput,
        *,
        output: OutputFormat | None = None,
        fonts: Sequence[Path] = (),
        strict: bool = False,
        system_fonts: bool = True,
    ) -> CardSpec:
        """Render the layout for ``card`` into a :class:`CardSpec`.

        Args:
            card: the page data.
            output: format and encoder settings (PNG by default).
            fonts: extra fallback fonts, tried after the bundled ones.
            strict: raise :class:`MissingGlyphError` for a character no font has,
                instead of logging a warning and leaving it out.
            system_fonts: let installed fonts join the fallback chain.

        Raises:
            TemplateError: a field of the layout is not valid for this card.
            FontError: a font file is missing or broken.
            AssetError: an image or SVG file is missing or outside the allowed folders.
        """
        from .spec import CardSpec

        context = self.context(card)
        policy = _Fonts(tuple(FontFace(Path(p)) for p in fonts), strict, system_fonts)
        encoded: dict[str, str] = {}

        def value_of(name: str) -> str:
            text = encoded.get(name)
            if text is None:
                text = encoded[name] = json.dumps(context.get(name), sort_keys=True, default=str)
            return text

        layers: list[Layer] = []
        for index, source in enumerate(self.layers):
            # A layer that reads only site-wide values (background, logo, site name) resolves
            # once per build: the memo key holds exactly the values the layer reads.
            memo_key: tuple[object, ...] | None = None
            if source.variables is not None:
                memo_key = (index, policy, *(value_of(n) for n in source.variables))
                if memo_key in self._layer_memo:
                    layer = self._layer_memo[memo_key]
                    if layer is not None:
                        layers.append(layer)
                    continue
            layer = self._resolve_layer(source, context, card, policy)
            if memo_key is not None:
                if len(self._layer_memo) >= _LAYER_MEMO_ENTRIES:
                    self._layer_memo.clear()
                self._layer_memo[memo_key] = layer
            if layer is not None:
                layers.append(layer)
        return CardSpec(self.width, self.height, tuple(layers), output or OutputFormat(), self.digest)

    def _resolve_layer(
        self,
        source: _LayerSource,
        context: Mapping[str, Any],
        card: CardInput,
        policy: _Fonts,
    ) -> Layer | None:
        if "when" in source.fields:
            flag = _render(source.fields["when"], context, f"{source.where}.when")
            if str(flag).strip().lower() in _FALSY:
                return None
        values = {}
        for name, (coerce, default) in _SCHEMA[source.kind].items():
            raw = _render(source.fields[name], context, f"{source.where}.{name}") if name in source.fields else default
            if raw is _CARD_SIZE:
                raw = self.width if name == "width" else self.height
            if raw is _REQUIRED:
                raise TemplateError(f"{source.where}: the field '{name}' is required for a {source.kind} layer")
            values[name] = coerce(raw, f"{source.where}.{name}")
        return self._layer(source, values, context, card, policy)

    def _layer(
        self,
        source: _LayerSource,
        v: dict[str, Any],
        context: Mapping[str, Any],
        card: CardInput,
        policy: _Fonts,
    ) -> Layer | None:
        from .spec import BackgroundLayer, ImageLayer, RectLayer, SvgLayer, TextLayer

        kind = source.kind
        if kind == "background":
            image = self._asset(v["image"], card, source.where) if v["image"] else None
            return BackgroundLayer(v["color"], v["gradient_to"], v["angle"], image, v["fit"], v["opacity"])
        if kind == "rect":
            return RectLayer(self._box(v), v["fill"], v["radius"], v["outline"], v["outline_width"])
        if kind in ("image", "svg"):
            if not v["file"].strip():
                return None
            path = self._path(v["file"], card, source.where)
            if kind == "svg" or path.suffix.lower() == ".svg":
                return SvgLayer(
                    self._svg(path, context, source.where, templated=kind == "svg"),
                    path,
                    self._box(v),
                    v["opacity"],
                )
            return ImageLayer(
                self._asset(v["file"], card, source.where), self._box(v), v["fit"], v["radius"], v["opacity"]
            )
        text = clean_text(v["text"], markup=v["markup"] == "true")
        if not text:
            return None
        primary = FontFace(resolve_font_path(v["font"], self.root))
        text, faces = self._fonts(text, primary, v["weight"] == "bold", policy, source.where)
        if not text:
            return None
        low, high = v["size"]
        return TextLayer(
            text, faces, v["color"], self._box(v), high, low, v["line_height"], max(1, v["max_lines"]),
            v["align"], v["valign"], v["direction"],
        )  # fmt: skip

    @staticmethod
    def _box(v: Mapping[str, Any]) -> Box:
        from .spec import Box

        return Box(v["x"], v["y"], max(1, v["width"]), max(1, v["height"]))

    def _fonts(
        self,
        text: str,
        primary: FontFace,
        bold: bool,
        policy: _Fonts,
        where: str,
    ) -> tuple[str, tuple[FontFace, ...]]:
        chain_key = (primary, bold, policy.extra, policy.system)
        chain = self._chains.get(chain_key)
        if chain is None:
            chain = self._chains[chain_key] = FontChain.build(
                primary, bold=bold, extra=policy.extra, system=policy.system
            )
        used = {0}
        ellipsis = chain.face_for(ELLIPSIS)  # the typesetter may need it to cut the text
        if ellipsis is not None:
            used.add(ellipsis)
        parts = clusters(text)
        faces = {part: chain.face_for(part) for part in set(parts)}  # titles repeat their letters
        used.update(index for index in faces.values() if index is not None)
        kept = [part for part in parts if faces[part] is not None]
        missing = [part for part in parts if faces[part] is None] if len(kept) < len(parts) else []
        if missing:
            # Without an emoji font, a site whose titles carry emoji would get a line per card.
            told = self._missing_told
            new = missing if policy.strict else [m for m in dict.fromkeys(missing) if (where, m) not in told]
            if new:
                shown = ", ".join(f"U+{ord(m[0]):04X} {m!r}" for m in dict.fromkeys(new))
                message = (
                    f"{where}: no font in the fallback chain has {shown}; left out. "
                    "Install a font that covers it (see the README) or add one with --font / 'fonts'."
                )
                if policy.strict:
                    raise MissingGlyphError(message)
                told.update((where, m) for m in new)
                logger.warning(message + " (said once per character and layer)")
        return " ".join("".join(kept).split()), tuple(chain.faces[i] for i in sorted(used))

    def _path(self, value: str, card: CardInput, where: str) -> Path:
        """A file a layer names: inside the template folder, or the configured logo."""
        raw = Path(value.strip()).expanduser()
        path = raw if raw.is_absolute() else self.root / raw
        try:
            resolved = path.resolve(strict=True)
        except (OSError, RuntimeError):
            raise AssetError(f"{where}: file not found: {path}") from None
        if card.logo is not None and resolved == Path(card.logo).expanduser().resolve():
            return resolved
        root = self.root.resolve()
        if not resolved.is_relative_to(root):
            raise AssetError(
                f"{where}: {value!r} is outside the template folder {root}; layers may only use files in "
                "their template folder, or the configured logo"
            )
        if not resolved.is_file():
            raise AssetError(f"{where}: not a file: {resolved}")
        return resolved

    def _asset(self, value: str, card: CardInput, where: str) -> Asset:
        from .spec import Asset

        path = self._path(value, card, where)
        try:
            return Asset(path, file_digest(path))
        except OSError as exc:
            raise AssetError(f"{where}: cannot read {path}: {exc}") from None

    def _svg(self, path: Path, context: Mapping[str, Any], where: str, *, templated: bool) -> str:
        try:
            if path.stat().st_size > MAX_SVG_BYTES:
                raise AssetError(f"{where}: {path} is larger than {MAX_SVG_BYTES} bytes")
            if not templated:
                return path.read_text(encoding="utf-8")
            source = self._svg_sources.get(path)
            if source is None:
                source = self._svg_sources[path] = _SVG_ENV.from_string(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise AssetError(f"{where}: cannot read SVG {path}: {exc}") from None
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"{path}: Jinja2 syntax error: {exc.message} (line {exc.lineno})") from None
        try:
            return source.render(context)
        except jinja2.TemplateError as exc:
            raise TemplateError(f"{path}: {exc}") from None


def builtin_templates() -> dict[str, str]:
    """Names of the built-in templates and their one-line descriptions."""
    out = {}
    for folder in sorted(BUILTIN_TEMPLATES_DIR.iterdir()) if BUILTIN_TEMPLATES_DIR.is_dir() else []:
        if (folder / LAYOUT_FILE).is_file():
            out[folder.name] = load_template(folder).description
    return out


@functools.lru_cache(maxsize=1)
def _code_digest() -> str:
    """This package's code and bundled fonts: a change to either may change what a resolve gives."""
    package = Path(__file__).parent
    files = sorted(package.glob("*.py")) + sorted(p for p in BUNDLED_FONTS_DIR.iterdir() if p.is_file())
    parts = [str(RENDERER_VERSION), *(f"{p.name}\0{file_digest(p)}" for p in files)]
    return bytes_digest("\n".join(parts).encode("utf-8"))


@functools.lru_cache(maxsize=1)
def _system_fonts_digest() -> str:
    """The installed fallback fonts: every face fontconfig lists, with its file's size and modification time.

    Which of them a card can use follows from that listing (and this package's code),
    so a digest of the listing is enough, and it skips choosing among them: 2 ms
    instead of 10 for 321 fonts. Without fontconfig, the faces found by scanning the
    font folders, by path, face, size and modification time. Once per process.
    """
    listing = fontconfig_listing()
    parts = []
    if listing is not None:
        for line in sorted(set(listing.splitlines())):
            try:
                st = os.stat(line.split("\t", 1)[0])  # noqa: PTH116 (a Path per font costs more than the digest)
            except OSError:
                continue
            parts.append(f"{line}\0{st.st_size}\0{st.st_mtime_ns}")
        return bytes_digest("\n".join(parts).encode("utf-8", "replace"))
    for bold in (False, True):
        for face in system_faces(bold):
            try:
                st = face.path.stat()
            except OSError:
                continue
            parts.append(f"{bold}\0{face.path}\0{face.index}\0{st.st_size}\0{st.st_mtime_ns}")
    return bytes_digest("\n".join(parts).encode("utf-8", "replace"))


def _font_files(raw_layers: list[Any], root: Path) -> tuple[Path, ...] | None:
    """Fonts outside ``root`` that text layers name (the folder digest covers the rest)."""
    found: list[Path] = []
    for raw in raw_layers:
        if raw.get("kind") != "text" or "font" not in raw:
            continue
        value = raw["font"]
        if not isinstance(value, str) or "{{" in value or "{%" in value:
            return None
        if value.startswith(BUNDLED_PREFIX):
            continue
        path = Path(value).expanduser()
        path = path if path.is_absolute() else root / path
        if not path.resolve().is_relative_to(root):
            found.append(path)
    return tuple(found)


def _folder_digest(root: Path) -> str:
    entries = []
    for dirpath, dirnames, files in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        for name in sorted(files):
            if name.startswith("."):
                continue
            full = Path(dirpath) / name
            entries.append(f"{full.relative_to(root).as_posix()}\0{file_digest(full)}")
    return bytes_digest("\n".join(entries).encode("utf-8"))


def load_template(ref: str | Path) -> Template:
    """Load a built-in template by name, or a template folder by path.

    Raises:
        TemplateError: no such template, or its ``layout.toml`` is invalid.
    """
    text = str(ref)
    candidate = BUILTIN_TEMPLATES_DIR / text
    if isinstance(ref, str) and "/" not in text and "\\" not in text and (candidate / LAYOUT_FILE).is_file():
        root = candidate
    else:
        root = Path(ref).expanduser()
        if root.is_file() and root.name == LAYOUT_FILE:
            root = root.parent
        if not (root / LAYOUT_FILE).is_file():
            names = ", ".join(p.name for p in sorted(BUILTIN_TEMPLATES_DIR.iterdir()) if (p / LAYOUT_FILE).is_file())
            raise TemplateError(
                f"unknown template {text!r}: expected a built-in name ({names}) or a folder holding {LAYOUT_FILE}"
            )
    layout_path = root / LAYOUT_FILE
    try:
        doc = tomllib.loads(layout_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"{layout_path}: cannot read the layout: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{layout_path}: invalid TOML: {exc}") from None
    return _parse(doc, root.resolve(), layout_path)


def _parse(doc: dict[str, Any], root: Path, layout_path: Path) -> Template:
    width, height = doc.get("width", 1200), doc.get("height", 630)
    if not (isinstance(width, int) and isinstance(height, int) and 16 <= width <= 4096 and 16 <= height <= 4096):
        raise TemplateError(f"{layout_path}: width and height must be whole numbers from 16 to 4096 pixels")
    options = doc.get("options", {})
    if not isinstance(options, dict):
        raise TemplateError(f"{layout_path}: [options] must be a table of default option values")
    theme_color = doc.get("theme_color", [])
    theme_color = [theme_color] if isinstance(theme_color, str) else theme_color
    if not isinstance(theme_color, list) or not all(isinstance(n, str) and n in options for n in theme_color):
        raise TemplateError(
            f"{layout_path}: theme_color must name options of [options] (a name or a list of names), "
            f"got {doc.get('theme_color')!r}"
        )
    raw_layers = doc.get("layers")
    if not isinstance(raw_layers, list) or not raw_layers:
        raise TemplateError(f"{layout_path}: expected at least one [[layers]] table")
    layers = []
    for n, raw in enumerate(raw_layers, start=1):
        where = f"{layout_path.parent.name}/{LAYOUT_FILE} layer {n}"
        if not isinstance(raw, dict):
            raise TemplateError(f"{where}: expected a table")
        kind = raw.get("kind")
        if kind not in _SCHEMA:
            raise TemplateError(f"{where}: unknown kind {kind!r}; expected one of {', '.join(_SCHEMA)}")
        where = f"{where} ({kind})"
        unknown = set(raw) - set(_SCHEMA[kind]) - _COMMON
        if unknown:
            raise TemplateError(
                f"{where}: unknown field(s) {', '.join(sorted(unknown))}; expected {', '.join(_SCHEMA[kind])}"
            )
        fields = {k: _compile(v, f"{where}.{k}") for k, v in raw.items() if k != "kind"}
        layers.append(_LayerSource(kind, where, fields, _layer_variables(kind, fields, root)))
    return Template(
        name=str(doc.get("name", root.name)),
        root=root,
        description=str(doc.get("description", "")),
        width=width,
        height=height,
        defaults={str(k): str(v) for k, v in options.items()},
        layers=layers,
        theme_color=tuple(theme_color),
        digest=_folder_digest(root),
        font_files=_font_files(raw_layers, root),
    )
