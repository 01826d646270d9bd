"""The MkDocs plugin in real `mkdocs build` runs of fixture sites in temporary folders."""

from __future__ import annotations

import html.parser
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote

import pytest
from conftest import alive, decode, descendants

SUMMARY = re.compile(r"social-cards: (\d+) cards \((\d+) cached, (\d+) drawn\) in \d+\.\d+ s")


class _Head(html.parser.HTMLParser):
    """Every meta tag of a page: name -> list of contents (a duplicate shows as two)."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            a = dict(attrs)
            name = a.get("property") or a.get("name")
            if name and a.get("content") is not None:
                self.meta.setdefault(name, []).append(a["content"] or "")


def meta_of(page: Path) -> dict[str, str]:
    parser = _Head()
    parser.feed(page.read_text(encoding="utf-8"))
    duplicated = [k for k, v in parser.meta.items() if len(v) > 1 and k.startswith(("og:", "twitter:"))]
    assert not duplicated, f"duplicated tags in {page}: {duplicated}"
    return {k: v[0] for k, v in parser.meta.items()}


def write_site(root: Path, config: str, pages: dict[str, str]) -> Path:
    for name, text in pages.items():
        path = root / "docs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "mkdocs.yml").write_text(config, encoding="utf-8")
    return root / "mkdocs.yml"


def build(
    config: Path, cwd: Path | None = None, *extra: str, env: dict[str, str] | None = None
) -> tuple[str, tuple[int, int, int]]:
    """Run `mkdocs build -f config` from another folder; the log and the summary counts."""
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-f", str(config), *extra],
        capture_output=True, text=True, cwd=cwd or config.parent.parent, timeout=300, check=False,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    found = SUMMARY.search(result.stderr)
    counts = (int(found[1]), int(found[2]), int(found[3])) if found else (-1, -1, -1)
    return result.stderr, counts


def failed_build(config: Path) -> str:
    """Run `mkdocs build -f config`, which must fail with a clear message and no traceback; its log."""
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-f", str(config)], capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    return result.stderr


def card_file(site: Path, url: str) -> Path:
    """The file an og:image URL of https://example.org/docs/ points to."""
    prefix = "https://example.org/docs/"
    assert url.startswith(prefix), url
    return site / unquote(url[len(prefix) :])


BASIC_PAGES = {
    "index.md": "# Home\n\nWelcome.\n",
    "guide/setup.md": "---\ndescription: 'Quotes \" & <b>bold</b> > all'\n---\n# Set up *fast* 😃\n\nText.\n",
    "guide/café.md": "# Café ☕ — ünïcödé\n\nText.\n",
    "notes/skip.md": "---\nsocial:\n  cards: false\n---\n# Skipped\n",
    "notes/custom.md": (
        "---\nsocial:\n  title: A title only the card shows\n  description: Card text\n"
        "  template: blog\n  options:\n    accent: '#ff0000'\n---\n# Page heading\n"
    ),
}
BASIC_CONFIG = "site_name: Fixture Docs\nsite_url: https://example.org/docs/\nplugins:\n  - social-cards\n"


def test_every_page_gets_a_card_and_escaped_tags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """mkdocs theme, -f from elsewhere: each page has all tags once, escaped, and an image that decodes."""
    monkeypatch.delenv("SOCIAL_CARDS_CACHE_DIR")  # the default cache: next to mkdocs.yml
    config = write_site(tmp_path / "project", BASIC_CONFIG, BASIC_PAGES)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    log, counts = build(config, elsewhere)
    assert counts == (4, 0, 4), log
    site = config.parent / "site"
    assert (config.parent / ".cache/social-cards").is_dir() and not (elsewhere / ".cache").exists()
    for page in ["index.html", "guide/setup/index.html", "guide/café/index.html", "notes/custom/index.html"]:
        meta = meta_of(site / page)
        for name in ["og:image", "og:image:width", "og:image:height", "og:image:type", "og:image:alt", "og:title",
                     "og:description", "og:url", "og:type", "twitter:card", "twitter:image", "twitter:title",
                     "twitter:description"]:  # fmt: skip
            assert name in meta, (page, name)
        assert meta["twitter:card"] == "summary_large_image" and meta["og:image"] == meta["twitter:image"]
        image = decode(card_file(site, meta["og:image"]).read_bytes())
        assert image.size == (int(meta["og:image:width"]), int(meta["og:image:height"])) == (1200, 630)
    setup = meta_of(site / "guide/setup/index.html")
    assert setup["og:title"] == "Set up fast 😃"
    assert setup["og:description"] == 'Quotes " & bold > all'
    assert setup["og:url"] == "https://example.org/docs/guide/setup/"
    assert setup["og:image"] == "https://example.org/docs/assets/images/social/guide/setup.png"
    raw = (site / "guide/setup/index.html").read_text()
    assert "<b>bold</b>" not in raw.split("</head>")[0] and "&quot;" in raw
    assert meta_of(site / "guide/café/index.html")["og:image"].endswith("/guide/caf%C3%A9.png")
    custom = meta_of(site / "notes/custom/index.html")
    assert custom["og:title"] == "A title only the card shows" and custom["og:description"] == "Card text"
    assert "og:image" not in meta_of(site / "notes/skip/index.html")
    assert not (site / "assets/images/social/notes/skip.png").exists()


