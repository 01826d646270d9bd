"""Shared fixtures: templates, card inputs, PNG decoding and pixel comparison."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from PIL import Image, ImageChops, ImageStat

from social_cards import CardInput, Template, load_template
from social_cards.template import BUILTIN_TEMPLATES_DIR

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"

MULTISCRIPT_TITLE = "Olá, mundo 😃 — 你好世界 — مرحبا بالعالم"


def decode(data: bytes) -> Image.Image:
    """Decode card bytes for real (verifying the file), as RGB."""
    with Image.open(io.BytesIO(data)) as probe:
        probe.verify()
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.convert("RGB")


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute per-channel difference, 0 (same) to 255."""
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    return sum(ImageStat.Stat(diff).mean) / 3


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test (and every process it starts) uses its own cache folder unless it names one."""
    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("SOCIAL_CARDS_CACHE_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def default_template() -> Template:
    return load_template("default")


@pytest.fixture
def card() -> CardInput:
    return CardInput(
        title="How to configure the search plugin",
        description="Everything about indexing large sites",
        site_name="Example Docs",
        options=CardInput.options_from({"accent": "#ff5500"}),
    )


@pytest.fixture
def template_copy(tmp_path: Path) -> Callable[[str], Path]:
    """Copy a built-in template into a temporary folder that a test may change."""

    def copy(name: str = "default") -> Path:
        target = tmp_path / f"tpl-{name}"
        shutil.copytree(BUILTIN_TEMPLATES_DIR / name, target)
        return target

    return copy


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed command line in a real process."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "social_cards", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=120,
        check=False,
    )


def hostile_text() -> SearchStrategy[str]:
    """Text as chat logs and generated titles bring it: any character, and the pieces that break tools."""
    pieces = st.sampled_from(
        [
            "\x00", "\x1b[31m", "\r\n", "\ud800", "\udfff", "\u202e", "\u2066", "\u200b", "\u200d", "\ufeff",
            "👨\u200d👩\u200d👧\u200d👦", "🏳️\u200d🌈", "🇧🇷", "e\u0301\u0301\u0301", "{{ 7 * 7 }}", "{% raw %}",
            "{{ ''.__class__.__mro__ }}", "<script>alert(1)</script>", "<svg onload=x>", '"><img src=x>', "&amp;",
            "**b**", "[a](b)", "你好世界", "مرحبا بالعالم", "שלום", "ไทย", "x" * 300, " ", "\t",
        ]
    )  # fmt: skip
    return st.lists(st.one_of(pieces, st.text(alphabet=st.characters(codec=None), max_size=40)), max_size=12).map(
        "".join
    )


def descendants(pid: int) -> set[int]:
    """The processes below ``pid`` (Linux: each thread's ``children`` file)."""
    found: set[int] = set()
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            children = {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            continue
        for child in children - found:
            found |= {child} | descendants(child)
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie nobody has reaped does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
