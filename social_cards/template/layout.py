"""Templates: a folder with a ``layout.toml`` (layers drawn in order) and its own assets.

Every string in a layer may use Jinja2 (``{{ title }}``, ``{% if %}``) against the
page's variables; each string is rendered on its own in a sandbox, so a value can
only ever fill the field it was put in. SVG files a layer names are Jinja2 templates
too, rendered with autoescaping. This module loads a template and checks it against
the schema; :mod:`.resolve` turns it and a card into a ``CardSpec``, and
:mod:`.fingerprint` digests the inputs a resolve reads.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import jinja2
import jinja2.meta

from ..digest import bytes_digest, file_digest
from ..errors import AssetError, SocialCardsError, TemplateError
from ..files import locate, read_capped
from ..model import CardInput, RenderSettings
from ..output import OutputFormat
from ..text import clean_text
from .schema import COMMON, SCHEMA, SVG_ENV, Value, compile_value, variables_of

if TYPE_CHECKING:
    from ..spec import CardSpec

__all__ = [
    "BUILTIN_TEMPLATES_DIR", "LAYOUT_FILE", "Template", "builtin_templates", "load_template", "load_template_near",
]  # fmt: skip

LAYOUT_FILE = "layout.toml"
MAX_LAYOUT_BYTES = 1_000_000
"""Largest ``layout.toml`` a template may have, in bytes."""


def _builtin_dir() -> Path:
    packaged = Path(__file__).parent.parent / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "templates"  # a source checkout


BUILTIN_TEMPLATES_DIR = _builtin_dir()
"""Where the built-in templates live (inside the package once installed)."""


class LayerSource(NamedTuple):
    kind: str
    where: str
    fields: dict[str, Value]
    variables: tuple[str, ...] | None
    """The page variables the layer reads (sorted), or None when that cannot be known."""


def _layer_variables(kind: str, fields: dict[str, Value], root: Path) -> tuple[str, ...] | None:
    names = set().union(*(variables_of(v) for v in fields.values()))
    if kind == "text":
        names |= {"lang", "direction"}  # the page's language picks fonts, its direction the text's base
    if kind == "svg":
        file = fields.get("file")
        if not isinstance(file, str):
            return None
        try:
            text = read_capped(locate(root, file, "svg", "the template folder"), "svg").decode("utf-8")
            names |= jinja2.meta.find_undeclared_variables(SVG_ENV.parse(text))
        except (AssetError, UnicodeDecodeError, jinja2.TemplateSyntaxError):
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
    layers: list[LayerSource] = field(repr=False)
    digest: str
    theme_color: tuple[str, ...] = ()
    """Options a site theme's primary colour fills when the user does not set them."""
    variable_font: bool = field(default=False, repr=False)
    """Whether a layer picks its font with a variable (then nothing but a full resolve knows the inputs)."""
    memo: dict[tuple[object, ...], Any] = field(default_factory=dict, repr=False)
    """What :mod:`.resolve` and :mod:`.fingerprint` work out once per template and settings."""

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
            "lang": card.lang,
            "direction": card.direction,
            "width": self.width,
            "height": self.height,
        }

    def unknown_options(self, names: Iterable[str]) -> str | None:
        """What to say of option names this template does not have (a misspelling, say), or None."""
        unknown = sorted(set(names) - set(self.defaults))
        if not unknown:
            return None
        known = ", ".join(sorted(self.defaults)) or "none"
        return f"{', '.join(unknown)}: not options of template {self.name!r} (it has: {known})"

    def check_options(
        self, options: Mapping[str, object], *, site_name: str = "", logo: Path | None = None,
        output: OutputFormat | None = None,
    ) -> str | None:  # fmt: skip
        """Check a site's options once, as its run starts; returns what to say of unknown names, or None.

        Raises:
            SocialCardsError: ``options: ...`` for a value the template cannot use (a colour that is not one).
        """
        card = CardInput("A title", "A description", site_name, logo=logo, options=CardInput.options_from(options))
        try:
            self.resolve(card, output=output)
        except SocialCardsError as exc:
            raise SocialCardsError(f"options: {exc}") from None
        return self.unknown_options(options)

    def resolve(
        self,
        card: CardInput,
        *,
        output: OutputFormat | None = None,
        fonts: Sequence[Path] = (),
        strict: bool = False,
        system_fonts: bool = True,
    ) -> CardSpec:
        """Render the layout for ``card`` into a :class:`~social_cards.spec.CardSpec`.

        Args:
            card: the page data.
            output: format and encoder settings (PNG by default).
            fonts: extra fallback fonts, tried after the bundled ones.
            strict: raise ``MissingGlyphError`` for a character no font has,
                instead of logging a warning and leaving it out.
            system_fonts: let installed fonts join the fallback chain.

        Raises:
            TemplateError: a field of the layout is not valid for this card.
            FontError: a font file is missing or broken.
            AssetError: an image or SVG file is missing or outside the allowed folders.
        """
        from .resolve import resolve

        return resolve(self, card, _settings(output, fonts, strict, system_fonts))

    def fingerprint(
        self,
        card: CardInput,
        *,
        output: OutputFormat | None = None,
        fonts: Sequence[Path] = (),
        strict: bool = False,
        system_fonts: bool = True,
    ) -> str | None:
        """A digest of every input :meth:`resolve` reads for these arguments, or None.

        Equal fingerprints resolve to equal specs (see :mod:`.fingerprint`). None when
        a layer chooses its font with a variable.
        """
        from .fingerprint import fingerprint

        return fingerprint(self, card, _settings(output, fonts, strict, system_fonts))