def test_warm_rebuild_draws_nothing_and_an_edit_draws_one(tmp_path: Path) -> None:
    """A second build logs 0 drawn; changing one title logs 1 drawn; the summary is one INFO line."""
    config = write_site(tmp_path, BASIC_CONFIG, BASIC_PAGES)
    build(config)
    log, counts = build(config)
    assert counts == (4, 4, 0)
    assert len(SUMMARY.findall(log)) == 1 and re.search(r"INFO +- +social-cards: 4 cards \(4 cached, 0 drawn\)", log)
    before = (config.parent / "site/assets/images/social/index.png").read_bytes()
    (config.parent / "docs/index.md").write_text("# Home, renamed\n\nWelcome.\n")
    _, counts = build(config)
    assert counts == (4, 3, 1)
    assert (config.parent / "site/assets/images/social/index.png").read_bytes() != before


# What only resolving and drawing need: a warm build recalls every card by its fingerprint, so it
# resolves nothing and draws nothing, and starts no drawing process.
_DRAWING_MODULES = ("PIL", "cairosvg", "multiprocessing", "social_cards.spec", "social_cards.renderer",
                    "social_cards.typesetter", "social_cards.vector")  # fmt: skip


def cache_file_of(card: Path) -> Path:
    """The cache's own file of a card placed in a site (the one with the same bytes)."""
    data = card.read_bytes()
    (found,) = [p for p in Path(os.environ["SOCIAL_CARDS_CACHE_DIR"]).glob("v*/cards/*/*") if p.read_bytes() == data]
    return found


