"""Side by side: one generated MkDocs site built without cards, with Material's social plugin, and with social-cards.

    python tests/benchmarks/side_by_side.py --pages 1000 [--cold-runs 3] [--warm-runs 30] [--keep DIR]
    python tests/benchmarks/side_by_side.py --pages 10000 --without-material [--warm-runs 20]
    python tests/benchmarks/side_by_side.py --pages 1000 --baseline OTHER-VENV/bin/python

Each way is built cold (caches emptied) several times, then warm several times,
the three ways taking turns in each round (in a rotating order, with what the
previous build wrote flushed to disk first). Every build writes into a new, empty
site folder, as on a CI machine that restores the cache into a fresh checkout.

The last build's site folder (and, before a cold build, the card caches) is moved
aside, not deleted, and deleted after the last build (``sites.Trash`` says why).

A plugin's overhead is the median over
the rounds of its build time minus the no-card build of the same round. The report
gives, for both plugins, milliseconds per card over the no-card build (cold and
warm), the peak memory of the whole process tree (pool workers included, sampled
from /proc), the average card size, and the ratios; then a 95% interval (bootstrap
over the rounds) of each warm median and of the warm ratio. On a shared machine a
build's time varies by several tenths of a second from one build to the next, so the
warm figures, a tenth of a second at 1,000 pages, need it to be read at all.

It also gives the warm overheads in CPU time (user plus system, of the process and
every descendant it waited for): the work a build did on both cores, where wall time
is what a user waits for. Only warm: a cold build's pool workers are children of a
fork server the build never waits for, so their time is not in ``getrusage``.

Material's plugin downloads its fonts from Google Fonts on first use. This script
makes no network request: both plugins use the Inter font, and before the first
Material build the script copies Inter (bundled with social-cards) into Material's
font cache folder (``.cache/plugin/social/fonts/Inter``), where Material looks
before it downloads anything. Linux only (memory is read from /proc).

With ``--without-material`` only the no-card build and social-cards take turns, and
the report gives social-cards' overheads alone, warm also per 10,000 pages: at 10,000
pages Material's cold builds alone would take most of an hour. With ``--baseline
PYTHON`` a fourth way builds the same site with social-cards as installed for another
interpreter (a virtual environment holding an earlier version), in the same rounds.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).parent))
from process_tree import installed_env, run
from sites import Trash, make_site

from social_cards.fonts import BUNDLED_FONTS_DIR

WAYS = {
    "none": "  []",
    "material": "  - social:\n      cards_layout_options:\n        font_family: Inter",
    "social-cards": "  - social-cards",
}
THEME_FONT = "\n  font:\n    text: Inter\n"


SUMMARY = re.compile(r"social-cards: \d+ cards \(\d+ cached, \d+ drawn\) in ([\d.]+) s")


class Build(NamedTuple):
    """One `mkdocs build`: wall and CPU seconds, peak tree memory, social-cards' own time (0 without it)."""

    seconds: float
    cpu_seconds: float
    peak_kb: int
    own: float


def build(config: Path, python: str = sys.executable) -> Build:
    env = installed_env()
    env.pop("SOCIAL_CARDS_CACHE_DIR", None)
    done = run([python, "-m", "mkdocs", "build", "-f", str(config)], config.parent, env)
    if done.returncode != 0:
        raise SystemExit(f"build of {config} failed:\n{done.stderr[-3000:]}")
    own = SUMMARY.search(done.stderr)
    return Build(done.seconds, done.cpu_seconds, done.peak_kb, float(own[1]) if own else 0.0)


def place_material_fonts(site: Path) -> None:
    target = site / ".cache/plugin/social/fonts/Inter"
    target.mkdir(parents=True, exist_ok=True)
    for style, name in [("Regular", "Inter-Regular.otf"), ("Bold", "Inter-Bold.otf")]:
        shutil.copy(BUNDLED_FONTS_DIR / name, target / f"{style}.ttf")


def empty_caches(site: Path, trash: Trash) -> None:
    """Both plugins' card caches emptied (Material's fonts stay where the script put them)."""
    trash.move(site / ".cache/social-cards")
    material = site / ".cache/plugin/social"
    if material.is_dir():
        for entry in material.iterdir():
            if entry.name != "fonts":
                trash.move(entry)


def rounds(
    configs: dict[str, Path], count: int, label: str, *, cold: bool, trash: Trash, pythons: dict[str, str]
) -> dict[str, list[Build]]:
    """``count`` rounds in which the ways take turns, so a slow spell of this shared machine hits all alike.

    The order of the ways rotates from round to round, and the files a build wrote are
    flushed to disk before the next one starts: otherwise each build pays for writing
    back what the one before it wrote (Material's warm build copies 28 MB of cards),
    and the way that always comes after Material pays the most.
    """
    runs: dict[str, list[Build]] = {way: [] for way in configs}
    ways = list(configs)
    for round_ in range(count):
        for way in ways[round_ % len(ways) :] + ways[: round_ % len(ways)]:
            config = configs[way]
            if cold:
                empty_caches(config.parent, trash)
            trash.move(config.parent / "site")
            os.sync()
            runs[way].append(build(config, pythons.get(way, sys.executable)))
            trash.built()
        times = ", ".join(f"{w} {runs[w][-1].seconds:.2f} s ({runs[w][-1].cpu_seconds:.2f} s CPU)" for w in runs)
        print(f"{label} round {round_ + 1}: {times}", flush=True)
    return runs


