"""Faults, in real processes: shared caches, SIGKILL at random moments, a full disk, unreadable output."""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REPO, alive, decode, descendants, run_cli
from test_plugin import SUMMARY, meta_of, write_site

from social_cards.maintenance import cache_stats
from social_cards.store import Store


def _jsonl(path: Path, titles: list[str]) -> Path:
    rows = [
        json.dumps({"title": t, "description": "Shared cache", "output": f"c{i}.png"}) for i, t in enumerate(titles)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _render_args(source: Path, cache: Path, out: Path, *extra: str) -> list[str]:
    return ["render", str(source), "--cache-dir", str(cache), "--out-dir", str(out), "--workers", "2", *extra]


def _render(source: Path, cache: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "social_cards", *_render_args(source, cache, out, *extra)]


def _site(root: Path, titles: list[str], cache: Path) -> Path:
    pages = {"index.md": "# Home\n"} | {f"p{i}.md": f"# {t}\n\nText.\n" for i, t in enumerate(titles)}
    config = (
        f"site_name: Shared\nsite_url: https://example.org/docs/\n"
        f"plugins:\n  - social-cards:\n      cache_dir: {cache}\n      workers: 2\n"
    )
    return write_site(root, config, pages)


def _mkdocs(config: Path) -> list[str]:
    return [sys.executable, "-m", "mkdocs", "build", "-f", str(config)]


def test_builds_and_a_render_sharing_one_cache_at_once(tmp_path: Path) -> None:
    """Two `mkdocs build`s and a `render`, started together on one cache with overlapping cards."""
    cache = tmp_path / "cache"
    titles = [f"Shared page {i} — café 😃" for i in range(24)]
    first = _site(tmp_path / "a", titles, cache)
    second = _site(tmp_path / "b", titles[12:] + [f"Only in b {i}" for i in range(12)], cache)
    source = _jsonl(tmp_path / "cards.jsonl", titles[::2])
    commands = [_mkdocs(first), _mkdocs(second), _render(source, cache, tmp_path / "out")]
    processes = [
        subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO) for c in commands
    ]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        assert "Traceback" not in err and "cannot be used" not in err and "damaged" not in err
    for site in (tmp_path / "a" / "site", tmp_path / "b" / "site"):
        for page in site.rglob("index.html"):
            if "assets" in page.parts or "search" in page.parts:
                continue
            image = meta_of(page)["og:image"].removeprefix("https://example.org/docs/")
            assert decode((site / image).read_bytes()).size == (1200, 630)
    # Nothing was lost: each build again finds every one of its cards in the cache.
    for config in (first, second):
        result = subprocess.run(_mkdocs(config), capture_output=True, text=True, timeout=300, check=False)
        found = SUMMARY.search(result.stderr)
        assert found is not None and found[3] == "0", result.stderr
    with Store(cache) as store:
        assert cache_stats(store).damaged == 0