def test_a_warm_build_loads_no_drawing_code(tmp_path: Path) -> None:
    """A warm build imports neither Pillow, CairoSVG, the card spec's classes nor the process pool
    machinery, and keeps no page alive once it is over."""
    config = write_site(tmp_path, BASIC_CONFIG, BASIC_PAGES)
    build(config)
    loaded = tmp_path / "modules.json"
    script = tmp_path / "build.py"
    script.write_text(
        "import atexit, gc, json, runpy, sys\n"
        "def report():\n"
        "    gc.collect()\n"
        "    pages = sum(type(o).__name__ == 'Page' for o in gc.get_objects())\n"
        f"    open({str(loaded)!r}, 'w').write(json.dumps({{'modules': sorted(sys.modules), 'pages': pages}}))\n"
        "atexit.register(report)\n"
        f"sys.argv = ['mkdocs', 'build', '-f', {str(config)!r}]\n"
        "runpy.run_module('mkdocs', run_name='__main__')\n"
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    found = SUMMARY.search(result.stderr)
    assert found is not None and found.groups() == ("4", "4", "0"), result.stderr
    found_after = json.loads(loaded.read_text())
    modules = found_after["modules"]
    assert "social_cards.store" in modules  # the build did load the plugin
    assert [m for m in modules if m.startswith(_DRAWING_MODULES)] == []
    # MkDocs keeps its plugins until the process ends: the plugin lets go of the build's pages.
    assert found_after["pages"] == 0


def test_a_damaged_cache_entry_is_redrawn_in_a_warm_build(tmp_path: Path) -> None:
    """Cards are verified while pages are written; one damaged since the last build is drawn again, not served."""
    config = write_site(tmp_path, BASIC_CONFIG, BASIC_PAGES)
    build(config)
    card = config.parent / "site/assets/images/social/guide/setup.png"
    good = card.read_bytes()
    cache_file_of(card).write_bytes(good[:-10] + bytes(10))
    log, counts = build(config, None, "--strict")  # a damaged entry is recovered from: no warning
    assert counts == (4, 3, 1), log
    assert "1 damaged cache entries were dropped and drawn again" in log
    assert card.read_bytes() == good
    assert meta_of(config.parent / "site/guide/setup/index.html")["og:image"].endswith("/guide/setup.png")
    _, counts = build(config)
    assert counts == (4, 4, 0)


@pytest.mark.parametrize("content", [b"just text", b"truncated"])
def test_a_configured_font_that_is_not_a_font_fails_the_build_at_once(tmp_path: Path, content: bytes) -> None:
    """`fonts:` naming a text file or a truncated font: the build stops while reading the configuration,
    naming the file, with no traceback."""
    from social_cards.fonts import BUNDLED_FONTS_DIR

    if content == b"truncated":
        content = (BUNDLED_FONTS_DIR / "Inter-Regular.otf").read_bytes()[:300]
    with_font = BASIC_CONFIG.replace("  - social-cards\n", "  - social-cards:\n      fonts: [bad.ttf]\n")
    config = write_site(tmp_path, with_font, BASIC_PAGES)
    (tmp_path / "bad.ttf").write_bytes(content)
    assert "bad.ttf" in failed_build(config)


def test_a_bad_site_wide_option_fails_the_build_at_once_naming_it(tmp_path: Path) -> None:
    """`options: {accent: notacolour}` stops the build while reading the configuration, naming the option;
    a misspelt option name is one warning (and an error with `strict`)."""
    bad = BASIC_CONFIG.replace("  - social-cards\n", "  - social-cards:\n      options: {accent: notacolour}\n")
    config = write_site(tmp_path / "a", bad, BASIC_PAGES)
    stderr = failed_build(config)
    assert "options:" in stderr and "notacolour" in stderr
    misspelt = BASIC_CONFIG.replace("  - social-cards\n", "  - social-cards:\n      options: {acent: '#ff0000'}\n")
    config = write_site(tmp_path / "b", misspelt, BASIC_PAGES)
    log, counts = build(config)
    assert counts == (4, 0, 4) and log.count("acent: not options of template 'default'") == 1
    strict = misspelt.replace("options: {acent", "strict: true\n      options: {acent")
    config = write_site(tmp_path / "c", strict, BASIC_PAGES)
    assert "acent" in failed_build(config)


def test_an_unusable_cache_never_fails_a_strict_build(tmp_path: Path) -> None:
    """A file where the cache folder should be: `mkdocs build --strict` still makes every card, and says so
    once at INFO (the build recovers by itself; a warning would fail it)."""
    config = write_site(tmp_path, BASIC_CONFIG, BASIC_PAGES)
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    log, counts = build(config, None, "--strict", env={"SOCIAL_CARDS_CACHE_DIR": str(blocker)})
    assert counts == (4, 0, 4), log
    assert log.count("cannot be used") == 1 and "WARNING" not in log


_TAGS = ("og:image", "og:image:width", "og:image:height", "og:image:type", "og:image:alt", "og:title",
         "og:description", "og:url", "og:type", "twitter:card", "twitter:image", "twitter:title",
         "twitter:description")  # fmt: skip


def test_a_large_build_tags_every_page(tmp_path: Path) -> None:
    """All 250 pages hold every tag once, cold, warm, with a card damaged since and drawn again, and in a
    --dirty build (which writes one page)."""
    pages = {f"p/{n:03d}.md": f'# Page {n} — café 🚀 & "q"\n\nText.\n' for n in range(249)}
    config = write_site(tmp_path, BASIC_CONFIG, {"index.md": "# Home\n", **pages})
    site = tmp_path / "site"

    def check() -> None:
        for n in range(249):
            meta = meta_of(site / f"p/{n:03d}/index.html")
            assert [name for name in _TAGS if name not in meta] == [], n
            assert meta["og:title"] == f'Page {n} — café 🚀 & "q"'
            assert meta["og:url"] == f"https://example.org/docs/p/{n:03d}/"
            assert card_file(site, meta["og:image"]).is_file()

    for expected in [(250, 0, 250), (250, 250, 0)]:
        log, counts = build(config)
        assert counts == expected, log
        check()
    cache_file_of(site / "assets/images/social/p/007.png").write_bytes(bytes(100))
    log, counts = build(config)
    assert counts == (250, 249, 1), log
    check()
    (tmp_path / "docs/p/100.md").write_text("# Page 100, edited\n", encoding="utf-8")
    log, counts = build(config, None, "--dirty")  # MkDocs writes only the edited page
    assert counts[2] == 1, log
    assert meta_of(site / "p/100/index.html")["og:title"] == "Page 100, edited"
    assert [name for name in _TAGS if name not in meta_of(site / "p/100/index.html")] == []


def test_front_matter_image_include_exclude_and_hash_names(tmp_path: Path) -> None:
    """A page's own image is used as it is; include/exclude pick pages; hash names follow the key."""
    from PIL import Image

    pages = {
        "index.md": "# Home\n",
        "blog/one.md": "---\nsocial:\n  image: pic.png\n---\n# With picture\n",
        "blog/two.md": "---\nsocial:\n  image: ../../../outside.png\n---\n# Escaping picture\n",
        "blog/drafts/three.md": "# Draft\n",
    }
    config = write_site(
        tmp_path,
        "site_name: S\nsite_url: https://example.org/docs/\nplugins:\n  - social-cards:\n"
        "      include: ['blog/**']\n      exclude: ['**/drafts/*']\n      card_names: hash\n",
        pages,
    )
    Image.new("RGB", (640, 320), "red").save(tmp_path / "docs/blog/pic.png")
    (tmp_path.parent / "outside.png").write_bytes(b"")
    log, counts = build(config)
    site = tmp_path / "site"
    one = meta_of(site / "blog/one/index.html")
    assert one["og:image"] == "https://example.org/docs/blog/pic.png"
    assert (one["og:image:width"], one["og:image:height"], one["og:image:type"]) == ("640", "320", "image/png")
    two = meta_of(site / "blog/two/index.html")
    assert re.fullmatch(r"https://example.org/docs/assets/images/social/[0-9a-f]{32}\.png", two["og:image"])
    assert decode(card_file(site, two["og:image"]).read_bytes()).size == (1200, 630)
    assert "outside the docs folder" in log
    assert "og:image" not in meta_of(site / "index.html")
    assert "og:image" not in meta_of(site / "blog/drafts/three/index.html")
    assert counts == (1, 0, 1)


def test_a_nul_or_a_folder_as_a_pages_image_costs_that_page_a_warning(tmp_path: Path) -> None:
    """`social: image` holding a NUL, or naming a folder: the build goes on, the page gets a drawn card and
    the log one warning each. (A device or a FIFO in the docs folder is refused by the same check, see
    test_files.py; MkDocs itself would copy it into the site.)"""
    pages = {
        "index.md": "# Home\n",
        "nul.md": '---\nsocial:\n  image: "a\\0b.png"\n---\n# Nul\n',
        "folder.md": "---\nsocial:\n  image: sub\n---\n# Folder\n",
    }
    config = write_site(tmp_path, BASIC_CONFIG, pages)
    (tmp_path / "docs/sub").mkdir()
    log, counts = build(config)
    assert counts == (3, 0, 3), log
    assert log.count("drawing a card instead") == 2
    for page in ("nul", "folder"):
        assert meta_of(tmp_path / f"site/{page}/index.html")["og:image"].endswith(f"/{page}.png")


def test_a_file_of_the_docs_where_a_card_would_go_is_kept(tmp_path: Path) -> None:
    """docs/assets/images/social/a.png beside a.md: the build keeps that file (the site serves it, the page's
    tags point at it) and says so once; no card replaces it."""
    from PIL import Image

    config = write_site(tmp_path, BASIC_CONFIG, {"index.md": "# Home\n", "a.md": "# A\n"})
    mine = tmp_path / "docs/assets/images/social/a.png"
    mine.parent.mkdir(parents=True)
    Image.new("RGB", (800, 400), "blue").save(mine)
    log, counts = build(config)
    assert counts == (1, 0, 1), log
    assert log.count("the page keeps that file instead") == 1
    assert (tmp_path / "site/assets/images/social/a.png").read_bytes() == mine.read_bytes()
    meta = meta_of(tmp_path / "site/a/index.html")
    assert meta["og:image"].endswith("/assets/images/social/a.png") and meta["og:image:width"] == "800"


_TEAL_SITE = """site_name: Teal Docs
site_url: https://example.org/docs/
theme:
  name: material
  palette:
    - media: "(prefers-color-scheme)"
      toggle: {icon: material/brightness-auto, name: Switch to light mode}
    - media: "(prefers-color-scheme: light)"
      scheme: default
      primary: teal
      toggle: {icon: material/brightness-7, name: Switch to dark mode}
    - media: "(prefers-color-scheme: dark)"
      scheme: slate
      primary: teal
plugins:
  - social-cards
"""


def test_a_material_site_reads_as_itself(tmp_path: Path) -> None:
    """Material's automatic three-entry palette with `primary: teal` and its default icon logo: the logo reads
    on the card (contrast 3:1 or more), the card carries the teal, and a code span in the title survives."""
    page = "---\ntitle: The `Client.__init__()` method\n---\n# Client\n"
    config = write_site(tmp_path, _TEAL_SITE, {"index.md": page})
    build(config)
    meta = meta_of(tmp_path / "site/index.html")
    assert meta["og:title"] == "The Client.__init__() method"
    card = decode(card_file(tmp_path / "site", meta["og:image"]).read_bytes())
    background = card.getpixel((20, 20))
    logo = card.crop((80, 68, 144, 132))
    from social_cards.contrast import contrast

    def hexa(pixel: tuple[int, ...]) -> str:
        return "#{:02x}{:02x}{:02x}".format(*pixel[:3])

    assert max(contrast(hexa(p), hexa(background)) for p in logo.get_flattened_data()) >= 3.0
    assert (0x00, 0x94, 0x85) in {p[:3] for p in card.crop((80, 560, 176, 568)).get_flattened_data()}


def test_a_site_coming_from_materials_social_plugin_keeps_its_options(tmp_path: Path) -> None:
    """Material's `social` options under `social-cards`: the Material-like template in the given colours, its globs,
    a page's own `cards_layout_options`, and one message naming what to use instead for each unused key."""
    config = write_site(
        tmp_path,
        "site_name: Moving Docs\nsite_url: https://example.org/docs/\nplugins:\n  - social-cards:\n"
        "      cards_layout_options:\n        background_color: '#009485'\n        color: '#ffffff'\n"
        "        font_family: Roboto\n      cards_exclude: ['drafts/**']\n      debug: true\n",
        {
            "index.md": "# Home\n",
            "drafts/wip.md": "# Work in progress\n",
            "own.md": "---\nsocial:\n  cards_layout_options:\n    title: A title of its own\n"
            "    background_color: '#000000'\n---\n# Own\n",
        },
    )
    log, _ = build(config)
    assert log.count("font_family is not used: fonts are never downloaded") == 1
    assert log.count("'debug' has no use here: 'social-cards preview'") == 1
    assert "og:image" not in (tmp_path / "site/drafts/wip/index.html").read_text()
    home = decode(card_file(tmp_path / "site", meta_of(tmp_path / "site/index.html")["og:image"]).read_bytes())
    assert home.getpixel((600, 620))[:3] == (0x00, 0x94, 0x85)  # the flat brand colour of Material's layout
    own = meta_of(tmp_path / "site/own/index.html")
    assert own["og:title"] == "A title of its own"
    assert decode(card_file(tmp_path / "site", own["og:image"]).read_bytes()).getpixel((600, 620))[:3] == (0, 0, 0)


def test_a_card_takes_the_title_the_page_shows(tmp_path: Path) -> None:
    """The nav may call a page "Blog": its card and tags say its own first heading, code span included;
    front matter `title` comes first."""
    config = write_site(
        tmp_path,
        BASIC_CONFIG + "nav:\n  - Blog: blog.md\n  - Api: api.md\n  - Own: own.md\n",
        {
            "blog.md": "# Built-in blog plugin\n\nText.\n",
            "api.md": "```\n# not a heading\n```\n\n# The `Client.__init__()` method\n",
            "own.md": "---\ntitle: From the front matter\n---\n# Heading\n",
        },
    )
    build(config)
    titles = {page: meta_of(tmp_path / f"site/{page}/index.html")["og:title"] for page in ("blog", "api", "own")}
    assert titles == {
        "blog": "Built-in blog plugin", "api": "The Client.__init__() method", "own": "From the front matter",
    }  # fmt: skip


def test_without_site_url_one_warning_and_no_tags(tmp_path: Path) -> None:
    """No site_url: a warning, cards still made, no og tags with broken relative URLs (a page's own
    picture included)."""
    from PIL import Image

    own = "---\nsocial:\n  image: pic.png\n---\n# Own\n"
    config = write_site(tmp_path, "site_name: S\nplugins:\n  - social-cards\n", {"index.md": "# Home\n", "own.md": own})
    Image.new("RGB", (1200, 630), "red").save(tmp_path / "docs/pic.png")
    log, counts = build(config)
    assert log.count("site_url is not set") == 1 and counts == (1, 0, 1)
    assert "og:image" not in meta_of(tmp_path / "site/index.html")
    assert "og:image" not in meta_of(tmp_path / "site/own/index.html")
    assert (tmp_path / "site/assets/images/social/index.png").is_file()


def _broken_template(root: Path) -> Path:
    folder = root / "broken"
    folder.mkdir()
    (folder / "layout.toml").write_text(
        '[options]\nshape = "ok"\n'
        '[[layers]]\nkind = "background"\ncolor = "#000"\n'
        '[[layers]]\nkind = "svg"\nfile = "{{ options.shape }}.svg"\n'
        '[[layers]]\nkind = "text"\ntext = "{{ title }}"\n'
    )
    (folder / "ok.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    return folder


@pytest.mark.parametrize("strict", [False, True])
def test_a_card_that_cannot_be_made(tmp_path: Path, strict: bool) -> None:
    """Not strict: that page has no card and one warning, the rest build. Strict: the build fails with the reason."""
    _broken_template(tmp_path)
    pages = {
        "index.md": "# Home\n",
        "bad.md": "---\nsocial:\n  options:\n    shape: missing\n---\n# Bad\n",
    }
    config = write_site(
        tmp_path,
        "site_name: S\nsite_url: https://example.org/docs/\nplugins:\n  - social-cards:\n"
        f"      template: broken\n      options:\n        shape: ok\n      strict: {str(strict).lower()}\n",
        pages,
    )
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-f", str(config)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if strict:
        assert result.returncode != 0 and "bad.md" in result.stderr and "missing.svg" in result.stderr
        return
    assert result.returncode == 0, result.stderr
    assert "bad.md: no card" in result.stderr and "missing.svg" in result.stderr
    assert "og:image" in meta_of(tmp_path / "site/index.html")
    assert "og:image" not in meta_of(tmp_path / "site/bad/index.html")


def test_without_cairo_svg_templates_explain_and_pillow_templates_work(tmp_path: Path) -> None:
    """With CairoSVG unimportable (a stand-in module on the path), SVG templates say how to install it and
    their pages carry no tags; templates drawn with Pillow alone still work."""
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "cairosvg.py").write_text("raise OSError('no library called \"cairo-2\" was found')\n")
    env = {"PYTHONPATH": os.pathsep.join([str(shadow), os.environ.get("PYTHONPATH", "")])}
    svg = write_site(tmp_path / "svg", BASIC_CONFIG, {"index.md": "# Home\n", "a.md": "# A\n"})
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-f", str(svg)],
        capture_output=True, text=True, timeout=300, check=False, env={**os.environ, **env},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "apt-get install" in result.stderr and "no card" in result.stderr
    pages = list((svg.parent / "site").rglob("*.html"))
    assert len(pages) >= 2 and all("og:image" not in meta_of(page) for page in pages)  # written, then untagged
    assert all("og:title" not in meta_of(page) for page in pages)
    pillow = write_site(
        tmp_path / "pillow",
        BASIC_CONFIG.replace("- social-cards\n", "- social-cards:\n      template: blog\n"),
        {"index.md": "# Home\n"},
    )
    _, counts = build(pillow, env=env)
    assert counts == (1, 0, 1)


MATERIAL_CONFIG = """\
site_name: Material Blog
site_url: https://example.org/docs/
use_directory_urls: {directory_urls}
theme:
  name: material
  palette:
    primary: red
plugins:
  - blog
  - rss:
      match_path: blog/posts/.*
      date_from_meta:
        as_creation: date.created
  - social-cards:
      template: blog
"""


@pytest.mark.parametrize("directory_urls", ["true", "false"])
def test_material_theme_with_blog_and_rss(tmp_path: Path, directory_urls: str) -> None:
    """Posts, archive and category pages all get cards; the palette colour reaches the card."""
    pages = {
        "index.md": "# Home\n",
        "blog/index.md": "# Blog\n",
        "blog/posts/first.md": (
            "---\ndate:\n  created: 2024-03-05\ncategories:\n  - Releases\n---\n"
            "# First post: ünïcödé and emoji 🎉\n\nHello.\n\n<!-- more -->\n\nMore.\n"
        ),
        "blog/posts/second.md": "---\ndate:\n  created: 2024-04-01\n---\n# Second post\n\nText.\n",
    }
    config = write_site(tmp_path, MATERIAL_CONFIG.format(directory_urls=directory_urls), pages)
    _, counts = build(config)
    site = tmp_path / "site"
    suffix = "/index.html" if directory_urls == "true" else ".html"
    post = site / f"blog/2024/03/05/first-post-ünïcödé-and-emoji{suffix}"
    if not post.exists():
        post = next(p for p in site.rglob("*.html") if "first" in p.as_posix() and "2024" in p.as_posix())
    meta = meta_of(post)
    assert meta["og:type"] == "article"
    assert meta["og:image"].endswith("/assets/images/social/blog/posts/first.png")
    card = decode(card_file(site, meta["og:image"]).read_bytes())
    rgb = card.convert("RGB").tobytes()
    red = sum(1 for i in range(0, len(rgb), 3) if abs(rgb[i] - 0xEF) < 12 and abs(rgb[i + 1] - 0x55) < 12)
    assert red > 500, "the palette's red accent is on the card"
    pages_with_cards = [p for p in site.rglob("*.html") if "og:image" in meta_of(p)]
    archive = [p for p in pages_with_cards if "archive" in p.as_posix()]
    category = [p for p in pages_with_cards if "category" in p.as_posix()]
    assert archive and category, [p.relative_to(site).as_posix() for p in pages_with_cards]
    for page in pages_with_cards:
        assert decode(card_file(site, meta_of(page)["og:image"]).read_bytes()).size == (1200, 630)
    assert counts[0] == len(pages_with_cards) and counts[2] == counts[0]
    assert (site / "feed_rss_created.xml").is_file()
    _, warm = build(config)
    assert warm == (counts[0], counts[0], 0)


def test_theme_tags_are_not_duplicated(tmp_path: Path) -> None:
    """A theme override that writes og:title and twitter:card keeps its own; ours fill in the rest."""
    config = write_site(
        tmp_path,
        BASIC_CONFIG + "theme:\n  name: mkdocs\n  custom_dir: overrides\n",
        {"index.md": "# Home\n"},
    )
    (tmp_path / "overrides").mkdir()
    (tmp_path / "overrides/main.html").write_text(
        '{% extends "base.html" %}{% block extrahead %}<meta property="og:title" content="Theme title">'
        '<meta name="twitter:card" content="summary">{% endblock %}'
    )
    build(config)
    meta = meta_of(tmp_path / "site/index.html")
    assert meta["og:title"] == "Theme title" and meta["twitter:card"] == "summary" and "og:image" in meta


def test_a_theme_with_an_upper_case_head_end_gets_every_tag_once(tmp_path: Path) -> None:
    """A theme whose head ends as ``</HEAD>``: every page still gets each tag once."""
    config = write_site(
        tmp_path, BASIC_CONFIG + "theme:\n  name: null\n  custom_dir: bare\n", {"index.md": "# Home\n", "a.md": "# A\n"}
    )
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare/main.html").write_text(
        "<html><head><title>{{ page.title }}</title></HEAD><body>{{ page.content }}</body></html>"
    )
    build(config)
    for page in ("index.html", "a/index.html"):
        text = (tmp_path / "site" / page).read_text()
        assert [text.count(f'"{name}"') for name in _TAGS] == [1] * len(_TAGS), page
    assert meta_of(tmp_path / "site/a/index.html")["og:title"] == "A"


