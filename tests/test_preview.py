"""Preview sheets and `social-cards preview` (with --watch, in a real process)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import decode

from social_cards import SocialCardsError
from social_cards.pool import RenderPool
from social_cards.preview import SAMPLES, Sample, draw_sheet
from social_cards.store import Store


def test_sheet_draws_every_sample_then_serves_them_from_the_cache(tmp_path: Path) -> None:
    """One picture per template and sample, an HTML page naming them; a second sheet draws nothing."""
    with Store(tmp_path / "cache") as store, RenderPool(1) as pool:
        first = draw_sheet(["default", "blog"], tmp_path / "out", store, pool)
        second = draw_sheet(["default", "blog"], tmp_path / "out", store, pool)
    assert (first.drawn, first.cached, first.failed) == (2 * len(SAMPLES), 0, 0)
    assert (second.drawn, second.cached) == (0, 2 * len(SAMPLES))
    page = first.page.read_text(encoding="utf-8")
    for card in first.cards:
        assert decode((tmp_path / "out" / card.file).read_bytes()).size == (1200, 630)
        assert f'src="{card.file}?{card.key[:8]}"' in page


def test_titles_cannot_add_markup_to_the_page(tmp_path: Path) -> None:
    """A sample title is escaped on the page: it cannot open an element."""
    hostile = Sample("x", '"><script>alert(1)</script><img src=x onerror=alert(2)>')
    with Store(tmp_path / "cache") as store, RenderPool(1) as pool:
        sheet = draw_sheet(["default"], tmp_path / "out", store, pool, samples=[hostile])
    page = sheet.page.read_text(encoding="utf-8")
    assert "<script>" not in page and "onerror=alert(2)>" not in page
    assert "&lt;script&gt;" in page


def test_a_card_that_fails_shows_its_reason_and_no_stale_picture(tmp_path: Path) -> None:
    """The reason is on the page and in the sheet; an older picture of that card is removed."""
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "layout.toml").write_text(
        '[[layers]]\nkind = "image"\nfile = "{{ options.picture }}"\n', encoding="utf-8"
    )
    out = tmp_path / "out"
    out.mkdir()
    (out / "tpl-short.png").write_bytes(b"an old picture")
    with Store(tmp_path / "cache") as store, RenderPool(1) as pool:
        sheet = draw_sheet([folder], out, store, pool, samples=[SAMPLES[0]], options={"picture": "missing.png"})
    assert sheet.failed == 1
    assert "missing.png" in sheet.cards[0].error
    assert "missing.png" in sheet.page.read_text(encoding="utf-8")
    assert not (out / "tpl-short.png").exists()


def test_an_unknown_template_is_a_clear_error(tmp_path: Path) -> None:
    with Store(tmp_path / "cache") as store, RenderPool(1) as pool, pytest.raises(SocialCardsError) as err:
        draw_sheet(["no-such-template"], tmp_path / "out", store, pool)
    assert "unknown template 'no-such-template'" in str(err.value)


def test_watch_redraws_after_an_edit_and_stops_cleanly(tmp_path: Path, template_copy: Callable[[str], Path]) -> None:
    """A real `preview --watch`: editing the layout changes the page; Ctrl-C exits 0."""
    folder = template_copy("default")
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "social_cards", "preview", str(folder), "-o", str(out), "--watch", "--title", "Hi"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        page = out / "index.html"
        first = _wait_for(lambda: _keys(page))
        assert 'http-equiv="refresh"' in page.read_text(encoding="utf-8")
        layout = folder / "layout.toml"
        layout.write_text(layout.read_text(encoding="utf-8").replace("#818cf8", "#ff0000"), encoding="utf-8")
        second = _wait_for(lambda: (k := _keys(page)) != first and k)
        assert second != first
    finally:
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert stdout.count("wrote ") >= 2


def _keys(page: Path) -> list[str]:
    try:
        return re.findall(r'src="[^"?]+\?([0-9a-f]{8})"', page.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []


def _wait_for(probe: Callable[[], list[str] | bool], timeout: float = 60.0) -> list[str] | bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")