def _settings(output: OutputFormat | None, fonts: Sequence[Path], strict: bool, system_fonts: bool) -> RenderSettings:
    return RenderSettings(output or OutputFormat(), tuple(Path(f) for f in fonts), strict, system_fonts)


def builtin_templates() -> dict[str, str]:
    """Names of the built-in templates and their one-line descriptions."""
    out = {}
    for folder in sorted(BUILTIN_TEMPLATES_DIR.iterdir()) if BUILTIN_TEMPLATES_DIR.is_dir() else []:
        if (folder / LAYOUT_FILE).is_file():
            out[folder.name] = load_template(folder).description
    return out


def _picks_font_by_variable(raw_layers: list[Any]) -> bool:
    """Whether a text layer chooses its font with a variable (only a full resolve knows it then)."""
    for raw in raw_layers:
        value = raw.get("font") if raw.get("kind") == "text" else None
        if value is not None and (not isinstance(value, str) or "{{" in value or "{%" in value):
            return True
    return False


def _folder_digest(root: Path) -> str:
    """A digest of every file in the template folder, by path and bytes.

    Every entry must be a regular file inside the folder (a link may point inside it):
    a FIFO, a device or a link out of the folder is refused, never read.
    """
    entries = []
    for dirpath, dirnames, files in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        for name in sorted(files):
            if name.startswith("."):
                continue
            full = Path(dirpath) / name
            relative = full.relative_to(root).as_posix()
            try:
                locate(root, relative, f"{root.name}/{relative}", "the template folder")
            except AssetError as exc:
                raise TemplateError(str(exc)) from None
            entries.append(f"{relative}\0{file_digest(full)}")
    return bytes_digest("\n".join(entries).encode("utf-8"))


def load_template(ref: str | Path) -> Template:
    """Load a built-in template by name, or a template folder by path.

    Raises:
        TemplateError: no such template, or its ``layout.toml`` is invalid.
    """
    text = str(ref)
    root = _template_folder(ref)
    if root is None:
        names = ", ".join(p.name for p in sorted(BUILTIN_TEMPLATES_DIR.iterdir()) if (p / LAYOUT_FILE).is_file())
        raise TemplateError(
            f"unknown template {text!r}: expected a built-in name ({names}) or a folder holding {LAYOUT_FILE}"
        )
    layout_path = root / LAYOUT_FILE
    try:
        doc = tomllib.loads(read_capped(layout_path, str(layout_path), MAX_LAYOUT_BYTES).decode("utf-8"))
    except (AssetError, UnicodeDecodeError) as exc:
        raise TemplateError(f"{layout_path}: cannot read the layout: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"{layout_path}: invalid TOML: {exc}") from None
    return _parse(doc, root.resolve(), layout_path)


def load_template_near(ref: str, base: Path) -> Template:
    """A template named in a file that lives in ``base``: a folder relative to ``base``, else a built-in name.

    Raises:
        TemplateError: no such template, or its ``layout.toml`` is invalid.
    """
    local = _template_folder(base / ref) if ref else None
    return load_template(local if local is not None else ref)


def _template_folder(ref: str | Path) -> Path | None:
    """The folder a template reference names (a built-in name, a folder, or its layout file), or None."""
    text = str(ref)
    try:
        if isinstance(ref, str) and "/" not in text and "\\" not in text:
            candidate = BUILTIN_TEMPLATES_DIR / text
            if (candidate / LAYOUT_FILE).is_file():
                return candidate
        root = Path(ref).expanduser()
        if root.name == LAYOUT_FILE and root.is_file():
            root = root.parent
        return root if (root / LAYOUT_FILE).is_file() else None
    except (OSError, ValueError):  # a name no file system could hold (too long, a NUL)
        return None


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
        if kind not in SCHEMA:
            raise TemplateError(f"{where}: unknown kind {kind!r}; expected one of {', '.join(SCHEMA)}")
        where = f"{where} ({kind})"
        unknown = set(raw) - set(SCHEMA[kind]) - COMMON
        if unknown:
            raise TemplateError(
                f"{where}: unknown field(s) {', '.join(sorted(unknown))}; expected {', '.join(SCHEMA[kind])}"
            )
        fields = {k: compile_value(v, f"{where}.{k}") for k, v in raw.items() if k != "kind"}
        layers.append(LayerSource(kind, where, fields, _layer_variables(kind, fields, root)))
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
        variable_font=_picks_font_by_variable(raw_layers),
    )
