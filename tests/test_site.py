"""``social-cards site DIR``: real sites built by Hugo, Sphinx and Zensical, then given cards and tags."""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import run_cli
from PIL import Image

from social_cards.head import read_head
from social_cards.language import cjk_region
from social_cards.model import CardInput
from social_cards.sources.page import common_site_name, read_page, strip_site_name
from social_cards.template import load_template

SITE_URL = "https://docs.example.org/"

# Titles as a multilingual site has them: accents, several scripts, emoji, code, punctuation.
TITLES = [
    "Getting started", "Café, naïve, résumé", "Über die Straße", "Привет, мир", "Ελληνικά γράμματα",
    "日本語のタイトル", "中文标题测试", "한국어 제목", "مرحبا بالعالم", "שלום עולם", "हिन्दी शीर्षक",
    "Emoji 🚀 launch day", "The __init__ method", "Tom & Jerry", "Tiếng Việt có dấu", "Türkçe başlık",
    "Polski tytuł: żółć", "ภาษาไทย หัวข้อ", "Dash — em and en – dash", "Numbers 1,234.56 and 7%",
    "A long title that goes on and on about the configuration of the search plugin of a documentation site",
    "Quotes “curly” and ‹angled›", "Ünïcödé everywhere", "The last page",
]  # fmt: skip


def _hugo(root: Path) -> Path:
    (root / "layouts/_default").mkdir(parents=True)
    (root / "content/posts").mkdir(parents=True)
    (root / "hugo.toml").write_text(f'baseURL = "{SITE_URL}"\nlanguageCode = "en"\ntitle = "Hugo Demo"\n')
    (root / "layouts/_default/baseof.html").write_text(
        '<!DOCTYPE html>\n<html lang="{{ .Site.LanguageCode }}">\n<head>\n<meta charset="utf-8">\n'
        "<title>{{ if .IsHome }}{{ .Site.Title }}{{ else }}{{ .Title }} | {{ .Site.Title }}{{ end }}</title>\n"
        '{{ with .Description }}<meta name="description" content="{{ . }}">{{ end }}\n'
        '<link rel="canonical" href="{{ .Permalink }}">\n'
        '</head>\n<body>{{ block "main" . }}{{ end }}</body>\n</html>\n'
    )
    (root / "layouts/_default/single.html").write_text(
        '{{ define "main" }}<h1>{{ .Title }}</h1>{{ .Content }}{{ end }}'
    )
    (root / "layouts/_default/list.html").write_text('{{ define "main" }}<h1>{{ .Title }}</h1>{{ end }}')
    for n, title in enumerate(TITLES):
        front = json.dumps({"title": title, "description": f"Page {n} of the demo", "date": f"2026-01-{n + 1:02d}"})
        (root / f"content/posts/p{n:02d}.md").write_text(f"{front}\n\nText of page {n}.\n")
    hugo = shutil.which("hugo")
    assert hugo, "Debian's hugo is needed (.ci/run installs it)"
    subprocess.run([hugo, "--quiet", "--source", str(root), "--destination", str(root / "public")], check=True)
    return root / "public"


def _sphinx(root: Path) -> Path:
    src = root / "src"
    src.mkdir(parents=True)
    (src / "conf.py").write_text('project = "Sphinx Demo"\nlanguage = "en"\nhtml_theme = "alabaster"\n')
    names = [f"p{n:02d}" for n in range(len(TITLES))]
    (src / "index.rst").write_text("Welcome\n=======\n\n.. toctree::\n\n" + "".join(f"   {n}\n" for n in names))
    for name, title in zip(names, TITLES, strict=True):
        underline = "=" * (2 * len(title))
        (src / f"{name}.rst").write_text(f"{title}\n{underline}\n\n.. meta::\n   :description: About {name}\n\nText.\n")
    subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(src), str(root / "out")], check=True)
    return root / "out"


