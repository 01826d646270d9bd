"""The MkDocs plugin in real `mkdocs build` runs of a fixture site."""

from __future__ import annotations

import html.parser
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import decode


class _Meta(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            a = dict(attrs)
            name = a.get("property") or a.get("name")
            if name and a.get("content") is not None:
                self.meta[name] = a["content"] or ""


def _site(root: Path, plugin_config: str = "  - social-cards", site_url: str = "https://example.org/docs/") -> Path:
    docs = root / "project" / "docs"
    (docs / "guide").mkdir(parents=True)
    (docs / "index.md").write_text("# Home\n\nWelcome.\n")
    (docs / "guide" / "setup.md").write_text(
        '---\ndescription: "Quotes \\" & <tags>"\n---\n# Set up <em>fast</em> 😃\n\nText.\n'
    )
    config = root / "project" / "mkdocs.yml"
    config.write_text(f"site_name: Fixture Docs\nsite_url: {site_url}\nplugins:\n{plugin_config}\n")
    return config


def _build(config: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(config)],
        capture_output=True, text=True, cwd=cwd, timeout=300, check=False,
    )  # fmt: skip


def test_build_draws_cards_and_tags(tmp_path: Path) -> None:
    """Every page gets a decodable card and escaped og/twitter tags, building with -f from elsewhere."""
    config = _site(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = _build(config, elsewhere)
    assert result.returncode == 0, result.stderr
    site = config.parent / "site"
    for page, card in [("index.html", "index.png"), ("guide/setup/index.html", "guide/setup.png")]:
        parser = _Meta()
        parser.feed((site / page).read_text())
        meta = parser.meta
        assert meta["og:image"] == f"https://example.org/docs/assets/images/social/{card}"
        assert meta["twitter:card"] == "summary_large_image"
        assert meta["og:image:width"] == "1200" and meta["og:image:height"] == "630"
        image = decode((site / "assets/images/social" / card).read_bytes())
        assert image.size == (1200, 630)
    setup_html = (site / "guide/setup/index.html").read_text()
    assert '<em>fast</em> 😃">' not in setup_html


@pytest.mark.parametrize("enabled", ["false"])
def test_disabled_plugin_draws_nothing(tmp_path: Path, enabled: str) -> None:
    """enabled: false builds without cards."""
    config = _site(tmp_path, f"  - social-cards:\n      enabled: {enabled}")
    assert _build(config, tmp_path).returncode == 0
    assert not (config.parent / "site/assets/images/social").exists()
