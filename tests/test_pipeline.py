"""The pipeline: requests in, a report out, with a real store and real worker processes."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from conftest import decode

from social_cards import CardInput, SocialCardsError, load_template
from social_cards import pipeline as pipeline_module
from social_cards.pipeline import CardRequest, Pipeline, run
from social_cards.pool import RenderPool
from social_cards.spec import CardSpec
from social_cards.store import Store


def _requests(out: Path, titles: list[str], template: str = "default") -> list[CardRequest]:
    loaded = load_template(template)
    return [CardRequest(f"page-{n}", loaded, CardInput(t), out=out, name=f"{n}.png") for n, t in enumerate(titles)]


def test_a_warm_run_takes_keys_from_fingerprints_without_resolving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Second run: each card's key comes from its fingerprint, so no template is resolved, and the card is placed."""
    titles = [f"Post {i}" for i in range(3)]
    with Store(tmp_path / "cache") as store, RenderPool(1) as pool:
        first = run(_requests(tmp_path / "out", titles, "blog"), store, pool)
    assert (first.cached, first.drawn, first.failed) == (0, 3, 0)

    def no_resolve(*args: object) -> CardSpec:
        raise AssertionError("resolved on a warm run")

    monkeypatch.setattr(pipeline_module, "resolve", no_resolve)
    with Store(tmp_path / "cache") as store, RenderPool(1) as pool:
        second = run(_requests(tmp_path / "again", titles, "blog"), store, pool)
    assert (second.cached, second.drawn, second.failed) == (3, 0, 0), second.errors
    assert (tmp_path / "again/2.png").read_bytes() == (tmp_path / "out/2.png").read_bytes()


def test_a_card_is_ready_before_the_rest_are_submitted(tmp_path: Path) -> None:
    """Cards are drawn while more requests come: one can be collected (and is placed) mid-way."""
    requests = _requests(tmp_path / "site", [f"Fed {n}" for n in range(24)])
    with Store(tmp_path / "cache") as store, RenderPool(2) as pool:
        pipeline = Pipeline(store, pool)
        for request in requests[:8]:
            pipeline.submit(request)
        first = pipeline.result("page-0")
        assert first is not None and first.target is not None and not first.cached
        assert decode(first.target.read_bytes()).size == (first.width, first.height) == (1200, 630)
        assert pipeline.report.drawn < 24
        for request in requests[8:]:
            pipeline.submit(request)
        report = pipeline.finish()
    assert (report.cards, report.drawn, report.cached, report.failed) == (24, 24, 0, 0)


def test_a_card_that_cannot_be_placed_fails_alone(tmp_path: Path) -> None:
    """A target that cannot be written fails its card with the reason; the others are made; strict stops."""
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    requests = _requests(tmp_path / "site", [f"Placed {n}" for n in range(6)])
    requests[3] = CardRequest("page-3", requests[3].template, requests[3].card, out=blocked, name="card.png")
    for strict in (False, True):
        with Store(tmp_path / f"cache-{strict}") as store, RenderPool(2) as pool:
            if strict:
                with pytest.raises(SocialCardsError, match="page-3: cannot write"):
                    run(requests, store, pool, strict=True)
                continue
            report = run(requests, store, pool)
        assert (report.cards, report.drawn, report.failed) == (6, 5, 1)
        assert [(e.ref, "cannot write" in e.reason) for e in report.errors] == [("page-3", True)]
        assert blocked.read_text() == "not a folder"


def test_cards_gone_or_damaged_since_are_drawn_again(tmp_path: Path) -> None:
    """A recalled card whose file is gone, or whose bytes changed, is drawn again and placed; the rest are served."""
    requests = _requests(tmp_path / "site", ["Kept", "Gone", "Damaged"])
    with Store(tmp_path / "cache") as store, RenderPool(1) as pool:
        keys = {r.ref: r.key for r in run(requests, store, pool).results.values()}
        store.path(keys["page-1"]).unlink()
        damaged = store.path(keys["page-2"])
        damaged.write_bytes(damaged.read_bytes()[:-10] + bytes(10))
    with Store(tmp_path / "cache") as store, RenderPool(1) as pool:
        report = run(requests, store, pool)
    assert (report.cards, report.cached, report.drawn, report.failed, report.damaged) == (3, 1, 2, 0, 1)
    for n in range(3):
        assert decode((tmp_path / f"site/{n}.png").read_bytes()).size == (1200, 630)


def _children() -> set[int]:
    found = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found.update(int(p) for p in (task / "children").read_text().split())
    return found


