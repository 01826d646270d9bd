"""Side by side: one generated MkDocs site built without cards, with Material's social plugin, and with social-cards.

    python tests/benchmarks/side_by_side.py --pages 1000 [--warm-runs 5] [--keep DIR]

Each way is built cold (empty cache), then warm several times, the three ways taking
turns; a plugin's warm overhead is the median over the rounds of its build time
minus the no-card build of the same round. A build without cards has no cache, so
its cold and warm builds are the same work: a plugin's cold overhead is taken
against the median of all of them, not against its single first run. The report
gives, for both plugins, milliseconds per card over the no-card build (cold and
warm), the peak memory of the whole process tree (pool workers included, sampled
from /proc), the average card size, and the ratios.

Material's plugin downloads its fonts from Google Fonts on first use. This script
makes no network request: both plugins use the Inter font, and before the first
Material build the script copies Inter (bundled with social-cards) into Material's
font cache folder (``.cache/plugin/social/fonts/Inter``), where Material looks
before it downloads anything. Linux only (memory is read from /proc).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from process_tree import installed_env, run
from sites import make_site

from social_cards.fonts import BUNDLED_FONTS_DIR

WAYS = {
    "none": "  []",
    "material": "  - social:\n      cards_layout_options:\n        font_family: Inter",
    "social-cards": "  - social-cards",
}
THEME_FONT = "\n  font:\n    text: Inter\n"


def build(config: Path) -> tuple[float, int]:
    """Wall seconds and peak tree memory (KB) of one `mkdocs build`."""
    env = installed_env()
    env.pop("SOCIAL_CARDS_CACHE_DIR", None)
    done = run([sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(config)], config.parent, env)
    if done.returncode != 0:
        raise SystemExit(f"build of {config} failed:\n{done.stderr[-3000:]}")
    return done.seconds, done.peak_kb


def place_material_fonts(site: Path) -> None:
    target = site / ".cache/plugin/social/fonts/Inter"
    target.mkdir(parents=True, exist_ok=True)
    for style, name in [("Regular", "Inter-Regular.otf"), ("Bold", "Inter-Bold.otf")]:
        shutil.copy(BUNDLED_FONTS_DIR / name, target / f"{style}.ttf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--warm-runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it (default: a temporary one)")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="side-by-side-"))
    configs: dict[str, Path] = {}
    cold: dict[str, tuple[float, int]] = {}
    for way, plugins in WAYS.items():
        site = root / way
        shutil.rmtree(site, ignore_errors=True)
        config = configs[way] = make_site(site, args.pages, plugins=plugins)
        config.write_text(config.read_text().replace("  name: material\n", "  name: material" + THEME_FONT))
        if way == "material":
            place_material_fonts(site)
        cold[way] = build(config)
        print(f"{way:13s} cold {cold[way][0]:7.2f} s", flush=True)
    # Warm runs take turns, so a slow spell of this shared machine hits every way alike;
    # each plugin's overhead is taken against the no-card build of the same round.
    warm: dict[str, list[tuple[float, int]]] = {way: [] for way in WAYS}
    for round_ in range(args.warm_runs):
        for way in WAYS:
            warm[way].append(build(configs[way]))
        print(f"warm round {round_ + 1}: " + ", ".join(f"{w} {warm[w][-1][0]:.2f} s" for w in WAYS), flush=True)
    base = statistics.median([cold["none"][0], *(s for s, _ in warm["none"])])
    rows = {}
    for way in ("material", "social-cards"):
        cards = list((root / way / "site/assets/images/social").rglob("*.png"))
        n = max(1, len(cards))
        overheads = [w[0] - b[0] for w, b in zip(warm[way], warm["none"], strict=True)]
        rows[way] = {
            "cold_ms": (cold[way][0] - base) * 1000 / n,
            "warm_ms": statistics.median(overheads) * 1000 / n,
            "peak_mb": max([cold[way][1], *(p for _, p in warm[way])]) / 1024,
            "card_kb": statistics.mean(p.stat().st_size for p in cards) / 1000 if cards else 0.0,
        }
        print(f"{way:13s} {len(cards)} cards", flush=True)
    m, s = rows["material"], rows["social-cards"]
    print(f"\n{args.pages} pages, {os.cpu_count()} cores, Python {sys.version.split()[0]}, {time.strftime('%Y-%m-%d')}")
    print("| | Material social | social-cards | ratio |")
    print("|---|---|---|---|")
    for label, key, unit in [
        ("cold, ms per card over no cards", "cold_ms", "ms"),
        ("warm, ms per card over no cards", "warm_ms", "ms"),
        ("peak memory (PSS), process tree", "peak_mb", "MB"),
        ("average card size", "card_kb", "KB"),
    ]:
        ratio = m[key] / s[key] if s[key] > 0 else float("inf")
        print(f"| {label} | {m[key]:.2f} {unit} | {s[key]:.2f} {unit} | {ratio:.1f}x |")
    print(f"| no-card build (median of {len(warm['none']) + 1}) | {base:.2f} s | | |")


if __name__ == "__main__":
    main()