def differences_ms(runs: dict[str, list[Build]], way: str, cards: int, *, cpu: bool = False) -> list[float]:
    """Each round's build time of ``way`` minus the no-card build of the same round, in ms per card.

    With ``cpu``, of the builds' CPU time instead of their wall time.
    """
    field = "cpu_seconds" if cpu else "seconds"
    pairs = zip(runs[way], runs["none"], strict=True)
    return [(getattr(w, field) - getattr(b, field)) * 1000 / cards for w, b in pairs]


def overhead_ms(runs: dict[str, list[Build]], way: str, cards: int, *, cpu: bool = False) -> float:
    """Median over the rounds of :func:`differences_ms`."""
    return statistics.median(differences_ms(runs, way, cards, cpu=cpu))


BOOTSTRAP_RESAMPLES = 2000


def warm_intervals(runs: dict[str, list[Build]], cards: dict[str, int]) -> dict[str, tuple[float, float]]:
    """95% intervals of each plugin's warm ms per card and of their ratio (key "ratio").

    A percentile bootstrap over the rounds: the rounds are drawn again with replacement,
    whole (a round's builds together, so each difference keeps its own no-card build),
    and the medians worked out again, 2,000 times with a fixed seed. The interval is how
    far the medians would move on another run of as many rounds on an equally noisy
    machine: what the single figure in the table does not say.
    """
    differences = {way: differences_ms(runs, way, n) for way, n in cards.items()}
    count = len(runs["none"])
    draw = random.Random(0)
    samples: dict[str, list[float]] = {way: [] for way in (*cards, "ratio")}
    for _ in range(BOOTSTRAP_RESAMPLES):
        picked = [draw.randrange(count) for _ in range(count)]
        medians = {way: statistics.median(differences[way][i] for i in picked) for way in cards}
        for way, value in medians.items():
            samples[way].append(value)
        if "material" in medians:
            ours = medians["social-cards"]
            samples["ratio"].append(medians["material"] / ours if ours > 0 else math.inf)
    out = {}
    for name, values in samples.items():
        if not values:
            continue
        values.sort()
        out[name] = (values[int(0.025 * len(values))], values[int(0.975 * len(values)) - 1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--warm-runs", type=int, default=30)
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it (default: a temporary one)")
    parser.add_argument("--without-material", action="store_true", help="only the no-card build and social-cards")
    parser.add_argument(
        "--baseline", metavar="PYTHON",
        help="also build with social-cards as installed for this interpreter (an earlier version, say)",
    )  # fmt: skip
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="side-by-side-"))
    ways = {way: plugins for way, plugins in WAYS.items() if not (args.without_material and way == "material")}
    pythons: dict[str, str] = {}
    if args.baseline:
        ways["baseline"] = WAYS["social-cards"]
        pythons["baseline"] = args.baseline
    configs: dict[str, Path] = {}
    for way, plugins in ways.items():
        site = root / way
        shutil.rmtree(site, ignore_errors=True)
        config = configs[way] = make_site(site, args.pages, plugins=plugins)
        config.write_text(config.read_text().replace("  name: material\n", "  name: material" + THEME_FONT))
        if way == "material":
            place_material_fonts(site)
    trash = Trash(root, args.pages)
    try:
        cold = rounds(configs, args.cold_runs, "cold", cold=True, trash=trash, pythons=pythons)
        warm = rounds(configs, args.warm_runs, "warm", cold=False, trash=trash, pythons=pythons)
    finally:
        trash.empty()
    rows = {}
    counts: dict[str, int] = {}
    for way in (w for w in ways if w != "none"):
        cards = list((root / way / "site/assets/images/social").rglob("*.png"))
        n = counts[way] = max(1, len(cards))
        rows[way] = {
            "cold_ms": overhead_ms(cold, way, n),
            "warm_ms": overhead_ms(warm, way, n),
            "warm_cpu_ms": overhead_ms(warm, way, n, cpu=True),
            "peak_mb": max(b.peak_kb for b in [*cold[way], *warm[way]]) / 1024,
            "card_kb": statistics.mean(p.stat().st_size for p in cards) / 1000 if cards else 0.0,
        }
        print(f"{way:13s} {len(cards)} cards", flush=True)
    interval = warm_intervals(warm, counts)
    print(f"\n{args.pages} pages, {os.cpu_count()} cores, Python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d')}")
    print(f"{args.cold_runs} cold and {args.warm_runs} warm rounds; overheads are medians of per-round differences")
    if args.without_material:
        report_ours(rows["social-cards"], interval["social-cards"], counts["social-cards"], cold, warm)
        if "baseline" in rows:
            low, high = interval["baseline"]
            print(
                f"\nbaseline ({args.baseline}), the same rounds: warm {rows['baseline']['warm_ms'] * 10:.2f} s per "
                f"10,000 cards (95% interval {low * 10:.2f} to {high * 10:.2f} s), cold "
                f"{rows['baseline']['cold_ms']:.2f} ms per card, peak {rows['baseline']['peak_mb']:.0f} MB"
            )
        return
    m, s = rows["material"], rows["social-cards"]
    print("| | Material social | social-cards | ratio |")
    print("|---|---|---|---|")
    for label, key, unit in [
        ("cold, ms per card over no cards", "cold_ms", "ms"),
        ("warm, ms per card over no cards", "warm_ms", "ms"),
        ("warm, CPU ms per card over no cards", "warm_cpu_ms", "ms"),
        ("peak memory (PSS), process tree", "peak_mb", "MB"),
        ("average card size", "card_kb", "KB"),
    ]:
        ratio = f"{m[key] / s[key]:.1f}x" if s[key] > 0 else "below the noise"
        print(f"| {label} | {m[key]:.2f} {unit} | {s[key]:.2f} {unit} | {ratio} |")
    low, high = interval["ratio"]
    ratios = f"{low:.1f}x to {high:.1f}x" if math.isfinite(high) else f"{low:.1f}x or more"
    spans = {way: f"{a:.2f} to {b:.2f} ms" for way, (a, b) in interval.items() if way != "ratio"}
    label = "warm, 95% interval of the median (bootstrap)"
    print(f"| {label} | {spans['material']} | {spans['social-cards']} | {ratios} |")
    print(f"| no-card build (median, range) | {no_card_spread(cold, warm)} | | |")
    if "baseline" in rows:
        b = rows["baseline"]
        low, high = interval["baseline"]
        print(f"\nbaseline ({args.baseline}), the same rounds:")
        for label, key, unit in [
            ("cold, ms per card over no cards", "cold_ms", "ms"),
            ("warm, ms per card over no cards", "warm_ms", "ms"),
            ("warm, CPU ms per card over no cards", "warm_cpu_ms", "ms"),
            ("peak memory (PSS), process tree", "peak_mb", "MB"),
        ]:
            print(f"| {label} | {b[key]:.2f} {unit} | Material / baseline {m[key] / b[key]:.1f}x |")
        print(f"| warm, 95% interval of the median (bootstrap) | {low:.2f} to {high:.2f} ms | |")
    print_own_summary(cold, warm)


