"""What reading a built site costs: `social-cards site DIR` against `render` of the same cards from JSON Lines.

Generates an HTML folder of N pages (heads the size a documentation theme writes,
with scripts, styles and meta tags) and a JSON Lines file with the same cards at
the same paths. Then, in alternating rounds, each command runs on its own copy:
cold (an empty cache: every card drawn) and warm (the cache full, the site freshly
copied, as after a rebuild). Reports medians, and each run's peak memory of the
whole process tree.

    python tests/benchmarks/site_vs_jsonl.py --pages 10000 --cold 1 --warm 3
    python tests/benchmarks/site_vs_jsonl.py --pages 100000 --cold 0 --warm 1 --jsonl-warm 0

Run it from an installed (not editable) copy, as side_by_side.py says.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from process_tree import Run, installed_env, run

SITE_URL = "https://bench.example.org/"
WORDS = ("cache", "plugin", "search", "theme", "build", "deploy", "card", "page", "index", "config", "日本語", "niño")

HEAD = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="description" content="{description}">
<meta name="generator" content="bench">
<link rel="canonical" href="{url}">
<link rel="icon" href="/assets/favicon.png">
<title>{title} - Bench Docs</title>
<link rel="stylesheet" href="/assets/stylesheets/main.css">
<style>:root{{--md-primary:#4051b5}} .md-typeset h1{{margin:0 0 1.25em}}</style>
<script>var __config = {{"base": "..", "features": [], "search": "/assets/search.js"}};
if (location.hash === "#</head>") {{ console.log("not the end"); }}</script>
{filler}
</head>
<body>
<header><nav>{nav}</nav></header>
<article><h1>{title}</h1>{body}</article>
</body>
</html>
"""


def _title(n: int) -> str:
    return f"{WORDS[n % len(WORDS)].title()} {WORDS[(n // 7) % len(WORDS)]} guide number {n}"


def generate(root: Path, pages: int) -> tuple[Path, Path]:
    """An HTML folder of ``pages`` pages and a JSON Lines file of the same cards."""
    site = root / "site"
    jsonl = root / "cards.jsonl"
    filler = "\n".join(f'<link rel="preload" href="/assets/font-{i}.woff2" as="font">' for i in range(20))
    nav = "".join(f'<a href="/section-{i}/">Section {i}</a>' for i in range(40))
    body = "<p>" + " ".join(WORDS * 40) + "</p>"
    with jsonl.open("w", encoding="utf-8") as lines:
        for n in range(pages):
            ref = f"section-{n // 100}/page-{n}/index.html"
            title, description = _title(n), f"Page {n} of the benchmark site"
            url = f"{SITE_URL}section-{n // 100}/page-{n}/"
            path = site / ref
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(HEAD.format(title=title, description=description, url=url, filler=filler, nav=nav,
                                        body=body), encoding="utf-8")  # fmt: skip
            output = f"assets/images/social/section-{n // 100}/page-{n}/index.png"
            card = {"title": title, "description": description, "site_name": "Bench Docs", "site_url": SITE_URL,
                    "page_url": url, "output": output}  # fmt: skip
            lines.write(json.dumps(card, ensure_ascii=False) + "\n")
    return site, jsonl


def _run(command: list[str], cache: Path, cwd: Path) -> Run:
    env = installed_env()
    env["SOCIAL_CARDS_CACHE_DIR"] = str(cache)
    done = run(command, cwd, env)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return done


def rounds(site: Path, jsonl: Path, work: Path, n: int, *, cold: bool, jsonl_runs: bool) -> dict[str, list[Run]]:
    runs: dict[str, list[Run]] = {"site": [], "jsonl": []}
    caches = {"site": work / "cache-site", "jsonl": work / "cache-jsonl"}
    for _ in range(n):
        for way in ("site", "jsonl") if jsonl_runs else ("site",):
            if cold:
                shutil.rmtree(caches[way], ignore_errors=True)
            target = work / f"out-{way}"
            shutil.rmtree(target, ignore_errors=True)
            if way == "site":
                shutil.copytree(site, target)
                command = [sys.executable, "-m", "social_cards", "site", str(target), "--site-url", SITE_URL]
            else:
                command = [sys.executable, "-m", "social_cards", "render", str(jsonl), "--out-dir", str(target)]
            runs[way].append(_run(command, caches[way], work))
    return runs


def _line(label: str, runs: dict[str, list[Run]]) -> None:
    for way, done in runs.items():
        if not done:
            continue
        seconds = statistics.median(r.seconds for r in done)
        cpu = statistics.median(r.cpu_seconds for r in done)
        peak = max(r.peak_mb for r in done)
        spread = f"{min(r.seconds for r in done):.2f}-{max(r.seconds for r in done):.2f}"
        print(f"{label:5} {way:6} median {seconds:7.2f} s (range {spread}), CPU {cpu:7.2f} s, peak {peak:6.0f} MB")
    if runs["site"] and runs["jsonl"]:
        ratio = statistics.median(r.seconds for r in runs["site"]) / statistics.median(r.seconds for r in runs["jsonl"])
        print(f"{label:5} site / jsonl = {ratio:.3f} (site adds {100 * (ratio - 1):+.1f}%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--cold", type=int, default=1, help="cold rounds (each command draws every card)")
    parser.add_argument("--warm", type=int, default=3, help="warm rounds")
    parser.add_argument("--jsonl-warm", type=int, default=1, help="0: time only `site` when warm (a large site)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="site-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    site, jsonl = generate(work, args.pages)
    print(f"{args.pages} pages, {sum(1 for _ in site.rglob('*.html'))} HTML files in {work}")
    if args.cold:
        _line("cold", rounds(site, jsonl, work, args.cold, cold=True, jsonl_runs=True))
    else:  # the warm rounds need full caches
        rounds(site, jsonl, work, 1, cold=True, jsonl_runs=bool(args.jsonl_warm))
    if args.warm:
        _line("warm", rounds(site, jsonl, work, args.warm, cold=False, jsonl_runs=bool(args.jsonl_warm)))
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