def _zensical(root: Path) -> Path:
    (root / "docs").mkdir(parents=True)
    (root / "mkdocs.yml").write_text(f"site_name: Zensical Demo\nsite_url: {SITE_URL}\n")
    (root / "docs/index.md").write_text("# Home\n\nWelcome.\n")
    for n, title in enumerate(TITLES):
        heading = title.replace("_", "\\_")  # as a Markdown writer escapes a name
        (root / f"docs/p{n:02d}.md").write_text(f"---\ndescription: About page {n}\n---\n# {heading}\n\nText.\n")
    zensical = Path(sys.executable).parent / "zensical"
    subprocess.run([str(zensical), "build"], cwd=root, check=True, capture_output=True)
    return root / "site"


GENERATORS: dict[str, Callable[[Path], Path]] = {"hugo": _hugo, "sphinx": _sphinx, "zensical": _zensical}


@pytest.fixture(scope="module", params=sorted(GENERATORS))
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A real site, built once per module by its generator; tests copy it."""
    name: str = request.param
    return name, GENERATORS[name](tmp_path_factory.mktemp(name))


def _copy(site: Path, tmp_path: Path) -> Path:
    out = tmp_path / "site"
    shutil.copytree(site, out)
    return out


def _pages(site: Path) -> dict[str, str]:
    return {p.relative_to(site).as_posix(): p.read_text("utf-8") for p in sorted(site.rglob("*.html"))}


def _tag(page: str, name: str) -> list[str]:
    attr = "name" if name.startswith("twitter:") else "property"
    return [html.unescape(v) for v in re.findall(rf'<meta {attr}="{name}" content="([^"]*)">', page)]


def _digests(site: Path) -> dict[str, str]:
    return {p.relative_to(site).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in site.rglob("*")
            if p.is_file()}  # fmt: skip


def _site(site: Path, *extra: str) -> dict[str, int]:
    result = run_cli("site", str(site), "--json", *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_every_page_of_a_real_site_gets_its_card_and_tags_once(built: tuple[str, Path], tmp_path: Path) -> None:
    """Each page gets og:image exactly once, pointing at a real card whose title is the page's title."""
    generator, source = built
    site = _copy(source, tmp_path)
    counts = _site(site, "--site-url", SITE_URL)
    assert counts["failed"] == 0
    titles = set()
    for ref, page in _pages(site).items():
        images = _tag(page, "og:image")
        if read_head(page).meta.get("refresh"):
            assert images == [], ref
            continue
        assert len(images) == 1, f"{generator}: {ref} has og:image {images}"
        assert page.count('name="twitter:image"') == 1, ref
        card = site / images[0].removeprefix(SITE_URL)
        with Image.open(card) as picture:
            assert picture.size == (1200, 630)
            picture.load()
        titles.update(_tag(page, "og:title"))
    assert set(TITLES) <= titles, f"{generator}: titles missing: {set(TITLES) - titles}"
    assert counts["tagged"] == counts["cards"] >= len(TITLES)


def test_a_second_run_draws_nothing_and_changes_no_byte(built: tuple[str, Path], tmp_path: Path) -> None:
    """Run twice over the same folder: the second run finds every card cached and every page tagged."""
    site = _copy(built[1], tmp_path)
    first = _site(site, "--site-url", SITE_URL)
    before = _digests(site)
    second = _site(site, "--site-url", SITE_URL)
    assert (second["drawn"], second["tagged"], second["cached"]) == (0, 0, first["cards"])
    assert _digests(site) == before


def test_a_rebuilt_site_gets_every_card_back_from_the_cache(built: tuple[str, Path], tmp_path: Path) -> None:
    """The generator writes the site afresh: cards and tags come back without drawing one card."""
    first = _site(_copy(built[1], tmp_path / "a"), "--site-url", SITE_URL)
    again = _site(_copy(built[1], tmp_path / "b"), "--site-url", SITE_URL)
    assert again["drawn"] == 0
    assert again["tagged"] == again["cards"] == first["cards"]


def _write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def test_pages_that_redirect_opt_out_or_have_no_head_get_no_card(tmp_path: Path) -> None:
    """A redirect, an opted-out page and a fragment without a head are left as they were."""
    site = tmp_path / "public"
    pages = {
        "old.html": '<html><head><meta http-equiv="refresh" content="0; url=new.html"><title>Moved</title></head>',
        "quiet.html": '<html><head><meta name="social-cards" content="off"><title>Quiet</title></head></html>',
        "part.html": "<p>a fragment</p>",
        "new.html": "<html><head><title>New page</title></head><body></body></html>",
    }
    for name, text in pages.items():
        _write(site / name, text)
    counts = _site(site, "--site-url", SITE_URL)
    assert (counts["cards"], counts["tagged"], counts["skipped"]) == (1, 1, 3)
    for name in ("old.html", "quiet.html", "part.html"):
        assert (site / name).read_text() == pages[name]
    assert _tag((site / "new.html").read_text(), "og:title") == ["New page"]