class _HeadEnd(html.parser.HTMLParser):
    """Where the real head ends, as a browser reads it (a script's text is not markup), and the meta tags before it."""

    def __init__(self) -> None:
        super().__init__()
        self.ended = False
        self.names: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        name = dict(attrs).get("property") or dict(attrs).get("name") or ""
        if tag == "meta" and not self.ended and name.startswith(("og:", "twitter:")):
            self.names.append(name)
        self.ended = self.ended or tag == "body"

    def handle_endtag(self, tag: str) -> None:
        self.ended = self.ended or tag == "head"


def test_tags_go_inside_the_real_head_past_a_script_and_a_description_that_mention_them(tmp_path: Path) -> None:
    """A page whose description says ``property=og:image`` and a theme whose head holds ``</head>`` in a
    script string: every tag once, all of them inside the real head."""
    page = "---\ndescription: Set property=og:image in your theme\n---\n# Theming\n"
    config = write_site(
        tmp_path, BASIC_CONFIG + "theme:\n  name: mkdocs\n  custom_dir: overrides\n", {"index.md": page}
    )
    (tmp_path / "overrides").mkdir()
    (tmp_path / "overrides/main.html").write_text(
        '{% extends "base.html" %}{% block extrahead %}<script>var end = "</head>";</script>{% endblock %}'
    )
    build(config)
    parser = _HeadEnd()
    parser.feed((tmp_path / "site/index.html").read_text(encoding="utf-8"))
    assert sorted(parser.names) == sorted(_TAGS)
    assert meta_of(tmp_path / "site/index.html")["og:description"] == "Set property=og:image in your theme"