def test_a_render_killed_again_and_again_then_matches_a_clean_run(tmp_path: Path) -> None:
    """SIGKILL to the render and its workers at random moments; the finishing run equals a clean one."""
    titles = [f"Killed {i}: {'long words ' * (i % 5)}ünïcödé 🎉" for i in range(40)]
    source = _jsonl(tmp_path / "cards.jsonl", titles)
    cache, out = tmp_path / "cache", tmp_path / "out"
    rng = random.Random(11)
    temp = tmp_path / "tmp"  # what the killed runs cannot clean up (the pool's folder) stays in here
    temp.mkdir()
    for _ in range(5):
        process = subprocess.Popen(
            _render(source, cache, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO,
            start_new_session=True, env={**os.environ, "TMPDIR": str(temp)},
        )  # fmt: skip
        time.sleep(0.3 + rng.random() * 1.2)
        os.killpg(process.pid, signal.SIGKILL)  # the workers too: nothing gets to clean up
        process.wait(timeout=30)
    finished = run_cli(*_render_args(source, cache, out, "--json"))
    assert finished.returncode == 0, finished.stderr
    clean = run_cli(*_render_args(source, tmp_path / "clean-cache", tmp_path / "clean", "--json"))
    assert clean.returncode == 0, clean.stderr
    for i in range(len(titles)):
        assert (out / f"c{i}.png").read_bytes() == (tmp_path / "clean" / f"c{i}.png").read_bytes(), i
    # And every entry the killed runs left in the cache is served intact.
    again = run_cli(*_render_args(source, cache, tmp_path / "again", "--json"))
    assert json.loads(again.stdout.splitlines()[-1])["drawn"] == 0
    for i in range(len(titles)):
        assert (tmp_path / "again" / f"c{i}.png").read_bytes() == (tmp_path / "clean" / f"c{i}.png").read_bytes()


def _small_filesystem(folder: Path, size: str) -> Callable[[list[str]], list[str]] | None:
    """A command wrapper that mounts a tmpfs of ``size`` on ``folder`` in a private mount namespace."""
    if shutil.which("unshare") is None:
        return None
    for namespace in (["--mount"], ["--user", "--map-root-user", "--mount"]):
        probe = subprocess.run(
            ["unshare", *namespace, "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs '{folder}'"],
            capture_output=True, timeout=30, check=False,
        )  # fmt: skip
        if probe.returncode == 0:
            return lambda command, ns=namespace: [
                "unshare", *ns, "sh", "-c", f"mount -t tmpfs -o size={size} tmpfs \"$0\" && exec \"$@\"",
                str(folder), *command,
            ]  # fmt: skip
    return None


def _size_limited(limit: int) -> Callable[[], None]:
    def preexec() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


@pytest.mark.parametrize("front_door", ["render", "mkdocs"])
def test_a_full_disk_leaves_the_build_drawing_with_one_warning(tmp_path: Path, front_door: str) -> None:
    """The cache on a filesystem that fills up midway: every card is still made, one warning, exit 0."""
    cache = tmp_path / "cache"
    cache.mkdir()
    titles = [f"Full disk {i} with a title long enough to wrap" for i in range(40)]
    wrap = _small_filesystem(cache, "700k")
    if front_door == "render":
        command = _render(_jsonl(tmp_path / "cards.jsonl", titles), cache, tmp_path / "out")
    else:
        command = _mkdocs(_site(tmp_path / "site-src", titles, cache))
    for _ in range(2):  # the second run starts on the full cache
        if wrap is not None:
            result = subprocess.run(wrap(command), capture_output=True, text=True, cwd=REPO, timeout=300, check=False)
        elif front_door == "render":  # no mount namespace here: a file size limit fails the cache's writes
            result = subprocess.run(
                command, capture_output=True, text=True, cwd=REPO, timeout=300, check=False,
                preexec_fn=_size_limited(48_000),
            )  # fmt: skip
        else:
            pytest.skip("no mount namespace for a small filesystem; the render case covers the full cache")
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        assert result.stderr.count("cannot be used") == 1, result.stderr
        if front_door == "render":
            made = [decode((tmp_path / "out" / f"c{i}.png").read_bytes()) for i in range(len(titles))]
        else:
            site = tmp_path / "site-src" / "site"
            made = [decode(p.read_bytes()) for p in (site / "assets" / "images" / "social").glob("*.png")]
        assert len(made) == len(titles) + (front_door == "mkdocs")


def test_cards_are_written_with_the_usual_file_mode(tmp_path: Path) -> None:
    """A drawn card in --out-dir is readable by a web server (umask applies), not private to its writer."""
    source = _jsonl(tmp_path / "cards.jsonl", ["Mode"])
    result = subprocess.run(
        _render(source, tmp_path / "cache", tmp_path / "out"), capture_output=True, text=True, cwd=REPO,
        timeout=120, check=False, preexec_fn=lambda: os.umask(0o022),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "c0.png").stat().st_mode & 0o777 == 0o644


def test_killing_only_the_render_ends_every_process_it_started(tmp_path: Path) -> None:
    """SIGKILL to the `render` process alone (no chance to clean up): its fork server, workers and resource
    tracker all end within seconds, instead of drawing on for nobody."""
    source = _jsonl(tmp_path / "cards.jsonl", [f"Orphaned {i}" for i in range(3000)])
    process = subprocess.Popen(
        _render(source, tmp_path / "cache", tmp_path / "out"), cwd=REPO, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    started: set[int] = set()
    while time.monotonic() < deadline and len(started) < 3:
        started |= descendants(process.pid)
        time.sleep(0.1)
    assert len(started) >= 3, "the render never started its pool"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(alive(pid) for pid in started):
        time.sleep(0.2)
    assert not [pid for pid in started if alive(pid)]