def test_tags_a_page_already_has_are_kept_and_not_repeated(tmp_path: Path) -> None:
    """A generator's own og:image and og:title stay; the others are added before the real </head>."""
    page = (
        '<html><head><script>var s = "</head>";</script>'
        '<meta property="og:image" content="https://cdn.example.org/own.png">'
        '<meta property="og:title" content="Own title">'
        '<meta name="description" content="Set property=og:image in your theme"></head><body></body></html>'
    )
    site = tmp_path / "public"
    _write(site / "a.html", page)
    _site(site, "--site-url", SITE_URL)
    out = (site / "a.html").read_text()
    assert _tag(out, "og:image") == ["https://cdn.example.org/own.png"]
    assert _tag(out, "og:title") == ["Own title"]
    assert out.index("</script>") < out.index('property="og:description"') < out.index("<body>")
    assert out.startswith('<html><head><script>var s = "</head>";</script>')
    assert _tag(out, "twitter:title") == ["Own title"]


def test_a_page_in_another_encoding_keeps_its_bytes(tmp_path: Path) -> None:
    """A Latin-1 page is read as Latin-1 and only the tags are added: every byte of its own stays, and its mode."""
    text = '<html><head><meta charset="iso-8859-1"><title>Café crème</title></head><body>é</body></html>'
    page = _write(tmp_path / "public/a.html", text, "latin-1")
    page.chmod(0o640)
    before = page.read_bytes()
    _site(tmp_path / "public", "--site-url", SITE_URL)
    after = page.read_bytes()
    assert page.stat().st_mode & 0o777 == 0o640
    head_end = before.index(b"</head>")
    assert after.startswith(before[:head_end]) and after.endswith(before[head_end:])
    assert _tag(after.decode("latin-1"), "og:title") == ["Café crème"]


def test_without_a_site_url_a_canonical_link_gives_full_addresses(tmp_path: Path) -> None:
    """No --site-url: the page's canonical link makes the image address; a page with neither gets no tags."""
    site = tmp_path / "public"
    _write(site / "docs/a.html", '<html><head><title>A</title><link rel="canonical" href="https://x.org/docs/a.html">'
           "</head></html>")  # fmt: skip
    _write(site / "b.html", "<html><head><title>B</title></head></html>")
    result = run_cli("site", str(site), "--json")
    assert result.returncode == 0, result.stderr
    assert _tag((site / "docs/a.html").read_text(), "og:image") == ["https://x.org/assets/images/social/docs/a.png"]
    assert "og:image" not in (site / "b.html").read_text()
    assert "1 pages got a card but no tags" in result.stderr and "--site-url" in result.stderr
    strict = run_cli("site", str(site), "--strict")
    assert strict.returncode == 1 and "--site-url" in strict.stderr


def test_the_site_name_is_taken_off_titles(tmp_path: Path) -> None:
    """What most titles end with is the site name: taken off each title, kept on the home page's."""
    titles = ["Intro - My Docs", "Setup - My Docs", "API | Other", "My Docs", "A - B - My Docs"]
    assert common_site_name(titles) == "My Docs"
    assert [strip_site_name(t, "My Docs") for t in titles] == ["Intro", "Setup", "API | Other", "My Docs", "A - B"]
    assert common_site_name(["One", "Two - Three"]) == ""
    site = tmp_path / "public"
    for name in ("a", "b", "c"):
        _write(site / f"{name}.html", f"<html><head><title>Page {name} — Project 1.0 documentation</title></head>"
               f"<body><h1>Heading {name}</h1></body></html>")  # fmt: skip
    _site(site, "--site-url", SITE_URL)
    assert _tag((site / "a.html").read_text(), "og:title") == ["Page a"]


