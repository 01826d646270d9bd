"""The project's documentation: a real `mkdocs build --strict` of mkdocs.yml and docs/."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, decode
from test_plugin import meta_of

from social_cards import builtin_templates
from social_cards.preview import SAMPLES
from social_cards.template.schema import SCHEMA as _SCHEMA

SITE_URL = "https://social-cards.example.org/"


@pytest.fixture(scope="module")
def docs_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("docs") / "site"
    cache = tmp_path_factory.mktemp("docs-cache")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(REPO / "mkdocs.yml"), "-d", str(site)],
        capture_output=True, text=True, cwd=tmp_path_factory.mktemp("elsewhere"), timeout=300, check=False,
        env={**os.environ, "SOCIAL_CARDS_CACHE_DIR": str(cache), "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return site


def test_every_page_of_the_docs_carries_its_card(docs_site: Path) -> None:
    """--strict passes, and each page has og:image pointing at a decodable 1200x630 card."""
    pages = [p for p in docs_site.rglob("index.html") if "assets" not in p.parts]
    assert len(pages) >= 9
    for page in pages:
        meta = meta_of(page)
        image = meta["og:image"]
        assert image.startswith(SITE_URL), (page, image)
        card = decode((docs_site / image[len(SITE_URL) :]).read_bytes())
        assert card.size == (1200, 630), page
        assert meta["twitter:card"] == "summary_large_image"


def test_the_gallery_shows_every_builtin_template_with_every_sample(docs_site: Path) -> None:
    """Gallery pictures are drawn during the build: one per template and sample, all different."""
    page = (docs_site / "gallery" / "index.html").read_text(encoding="utf-8")
    shown = set(re.findall(r'<img alt="[^"]*" loading="lazy" src="([^"]+)"', page))
    seen: set[bytes] = set()
    for template in [*builtin_templates(), "release"]:
        for sample in SAMPLES:
            name = f"{template}-{sample.name}.png"
            assert name in shown, name
            data = (docs_site / "gallery" / name).read_bytes()
            assert decode(data).size == (1200, 630)
            seen.add(data)
    assert len(seen) == (len(builtin_templates()) + 1) * len(SAMPLES)


def test_the_readme_is_a_newcomers_page() -> None:
    """The README stays short, and each documentation page it links to exists."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    for link in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (REPO / link).is_file(), link


def test_template_guide_documents_every_layer_kind_and_field() -> None:
    """Each kind of layer and each of its fields has a row in docs/templates.md."""
    guide = (REPO / "docs" / "templates.md").read_text(encoding="utf-8")
    for kind, fields in _SCHEMA.items():
        section = guide.split(f"**`{kind}`**", 1)
        assert len(section) == 2, f"layer kind {kind} is not documented"
        table = section[1].split("**`", 1)[0]
        for name in fields:
            assert f"`{name}`" in table, f"{kind}.{name} is not documented"


def test_every_command_has_its_place_in_the_docs() -> None:
    """The command reference (docs/commands.md) covers each subcommand of the console script."""
    commands = (REPO / "docs" / "commands.md").read_text(encoding="utf-8")
    for name in ("card", "key", "templates", "render", "preview", "stats", "prune"):
        assert re.search(rf"social-cards {name}\b", commands), name
