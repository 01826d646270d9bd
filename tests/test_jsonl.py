"""`social-cards render` on JSON Lines files (sources/jsonl.py), in real processes with a real worker pool."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, decode, run_cli


def _jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def _summary(stdout: str) -> dict[str, float]:
    return json.loads(stdout.strip().splitlines()[-1])


def test_render_draws_then_serves_from_cache(tmp_path: Path) -> None:
    """A first run draws every card into the cache and --out-dir; a second run draws none."""
    rows = [{"title": f"Card {i} — café 😃", "output": f"posts/{i}.png"} for i in range(12)]
    source = _jsonl(tmp_path / "cards.jsonl", rows)
    cache = tmp_path / "cache"
    first = run_cli("render", str(source), "--cache-dir", str(cache), "--out-dir", str(tmp_path / "out"), "--json")
    assert first.returncode == 0, first.stderr
    assert _summary(first.stdout) | {"seconds": 0} == {"cards": 12, "cached": 0, "drawn": 12, "failed": 0, "seconds": 0}
    assert "12 cards: 0 cached, 12 drawn, 0 failed in" in first.stdout
    for i in range(12):
        assert decode((tmp_path / "out" / "posts" / f"{i}.png").read_bytes()).size == (1200, 630)
    second = run_cli("render", str(source), "--cache-dir", str(cache), "--out-dir", str(tmp_path / "again"), "--json")
    assert _summary(second.stdout)["drawn"] == 0 and _summary(second.stdout)["cached"] == 12
    assert (tmp_path / "again/posts/3.png").read_bytes() == (tmp_path / "out/posts/3.png").read_bytes()


def test_same_key_as_the_card_command(tmp_path: Path) -> None:
    """A card rendered in bulk is a hit for `card` with the same inputs."""
    source = _jsonl(tmp_path / "c.jsonl", [{"title": "Shared", "description": "d", "options": {"accent": "#ff0000"}}])
    cache = tmp_path / "cache"
    assert run_cli("render", str(source), "--cache-dir", str(cache)).returncode == 0
    card = run_cli(
        "card", "Shared", "--description", "d", "--option", "accent=#ff0000", "--cache-dir", str(cache),
        "-o", str(tmp_path / "x.png"),
    )  # fmt: skip
    assert "from the cache" in card.stdout


def test_bad_lines_are_reported_and_the_rest_goes_on(tmp_path: Path) -> None:
    """Bad JSON, a missing title, an unknown template, an escaping output: each named by line; exit 1."""
    rows: list[object] = [
        {"title": "good one"},
        "{not json",
        {"description": "no title"},
        {"title": "t", "template": "no-such"},
        {"title": "t", "output": "../../escape.png"},
        {"title": "t", "output": "/abs/path.png"},
        {"title": "good two"},
    ]
    source = _jsonl(tmp_path / "c.jsonl", rows)
    result = run_cli("render", str(source), "--out-dir", str(tmp_path / "out"), "--json")
    assert result.returncode == 1
    summary = _summary(result.stdout)
    assert (summary["cards"], summary["drawn"], summary["failed"]) == (7, 2, 5)
    for line, reason in [
        (2, "invalid JSON"),
        (3, "'title' is required"),
        (4, "unknown template"),
        (5, "outside"),
        (6, "outside"),
    ]:
        assert f"c.jsonl:{line}: " in result.stderr and reason in result.stderr
    assert not (tmp_path / "escape.png").exists() and "Traceback" not in result.stderr


def test_strict_stops_at_the_first_bad_line(tmp_path: Path) -> None:
    """--strict stops at the first bad line with its number."""
    source = _jsonl(tmp_path / "c.jsonl", [{"title": "a"}, "{bad", *({"title": f"n{i}"} for i in range(30))])
    result = run_cli("render", str(source), "--strict", "--workers", "1")
    assert result.returncode == 1 and "c.jsonl:2: invalid JSON" in result.stderr and "Traceback" not in result.stderr


def test_plain_progress_when_not_a_terminal(tmp_path: Path) -> None:
    """Without a terminal there is no bar: no carriage returns in the output."""
    source = _jsonl(tmp_path / "c.jsonl", [{"title": f"p{i}"} for i in range(5)])
    result = run_cli("render", str(source))
    assert "\r" not in result.stderr and "\r" not in result.stdout


def _wait_for_entries(cache: Path, count: int, process: subprocess.Popen[str]) -> None:
    """Wait until the cache holds ``count`` card files."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if len(list(cache.glob("v*/cards/*/*"))) >= count:
            return
        time.sleep(0.05)
    raise AssertionError("the render never got going")


def test_ctrl_c_keeps_finished_cards_and_a_rerun_draws_the_rest(tmp_path: Path) -> None:
    """SIGINT stops promptly; every finished card stays cached; the rerun draws only what is missing."""
    source = _jsonl(tmp_path / "c.jsonl", [{"title": f"Interrupted card {i}"} for i in range(600)])
    cache = tmp_path / "cache"
    process = subprocess.Popen(
        [sys.executable, "-m", "social_cards", "render", str(source), "--cache-dir", str(cache), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=dict(os.environ),
    )  # fmt: skip
    _wait_for_entries(cache, 20, process)
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    _, err = process.communicate(timeout=60)
    assert time.monotonic() - started < 15
    assert process.returncode == 130 and "interrupted" in err and "Traceback" not in err
    rerun = run_cli("render", str(source), "--cache-dir", str(cache), "--json")
    summary = _summary(rerun.stdout)
    assert summary["cached"] > 0 and summary["cached"] + summary["drawn"] == 600 and summary["failed"] == 0


def test_hostile_lines_fail_alone_and_name_no_outside_file(tmp_path: Path) -> None:
    """A NUL or a lone surrogate in `output`, a NUL in `logo`, a `logo` outside the file's folder (a file
    or a device): each fails its own line with a reason, and the good lines around them are written."""
    outside = tmp_path.parent / f"{tmp_path.name}-secret.png"
    outside.write_bytes((REPO / "templates/default/glow.svg").read_bytes())
    folder = tmp_path / "in"
    folder.mkdir()
    rows: list[object] = [
        {"title": "good one", "output": "a.png"},
        '{"title": "t", "output": "x\\u0000y.png"}',
        '{"title": "t", "output": "\\ud800.png"}',
        '{"title": "t", "logo": "a\\u0000b.png"}',
        {"title": "t", "logo": str(outside)},
        {"title": "t", "logo": "/dev/zero"},
        {"title": "good two", "output": "b.png"},
    ]
    source = _jsonl(folder / "c.jsonl", rows)
    result = run_cli("render", str(source), "--out-dir", str(tmp_path / "out"), "--json", "--workers", "1")
    assert result.returncode == 1 and "internal error" not in result.stderr and "Traceback" not in result.stderr
    summary = _summary(result.stdout)
    assert (summary["cards"], summary["drawn"], summary["failed"]) == (7, 2, 5)
    for line in range(2, 7):
        assert f"c.jsonl:{line}: " in result.stderr
    assert result.stderr.count("outside") >= 2 and "NUL" in result.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png"]


def test_a_pool_that_cannot_start_fails_the_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken pipe inside the pool (its processes could not start) is a failure with a reason, exit 1;
    only our own closed stdout (`| head`) is the quiet exit 0."""
    from social_cards.cli import main
    from social_cards.pool import RenderPool

    def broken(self: RenderPool, spec: object) -> object:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(RenderPool, "submit", broken)
    source = _jsonl(tmp_path / "c.jsonl", [{"title": "never drawn"}])
    code = main(["render", str(source), "--cache-dir", str(tmp_path / "cache"), "--workers", "2"])
    assert code == 1 and "BrokenPipeError" in capsys.readouterr().err


def test_an_unknown_option_is_a_warning_and_with_strict_an_error(tmp_path: Path) -> None:
    """A misspelt option (`acent`) in JSON Lines or on `card`: one warning naming the template's options;
    with --strict, an error for that card."""
    source = _jsonl(tmp_path / "c.jsonl", [{"title": f"t{i}", "options": {"acent": "#ff0000"}} for i in range(3)])
    result = run_cli("render", str(source), "--json", "--workers", "1")
    assert result.returncode == 0 and result.stderr.count("acent: not options of template 'default'") == 1
    strict = run_cli("render", str(source), "--json", "--workers", "1", "--strict")
    assert strict.returncode == 1 and "acent" in strict.stderr
    card = run_cli("card", "T", "--option", "acent=#ff0000", "-o", str(tmp_path / "a.png"))
    assert card.returncode == 0 and "acent: not options" in card.stderr
    card = run_cli("card", "T", "--option", "acent=#ff0000", "--strict", "-o", str(tmp_path / "b.png"))
    assert card.returncode == 2 and not (tmp_path / "b.png").exists()
