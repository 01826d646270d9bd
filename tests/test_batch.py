"""`social-cards render` on JSON Lines files, in real processes with a real worker pool."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

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
    """Wait until the cache holds ``count`` cards (read straight from its usage records)."""
    usage = cache / "v1" / "usage.db"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if usage.exists():
            with contextlib.suppress(sqlite3.Error), contextlib.closing(sqlite3.connect(usage, timeout=5)) as db:
                if db.execute("SELECT count(*) FROM entries").fetchone()[0] >= count:
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


def test_a_warm_batch_takes_keys_from_fingerprints_without_resolving(tmp_path: Path) -> None:
    """Second run: each card's key comes from its fingerprint, so resolve is never called, and the card is placed."""
    from social_cards import CardInput, SocialCardsError, load_template
    from social_cards.batch import CardRequest, run_batch
    from social_cards.pool import RenderPool
    from social_cards.store import Store

    template = load_template("blog")
    cards = [CardInput(title=f"Post {i}") for i in range(3)]

    def requests(resolving: bool) -> list[CardRequest]:
        def resolver(card: CardInput):  # type: ignore[no-untyped-def]
            def resolve():  # type: ignore[no-untyped-def]
                if not resolving:
                    raise SocialCardsError("resolve called on a warm run")
                return template.resolve(card)

            return resolve

        return [
            CardRequest(str(i), resolver(c), template.fingerprint(c), lambda key, i=i: tmp_path / "out" / f"{i}.png")
            for i, c in enumerate(cards)
        ]

    for resolving, expected in [(True, (0, 3)), (False, (3, 0))]:
        with Store(tmp_path / "cache") as store:
            report = run_batch(requests(resolving), store, RenderPool(tmp_path / "cache", workers=1))
        assert (report.cached, report.drawn, report.failed) == (*expected, 0), report.errors
    assert decode((tmp_path / "out/2.png").read_bytes()).size == (1200, 630)


def test_cards_made_later_are_known_at_once_and_drawn_behind(tmp_path: Path) -> None:
    """With later=True every card is announced before drawing ends; finish() waits and reports what failed."""
    import pytest

    from social_cards import CardInput, SocialCardsError, load_template
    from social_cards.batch import Batch, CardRequest, CardResult
    from social_cards.pool import RenderPool
    from social_cards.store import Store

    template = load_template("default")
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")

    def request(n: int) -> CardRequest:
        target = f"{blocked}/card.png" if n == 5 else f"{tmp_path}/site/{n}.png"
        return CardRequest(f"page-{n}", lambda: template.resolve(CardInput(f"Later {n}")), None, lambda key: target)

    for strict in (False, True):
        heard: list[CardResult] = []
        with Store(tmp_path / f"cache-{strict}") as store, RenderPool(store.directory, 2) as pool:
            batch = Batch(store, pool, strict=strict, on_card=heard.append)
            batch.run(map(request, range(8)), later=True)
            assert sorted(r.ref for r in heard) == sorted(f"page-{n}" for n in range(8))
            if strict:
                with pytest.raises(SocialCardsError, match="page-5: cannot write"):
                    batch.finish()
                continue
            report = batch.finish()
        assert (report.cards, report.drawn, report.failed) == (8, 7, 1)
        assert [(e.ref, "cannot write" in e.reason) for e in report.errors] == [("page-5", True)]
        assert all(decode((tmp_path / f"site/{n}.png").read_bytes()).size == (1200, 630) for n in range(8) if n != 5)


def test_requests_fed_one_at_a_time_are_drawn_while_more_come(tmp_path: Path) -> None:
    """After start(), each few requests fed are looked up and drawn at once, before the input ends."""
    from social_cards import CardInput, load_template
    from social_cards.batch import RESOLVE_CHUNK, Batch, CardRequest, CardResult
    from social_cards.pool import RenderPool
    from social_cards.store import Store

    template = load_template("default")

    def request(n: int) -> CardRequest:
        return CardRequest(f"page-{n}", lambda: template.resolve(CardInput(f"Fed {n}")), None)

    heard: list[CardResult] = []
    with Store(tmp_path / "cache") as store, RenderPool(store.directory, 2) as pool:
        batch = Batch(store, pool, on_card=heard.append)
        batch.start()
        for n in range(RESOLVE_CHUNK):
            batch.feed(request(n))
        assert len(heard) == RESOLVE_CHUNK  # known as soon as a chunk is looked up
        deadline = time.monotonic() + 60
        while batch.report.drawn == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert batch.report.drawn > 0  # drawing began while the input was still open
        for n in range(RESOLVE_CHUNK, 40):
            batch.feed(request(n))
        batch.end_input()
        assert len(heard) == 40
        report = batch.finish()
    assert (report.cards, report.drawn, report.cached, report.failed) == (40, 40, 0, 0)


def test_recalled_cards_are_placed_and_those_gone_or_damaged_drawn(tmp_path: Path) -> None:
    """serve_recalled() places cached cards without a request; one missing is drawn at once, one damaged in finish()."""
    from social_cards import CardInput, load_template
    from social_cards.batch import LOOKUP_CHUNK, Batch, CardRequest, Recalled, run_batch
    from social_cards.pool import RenderPool
    from social_cards.store import Store

    template = load_template("default")
    specs = {name: template.resolve(CardInput(f"Recalled {name}")) for name in ("kept", "gone", "damaged")}
    with Store(tmp_path / "cache") as store, RenderPool(store.directory, 1) as pool:
        for name in ("kept", "damaged"):
            spec = specs[name]
            assert run_batch([CardRequest(name, lambda spec=spec: spec)], store, pool).drawn == 1
        (entry,) = [p for p in store.directory.rglob("*.val") if p.read_bytes() == store.get(specs["damaged"].key)]
        entry.chmod(0o644)
        entry.write_bytes(entry.read_bytes()[:-10] + bytes(10))
        asked: list[str] = []

        def request_for(ref: str) -> CardRequest:
            asked.append(ref)
            return CardRequest(ref, lambda: specs[ref])

        cards: list[Recalled] = [
            (name, spec.key, spec.width, spec.height, f"{tmp_path}/site/{name}.png") for name, spec in specs.items()
        ]
        batch = Batch(store, pool)
        batch.start(LOOKUP_CHUNK)
        try:
            batch.serve_recalled(cards, request_for)
            assert asked == ["gone"]  # not in the cache: drawn without waiting for the check
            batch.end_input()
            report = batch.finish()
        finally:
            batch.cancel()
    assert sorted(asked) == ["damaged", "gone"]
    assert (report.cards, report.cached, report.drawn, report.failed) == (3, 1, 2, 0)
    for name in specs:
        assert decode((tmp_path / f"site/{name}.png").read_bytes()).size == (1200, 630)
