"""Many machines, one shared tier: real `mkdocs build` runs against a real S3 server and a real nginx.

For each engine (moto's S3 server, nginx's WebDAV module, both on 127.0.0.1):

1. four builds of the same site at the same time, each with its own local cache:
   the cards drawn in all, against the site's card count;
2. a fifth build afterwards on an empty local cache: what it draws (0 is the goal);
3. the overhead per card of a build warm from the tier (empty local cache, full tier)
   beside a warm local build's, both over a build without cards (medians);
4. a cold build whose server is killed two seconds in: every card made, one warning,
   and its time beside a cold build without a tier.

    python tests/benchmarks/shared_tier.py --pages 1000 --rounds 3

Run it from an installed (not editable) copy, as side_by_side.py says.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import threading
from pathlib import Path

from process_tree import Run, installed_env, run
from sites import make_site

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from conftest import start_s3_server, start_webdav_server, stop

SUMMARY = re.compile(r"social-cards: (\d+) cards \((\d+) cached(?:, (\d+) of them shared)?, (\d+) drawn\)")
S3_ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret", "AWS_REGION": "us-east-1"}


def _build(config: Path, site: Path, cache: Path, env: dict[str, str], *, cards: bool = True) -> tuple[Run, tuple]:
    full = installed_env() | env | {"SOCIAL_CARDS_CACHE_DIR": str(cache)}
    if not cards:
        full.pop("SOCIAL_CARDS_REMOTE_CACHE", None)
    command = [sys.executable, "-m", "mkdocs", "build", "-f", str(config), "-d", str(site)]
    if not cards:
        command = [sys.executable, "-m", "mkdocs", "build", "-f", str(config.with_name("plain.yml")), "-d",
                   str(site)]  # fmt: skip
    done = run(command, config.parent, full)
    if done.returncode != 0:
        raise SystemExit(f"build failed:\n{done.stderr[-3000:]}")
    found = SUMMARY.search(done.stderr) if cards else None
    counts = (int(found[1]), int(found[2]), int(found[3] or 0), int(found[4])) if found else (0, 0, 0, 0)
    return done, counts


def engine(name: str, work: Path, config: Path, pages: int, rounds: int) -> None:
    if name == "s3":
        process, address = start_s3_server()
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{address}/bench", method="PUT"), timeout=10).close()
        env = S3_ENV | {"AWS_ENDPOINT_URL": address, "SOCIAL_CARDS_REMOTE_CACHE": "s3://bench/team"}
    else:
        process, address, _ = start_webdav_server(work / "nginx")
        env = {"SOCIAL_CARDS_REMOTE_CACHE": f"{address}/team"}
    try:
        results: list[tuple] = []
        threads = [
            threading.Thread(
                target=lambda n=n: results.append(_build(config, work / f"site-{n}", work / f"c-{n}", env))
            )
            for n in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        drawn = sum(c[3] for _, c in results)
        print(f"{name}: four builds at once drew {drawn} cards for {pages + 1} pages "
              f"(each: {[c[3] for _, c in results]}, wall {max(r.seconds for r, _ in results):.1f} s)")  # fmt: skip
        _, fifth = _build(config, work / "site-5", work / "c-5", env)
        print(f"{name}: a fifth build afterwards drew {fifth[3]} ({fifth[2]} from the tier)")
        plain, from_tier, local = [], [], []
        for n in range(rounds):
            plain.append(_build(config, work / "site-p", work / "c-p", env, cards=False)[0].seconds)
            shutil.rmtree(work / f"c-t{n}", ignore_errors=True)
            from_tier.append(_build(config, work / "site-t", work / f"c-t{n}", env)[0].seconds)
            local.append(_build(config, work / "site-l", work / "c-5", env)[0].seconds)
        base = statistics.median(plain)
        per_card = {k: 1000 * (statistics.median(v) - base) / (pages + 1) for k, v in
                    (("from the tier", from_tier), ("warm local", local))}  # fmt: skip
        print(f"{name}: no cards {base:.2f} s; overhead per card: " +
              ", ".join(f"{k} {v:.2f} ms" for k, v in per_card.items()))  # fmt: skip
    finally:
        stop(process)


def killed(work: Path, config: Path) -> None:
    """A cold build whose S3 server dies two seconds in, beside a cold build with no tier."""
    shutil.rmtree(work / "c-k0", ignore_errors=True)
    alone, counts_alone = _build(config, work / "site-k", work / "c-k0", {})
    process, address = start_s3_server()
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{address}/bench", method="PUT"), timeout=10).close()
    env = S3_ENV | {"AWS_ENDPOINT_URL": address, "SOCIAL_CARDS_REMOTE_CACHE": "s3://bench/team"}
    timer = threading.Timer(2.0, process.kill)
    timer.start()
    try:
        with_kill, counts = _build(config, work / "site-k", work / "c-k1", env)
    finally:
        timer.cancel()
        stop(process)
    warnings = with_kill.stderr.count("is off for the rest of this run")
    print(f"killed server: {counts[0]} cards ({counts[3]} drawn), {warnings} warning; {with_kill.seconds:.1f} s "
          f"against {alone.seconds:.1f} s with no tier ({counts_alone[0]} cards)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--engine", choices=("s3", "http", "both"), default="both")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="shared-bench-"))
    config = make_site(work, args.pages, plugins="  - social-cards")
    config.with_name("plain.yml").write_text(config.read_text().replace("  - social-cards", "  []"))
    for name in ("s3", "http") if args.engine == "both" else (args.engine,):
        engine(name, work / name, config, args.pages, args.rounds)
    killed(work, config)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
