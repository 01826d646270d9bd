"""The wheel built from the repository carries templates, fonts, the plugin and the entry points."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(out)],
        cwd=REPO, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (path,) = out.glob("social_cards-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_contains_templates_and_fonts(wheel: zipfile.ZipFile) -> None:
    """Every built-in template file and every bundled font, with its licence, is in the wheel."""
    names = set(wheel.namelist())
    for folder in (REPO / "templates").iterdir():
        for file in folder.iterdir():
            assert f"social_cards/templates/{folder.name}/{file.name}" in names
    for font in (REPO / "social_cards" / "fonts").iterdir():
        assert f"social_cards/fonts/{font.name}" in names
    assert "social_cards/fonts/OFL.txt" in names
    assert "social_cards/py.typed" in names


def test_wheel_contains_plugin_and_entry_points(wheel: zipfile.ZipFile) -> None:
    """The MkDocs plugin package and both entry points ship."""
    names = wheel.namelist()
    assert "mkdocs_social_cards/plugin.py" in names
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "social-cards = social_cards.cli:main" in text
    assert "[mkdocs.plugins]" in text and "social-cards = mkdocs_social_cards.plugin:SocialCardsPlugin" in text


def test_installed_wheel_draws_a_card(wheel: zipfile.ZipFile, tmp_path: Path) -> None:
    """Unpacked on its own (no source checkout on the path), the wheel finds its templates and fonts."""
    site = tmp_path / "site-packages"
    wheel.extractall(site)
    code = (
        "import social_cards, sys; from social_cards import CardInput, load_template, draw;"
        f"assert social_cards.__file__.startswith({str(site)!r}), social_cards.__file__;"
        "sys.stdout.write(str(len(draw(load_template('accent').resolve(CardInput('From the wheel'))))))"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", f"import sys; sys.path[:0] = [{str(site)!r}] + {sys.path!r}; {code}"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 1000