_STATE_HOOKS = """
import gc, json, os, pathlib

seen = []

def on_env(env, config, files):
    seen.append(("loader", type(env.loader).get_source.__qualname__, getattr(env.loader.get_source, "__func__", None)
                 is type(env.loader).get_source))
    return env

def on_post_page(output, page, config):
    seen.append(("gc", gc.isenabled(), gc.get_freeze_count()))
    return output

def on_post_build(config):
    pathlib.Path(os.environ["STATE_LOG"]).write_text(json.dumps(seen))
"""


def test_a_build_leaves_process_wide_state_alone(tmp_path: Path) -> None:
    """Other plugins share the mkdocs process: the collector stays on and unfrozen, and the theme's loader
    is the theme's own, while every page is written."""
    config = write_site(tmp_path, BASIC_CONFIG + "hooks:\n  - hooks.py\n", BASIC_PAGES)
    (tmp_path / "hooks.py").write_text(_STATE_HOOKS)
    state = tmp_path / "state.json"
    for expected in [(4, 0, 4), (4, 4, 0)]:
        _, counts = build(config, None, env={"STATE_LOG": str(state)})
        assert counts == expected
        seen = json.loads(state.read_text())
        assert [s for s in seen if s[0] == "loader"] == [["loader", "FileSystemLoader.get_source", True]]
        assert [s for s in seen if s[0] == "gc"] == [["gc", True, 0]] * 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_redraws_only_the_edited_page(tmp_path: Path) -> None:
    """Under `mkdocs serve`, editing one page's title redraws one card; Ctrl-C then ends it cleanly:
    exit status 0, no process of the pool that drew the cards left, no temporary folder left behind
    (the test used to stop it with SIGTERM, which left MkDocs' and the pool's folders in /tmp)."""
    config = write_site(tmp_path, BASIC_CONFIG, {"index.md": "# Home\n", "a.md": "# A\n", "b.md": "# B\n"})
    temp = tmp_path / "tmp"
    temp.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "serve", "-f", str(config), "-a", f"127.0.0.1:{_free_port()}"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env={**os.environ, "TMPDIR": str(temp)},
    )  # fmt: skip
    assert process.stderr is not None
    summaries: list[tuple[int, int, int]] = []
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(summaries) < 2:
            line = process.stderr.readline()
            if not line:
                break
            found = SUMMARY.search(line)
            if found:
                summaries.append((int(found[1]), int(found[2]), int(found[3])))
                if len(summaries) == 1:
                    time.sleep(0.5)
                    (tmp_path / "docs/a.md").write_text("# A, edited\n")
        workers = descendants(process.pid)  # the pool, kept between rebuilds
        process.send_signal(signal.SIGINT)  # Ctrl-C
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=60)
        process.stderr.close()
    assert summaries == [(3, 0, 3), (3, 2, 1)]
    assert workers, "no pool process while serving"
    assert code == 0
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(map(alive, workers)):
        time.sleep(0.1)
    assert [pid for pid in workers if alive(pid)] == []
    assert list(temp.iterdir()) == []  # MkDocs' site folder and the pool's own are gone