def test_a_page_without_a_title_takes_its_first_heading(tmp_path: Path) -> None:
    """No og:title and no <title>: the first <h1>'s text, without its markup."""
    page = _write(tmp_path / "a.html", "<html><head></head><body><h1>The <code>__init__</code> &amp; more</h1></body>")
    assert read_page(tmp_path, page).title == "The __init__ & more"


def test_links_and_files_outside_the_site_are_never_read_or_written(tmp_path: Path) -> None:
    """A page that is a link to a file outside the site is skipped, and the file outside stays as it was."""
    outside = _write(tmp_path / "outside.html", "<html><head><title>Secret</title></head></html>")
    site = tmp_path / "public"
    _write(site / "a.html", "<html><head><title>A</title></head></html>")
    (site / "link.html").symlink_to(outside)
    (site / "folder").symlink_to(tmp_path, target_is_directory=True)
    counts = _site(site, "--site-url", SITE_URL)
    assert counts["cards"] == 1
    assert outside.read_text() == "<html><head><title>Secret</title></head></html>"


def test_include_exclude_and_hashed_names(tmp_path: Path) -> None:
    """Globs choose pages by their path; hashed names put each card under its content key."""
    site = tmp_path / "public"
    for name in ("blog/a.html", "blog/b.html", "about.html"):
        _write(site / name, f"<html><head><title>{name}</title></head></html>")
    counts = _site(site, "--site-url", SITE_URL, "--include", "blog/**", "--exclude", "**/b.html",
                   "--card-names", "hash")  # fmt: skip
    assert counts["cards"] == 1
    (image,) = _tag((site / "blog/a.html").read_text(), "og:image")
    assert re.fullmatch(rf"{SITE_URL}assets/images/social/[0-9a-f]{{32}}\.png", image)
    assert "og:image" not in (site / "about.html").read_text()


def test_a_config_file_gives_the_plugins_settings(tmp_path: Path) -> None:
    """--config holds the plugin's keys; the command line wins over it; an unknown key is an error."""
    site = tmp_path / "public"
    _write(site / "a.html", "<html><head><title>A</title></head></html>")
    config = tmp_path / "cards.toml"
    config.write_text(f'site_url = "{SITE_URL}"\ncards_dir = "img/cards"\nformat = "webp"\n')
    _site(site, "--config", str(config))
    assert _tag((site / "a.html").read_text(), "og:image") == [f"{SITE_URL}img/cards/a.webp"]
    config.write_text('site_url = "https://x.org/"\ncolour = "red"\n')
    bad = run_cli("site", str(site), "--config", str(config))
    assert bad.returncode == 2 and "unknown key(s) colour" in bad.stderr


def test_dry_run_lists_each_page_and_writes_nothing(tmp_path: Path) -> None:
    """--dry-run shows each page's card path and state, and leaves the site and the cache alone."""
    site = tmp_path / "public"
    _write(site / "a.html", "<html><head><title>A</title></head></html>")
    cache = tmp_path / "cache"
    result = run_cli("site", str(site), "--dry-run", "--cache-dir", str(cache))
    assert result.returncode == 0, result.stderr
    assert "a.html  ->  assets/images/social/a.png  (to draw)  A" in result.stdout
    assert not cache.exists() and sorted(p.name for p in site.iterdir()) == ["a.html"]


def test_a_pages_language_and_direction_reach_its_card() -> None:
    """<html lang> picks the CJK variant that draws Han characters; <html dir> sets the base direction."""
    template = load_template("default")
    faces = {}
    for lang in ("ja", "zh-Hant", "zh-CN", "ko"):
        spec = template.resolve(CardInput("漢字の直し", lang=lang))
        title = next(layer for layer in spec.layers if getattr(layer, "text", "") == "漢字の直し")
        faces[lang] = next(f.index for f in title.faces if "CJK" in f.path.name)  # type: ignore[attr-defined]
    assert len(set(faces.values())) == 4
    assert (cjk_region("ja"), cjk_region("zh-Hant-TW"), cjk_region("en")) == ("JP", "TC", "")
    spec = template.resolve(CardInput("abc def", direction="rtl"))
    assert {layer.direction for layer in spec.layers if hasattr(layer, "direction")} == {"rtl"}