def test_a_worker_killed_mid_run_is_replaced_and_no_card_is_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A drawing process killed as the OOM killer would: its cards are drawn again in new ones, with one warning."""
    requests = _requests(tmp_path / "site", [f"Survivor {n}" for n in range(40)])
    with Store(tmp_path / "cache") as store, RenderPool(2) as pool:
        pipeline = Pipeline(store, pool)
        for request in requests[:12]:
            pipeline.submit(request)
        deadline = time.monotonic() + 60
        while len(_children()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(max(_children()), signal.SIGKILL)
        for request in requests[12:]:
            pipeline.submit(request)
        report = pipeline.finish()
    assert (report.cards, report.drawn + report.cached, report.failed) == (40, 40, 0), report.errors
    assert caplog.text.count("a drawing process died") == 1
    assert all(decode((tmp_path / f"site/{n}.png").read_bytes()).size == (1200, 630) for n in range(40))


def test_a_placed_card_is_a_file_of_its_own(tmp_path: Path) -> None:
    """A card in a site shares no storage with the cache: an in-place edit (an image optimizer run as root)
    leaves the cached card as it was, and the next run serves it again."""
    requests = _requests(tmp_path / "site", ["Optimized in place"])
    with Store(tmp_path / "cache") as store, RenderPool(1) as pool:
        (result,) = run(requests, store, pool).results.values()
        assert result.target is not None
        cached = store.path(result.key)
        assert not os.path.samefile(result.target, cached)
        with result.target.open("r+b") as fh:
            fh.write(b"\0" * 16)
        assert store.get(result.key) is not None
    with Store(tmp_path / "cache") as store, RenderPool(1) as pool:
        again = run(_requests(tmp_path / "again", ["Optimized in place"]), store, pool)
    assert (again.cached, again.damaged) == (1, 0)


def test_a_card_over_its_cpu_budget_is_abandoned_and_the_others_made(tmp_path: Path) -> None:
    """An SVG layer that would take half a minute to draw fails alone after its CPU budget, with the reason;
    the other cards of the run are made."""
    slow = tmp_path / "slow"
    slow.mkdir()
    (slow / "layout.toml").write_text('[[layers]]\nkind = "svg"\nfile = "many.svg"\nwidth = 8000\nheight = 8000\n')
    circles = '<circle cx="{{ (i * 37) % 8000 }}" cy="{{ (i * 91) % 8000 }}" r="300" fill="#ff000010"/>'
    (slow / "many.svg").write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="8000" height="8000">'
        f"{{% for i in range(90000) %}}{circles}{{% endfor %}}</svg>"
    )
    requests = _requests(tmp_path / "site", ["Quick one", "Quick two"])
    requests.append(CardRequest("slow", load_template(slow), CardInput("Slow"), out=tmp_path / "site", name="s.png"))
    started = time.monotonic()
    with Store(tmp_path / "cache") as store, RenderPool(2, card_cpu_s=1) as pool:
        report = run(requests, store, pool)
    assert (report.drawn, report.failed) == (2, 1)
    assert [e.ref for e in report.errors] == ["slow"] and "more than 1 s of CPU" in report.errors[0].reason
    assert time.monotonic() - started < 25


def test_a_stray_cpu_limit_signal_never_abandons_a_card_within_its_budget() -> None:
    """SIGXCPU that arrives between cards, or while a card is well inside its budget (a long-lived worker's
    clocks can disagree by a tick), is not that card's doing: the card is drawn, and nothing escapes."""
    import threading

    from social_cards import pool

    spec = load_template("default").resolve(CardInput("A card drawn while a stray signal arrives"))
    previous = signal.signal(signal.SIGXCPU, pool._over_budget)
    try:
        os.kill(os.getpid(), signal.SIGXCPU)  # between cards
        timer = threading.Timer(0.01, os.kill, (os.getpid(), signal.SIGXCPU))
        timer.start()
        data = b""
        for _ in range(5):  # the signal lands while one of these is being drawn
            data = pool.draw_card(spec, cpu_s=20)
        timer.join()
    finally:
        signal.signal(signal.SIGXCPU, previous)
    assert decode(data).size == (1200, 630)


def test_a_worker_count_far_beyond_the_cores_is_capped() -> None:
    """`--workers 200` on two cores starts no more than two processes a core: more only add memory."""
    from social_cards.pool import MAX_WORKERS_PER_CORE, default_workers

    assert RenderPool(200).workers == MAX_WORKERS_PER_CORE * default_workers()
    assert RenderPool(1).workers == 1