def test_render_from_mkdocs_config_fills_the_cache_for_the_build(tmp_path: Path) -> None:
    """`social-cards render mkdocs.yml` makes exactly the plugin's cards: the next build logs 0 drawn."""
    from conftest import run_cli

    config = write_site(tmp_path / "site-src", BASIC_CONFIG, BASIC_PAGES)
    result = run_cli("render", str(config), "--out-dir", str(tmp_path / "out"), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["cards"], summary["drawn"], summary["failed"]) == (4, 4, 0)
    assert decode((tmp_path / "out/assets/images/social/guide/setup.png").read_bytes()).size == (1200, 630)
    assert not (config.parent / "site").exists(), "a pre-render writes no site"
    _, counts = build(config, tmp_path)
    assert counts == (4, 4, 0)


_ERROR_HOOKS = """
import json, os, pathlib

events = []

def on_build_error(error):
    events.append(["on_build_error", type(error).__name__])

def on_post_build(config):
    events.append(["on_post_build"])

def on_shutdown():
    pathlib.Path(os.environ["EVENT_LOG"]).write_text(json.dumps(events))
"""


def test_a_pre_render_fires_no_other_plugins_build_error(tmp_path: Path) -> None:
    """A pre-render is a build that ends well: other plugins hear on_post_build, never on_build_error;
    it makes every card and writes no tags."""
    config = write_site(
        tmp_path, BASIC_CONFIG + "hooks:\n  - hooks.py\n",
        {**BASIC_PAGES, "own.md": "---\nsocial:\n  image: https://x.org/a.png\n---\n"},
    )  # fmt: skip
    (tmp_path / "hooks.py").write_text(_ERROR_HOOKS)
    events = tmp_path / "events.json"
    from conftest import run_cli

    result = run_cli("render", str(config), "--json", env={"EVENT_LOG": str(events)})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["drawn"] == 4
    assert json.loads(events.read_text()) == [["on_post_build"]]


