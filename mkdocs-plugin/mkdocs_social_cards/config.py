"""The plugin's options, validated by MkDocs' config system, and the settings made from them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mkdocs.config import config_options as c
from mkdocs.config.base import Config

from social_cards import OutputFormat, SocialCardsError
from social_cards.fontfile import check_font
from social_cards.material import LAYOUTS, UNSUPPORTED_OPTIONS, layout_options
from social_cards.model import RenderSettings
from social_cards.place import relative_path
from social_cards.store import CACHE_DIR_ENV, DEFAULT_CACHE_DIR

__all__ = ["PluginConfig", "Settings", "check_cards_dir", "settings_from"]


def _unused(key: str) -> c.Deprecated:
    return c.Deprecated(message=f"social-cards: '{{}}' has no use here: {UNSUPPORTED_OPTIONS[key]}")


class PluginConfig(Config):  # type: ignore[no-untyped-call]
    enabled = c.Type(bool, default=True)
    """Set to false to build without cards (for example in a quick local preview)."""
    template = c.Optional(c.Type(str))
    """A built-in template name (`social-cards templates` lists them), or a template folder relative to mkdocs.yml
    (default: `default`; `material` for a configuration that brings Material's social options)."""
    options = c.Type(dict, default={})
    """Template options such as colours, for every page (a page's `social: options` wins)."""
    fonts = c.ListOfItems(c.Type(str), default=[])
    """Extra fallback font files, relative to mkdocs.yml, tried after the bundled fonts."""
    system_fonts = c.Type(bool, default=True)
    """Let installed fonts (emoji, CJK, ...) draw characters the template's fonts lack."""
    logo = c.Optional(c.Type(str))
    """A logo file relative to mkdocs.yml (default: the theme's logo)."""
    cache_dir = c.Optional(c.Type(str))
    """The card cache, relative to mkdocs.yml (default: $SOCIAL_CARDS_CACHE_DIR, else .cache/social-cards)."""
    cards_dir = c.Type(str, default="assets/images/social")
    """Where cards go inside the site."""
    card_names = c.Choice(("page", "hash"), default="page")
    """`page`: a card is named after its page (posts/foo.png); `hash`: after its content key, for cache-busting."""
    include = c.ListOfItems(c.Type(str), default=[])
    """Globs on page source paths (`blog/**`); when given, only matching pages get cards."""
    exclude = c.ListOfItems(c.Type(str), default=[])
    """Globs on page source paths that get no card (`drafts/**`, `**/index.md`)."""
    format = c.Choice(("png", "jpeg", "webp"), default="png")
    """The card file format."""
    workers = c.Optional(c.Type(int))
    """Processes drawing cards (default: all cores)."""
    strict = c.Type(bool, default=False)
    """Fail the build when a card cannot be made (default: warn, leave that page without a card, go on)."""
    remote_cache = c.Optional(c.Type(str))
    """A shared cache behind the local one (`s3://bucket/prefix`, `https://host/path`); default:
    $SOCIAL_CARDS_REMOTE_CACHE. Credentials come from the environment, never from here."""
    remote_cache_mode = c.Choice(("read-write", "read"), default="read-write")
    """`read`: use the shared cache but never upload (for untrusted builds such as forks' pull requests)."""

    # Material's social plugin's names, understood so that a site can switch by renaming the plugin.
    cards = c.Type(bool, default=True)
    """Material's name: `false` builds without cards."""
    cards_layout = c.Optional(c.Type(str))
    """Material's layout: `default` and `default/variant` draw with `material`, `default/accent` with `accent`."""
    cards_layout_options = c.Type(dict, default={})
    """Material's `background_color` and `color` (template options), `title`, `description` and `logo`."""
    cards_include = c.ListOfItems(c.Type(str), default=[])
    """Material's name for `include`."""
    cards_exclude = c.ListOfItems(c.Type(str), default=[])
    """Material's name for `exclude`."""
    concurrency = c.Optional(c.Type(int))
    """Material's name for `workers`."""
    # Material's options with no use here: each gets one message naming what to use instead.
    cards_layout_dir = _unused("cards_layout_dir")
    cache = _unused("cache")
    debug = _unused("debug")
    debug_on_build = _unused("debug_on_build")
    debug_grid = _unused("debug_grid")
    debug_grid_step = _unused("debug_grid_step")
    debug_color = _unused("debug_color")
    log = _unused("log")
    log_level = _unused("log_level")


@dataclass(frozen=True, slots=True)
class Settings:
    """The plugin's options, checked, with every path made absolute from ``mkdocs.yml``."""

    base: Path
    template: str = "default"
    options: Mapping[str, Any] = field(default_factory=dict)
    cards_dir: str = "assets/images/social"
    card_names: str = "page"
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    render: RenderSettings = field(default_factory=RenderSettings)
    logo: Path | None = None
    cache_dir: Path = DEFAULT_CACHE_DIR
    workers: int | None = None
    remote_cache: str | None = None
    remote_cache_mode: str = "read-write"
    title: str = ""
    """A title for every card (Material's `cards_layout_options.title`); a page's own wins."""
    description: str = ""
    messages: tuple[str, ...] = ()
    """What to say once of the configuration (Material's options that have no use here)."""

    @property
    def strict(self) -> bool:
        return self.render.strict


def settings_from(options: PluginConfig | dict[str, Any], base: Path) -> Settings:
    """The checked settings of a plugin configuration; paths are relative to ``base``.

    Raises:
        SocialCardsError: an option is out of range or names a missing file.
    """
    get = options.get
    layout = layout_options(get("cards_layout_options") or {})
    messages = list(layout.messages)
    template = get("template")
    if not template:
        cards_layout = get("cards_layout")
        material = cards_layout is not None or bool(get("cards_layout_options"))
        template = LAYOUTS.get(cards_layout or "default", "material") if material else "default"
        if cards_layout is not None and cards_layout not in LAYOUTS:
            messages.append(
                f"cards_layout {cards_layout!r} is not one of Material's layouts drawn here "
                f"({', '.join(LAYOUTS)}); drawing with 'material' (a layout of your own becomes a template folder)"
            )
    workers = get("workers") or get("concurrency")
    if workers is not None and workers < 1:
        raise SocialCardsError(f"workers must be 1 or more, got {workers}")
    fonts = tuple(check_font((base / str(f)).resolve(), "fonts (relative to mkdocs.yml)") for f in get("fonts") or [])
    logo_name = get("logo") or layout.logo
    logo = (base / str(logo_name)).resolve() if logo_name else None
    if logo is not None and not logo.is_file():
        raise SocialCardsError(f"logo: {logo} is not a file (paths are relative to mkdocs.yml)")
    options_value = {**layout.options, **(get("options") or {})}
    bad = [k for k, v in options_value.items() if isinstance(v, (dict, list))]
    if bad:
        raise SocialCardsError(f"options: {', '.join(map(str, bad))} must be plain values (text, numbers, colours)")
    cache = get("cache_dir") or os.environ.get(CACHE_DIR_ENV)
    render = RenderSettings(
        OutputFormat.named(str(get("format") or "png")), fonts, bool(get("strict")), get("system_fonts") is not False
    )
    return Settings(
        base=base,
        template=str(template),
        options=dict(options_value),
        cards_dir=check_cards_dir(str(get("cards_dir") or "assets/images/social")),
        card_names=str(get("card_names") or "page"),
        include=(*(get("include") or ()), *(get("cards_include") or ())),
        exclude=(*(get("exclude") or ()), *(get("cards_exclude") or ())),
        render=render,
        logo=logo,
        cache_dir=(base / Path(str(cache)).expanduser()) if cache else base / DEFAULT_CACHE_DIR,
        workers=workers,
        remote_cache=get("remote_cache") or None,
        remote_cache_mode=str(get("remote_cache_mode") or "read-write"),
        title=layout.title,
        description=layout.description,
        messages=tuple(messages),
    )


def check_cards_dir(value: str) -> str:
    """``cards_dir`` as a clean relative folder inside the site.

    Raises:
        SocialCardsError: an absolute path, or one that climbs out of the site.
    """
    expected = "cards_dir must be a folder inside the site such as 'assets/images/social'"
    return relative_path(value.rstrip("/\\"), expected).as_posix()