def no_card_spread(cold: dict[str, list[Build]], warm: dict[str, list[Build]]) -> str:
    nocard = [b.seconds for b in [*cold["none"], *warm["none"]]]
    return f"{statistics.median(nocard):.2f} s ({min(nocard):.2f}-{max(nocard):.2f})"


def print_own_summary(cold: dict[str, list[Build]], warm: dict[str, list[Build]]) -> None:
    own_cold = statistics.median(b.own for b in cold["social-cards"])
    own_warm = statistics.median(b.own for b in warm["social-cards"])
    print(f"\nsocial-cards' own summary (median): cold {own_cold:.2f} s, warm {own_warm:.2f} s")


def report_ours(
    row: dict[str, float],
    interval: tuple[float, float],
    cards: int,
    cold: dict[str, list[Build]],
    warm: dict[str, list[Build]],
) -> None:
    """social-cards' overheads alone (``--without-material``), warm also in seconds per 10,000 pages."""
    per_10k = 10_000 / 1000  # ms per card -> s per 10,000 cards
    print("| | social-cards |")
    print("|---|---|")
    print(f"| cold, ms per card over no cards | {row['cold_ms']:.2f} ms |")
    print(f"| warm, ms per card over no cards | {row['warm_ms']:.3f} ms |")
    print(f"| warm, s per 10,000 cards over no cards | {row['warm_ms'] * per_10k:.2f} s |")
    low, high = interval
    print(
        f"| warm, 95% interval of the median (bootstrap) | {low * per_10k:.2f} to {high * per_10k:.2f} s per 10,000 |"
    )
    print(f"| warm, CPU ms per card over no cards | {row['warm_cpu_ms']:.3f} ms |")
    print(f"| peak memory (PSS), process tree | {row['peak_mb']:.2f} MB |")
    print(f"| average card size | {row['card_kb']:.2f} KB |")
    print(f"| cards | {cards} |")
    print(f"| no-card build (median, range) | {no_card_spread(cold, warm)} |")
    print_own_summary(cold, warm)


if __name__ == "__main__":
    main()