def test_render_refuses_a_config_without_the_plugin(tmp_path: Path) -> None:
    """An mkdocs.yml that does not use the plugin is one clear error, exit 1."""
    from conftest import run_cli

    config = write_site(tmp_path, "site_name: S\n", {"index.md": "# Home\n"})
    result = run_cli("render", str(config))
    assert result.returncode == 1 and "does not use the social-cards plugin" in result.stderr
    assert "Traceback" not in result.stderr


def test_properdocs_builds_a_site_with_the_plugin(tmp_path: Path) -> None:
    """ProperDocs finds the plugin under its own entry point group and gives every page its card and tags."""
    from importlib.metadata import entry_points

    assert "social-cards" in {e.name for e in entry_points(group="properdocs.plugins")}
    docs = tmp_path / "docs"
    for name, text in {"index.md": "# Home\n", "guide.md": "# The `__init__` method\n"}.items():
        (docs / name).parent.mkdir(parents=True, exist_ok=True)
        (docs / name).write_text(text)
    (tmp_path / "properdocs.yml").write_text(
        "site_name: Proper Docs\nsite_url: https://example.org/docs/\ntheme: mkdocs\nplugins:\n  - social-cards\n"
    )
    properdocs = Path(sys.executable).parent / "properdocs"
    result = subprocess.run(
        [str(properdocs), "build"], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "social-cards: 2 cards (0 cached, 2 drawn)" in result.stderr
    page = (tmp_path / "site/guide/index.html").read_text()
    assert page.count('property="og:image"') == 1
    assert '<meta property="og:title" content="The __init__ method">' in page
    from PIL import Image

    with Image.open(card_file(tmp_path / "site", re.search(r'og:image" content="([^"]+)"', page)[1])) as card:
        assert card.size == (1200, 630)
