"""Synthetic MkDocs sites for benchmarks: N pages, titles of mixed length, accented Latin, some emoji."""

from __future__ import annotations

import json
import os
import random
import shutil
import time
from pathlib import Path

_WORDS = (  # noqa: SIM905 (a sentence reads better than a list of 38 strings)
    "cache build card render social page title font glyph layout theme plugin site index search deploy "
    "café naïve résumé façade über Ångström déjà-vu piñata smörgåsbord crème brûlée Zürich São Paulo "
    "quickstart configuration reference release notes migration performance internals"
).split()
TRASH_BUILDS = 90_000
"""Pages' worth of moved-aside builds kept before deleting them (30 rounds of 1,000 pages: about 2.5 GB)."""
REUSE_WAIT_S = 65
"""How long ext4 without a journal keeps a deleted file's inode from being reused (60 s), and a margin."""

_EMOJI = ["🚀", "🎉", "✨", "🔥", "📦", "👩‍💻", "🇫🇷", "❤️"]


def title(rng: random.Random) -> str:
    """A title of 2 to 16 words; about one in six carries an emoji."""
    words = [rng.choice(_WORDS) for _ in range(rng.choice([2, 3, 4, 5, 6, 8, 10, 16]))]
    text = " ".join(words).capitalize()
    if rng.random() < 1 / 6:
        text += " " + rng.choice(_EMOJI)
    return text


def make_site(root: Path, pages: int, *, plugins: str = "", theme: str = "material", seed: int = 7) -> Path:
    """Write ``root/mkdocs.yml`` and ``pages`` Markdown pages in folders of 100; returns the config path.

    The navigation lists the home page only: themes render the whole navigation into
    every page, which makes a build grow with the square of the page count and would
    drown what the cards cost.
    """
    rng = random.Random(seed)
    docs = root / "docs"
    for n in range(pages):
        folder = docs / f"section-{n // 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        description = f"description: {title(rng)!r}\n" if n % 3 == 0 else ""
        (folder / f"page-{n:05d}.md").write_text(
            f"---\n{description}---\n# {title(rng)}\n\nSome text for page {n}.\n", encoding="utf-8"
        )
    (docs / "index.md").write_text("# Home\n\nA generated site.\n", encoding="utf-8")
    config = root / "mkdocs.yml"
    config.write_text(
        f"site_name: Generated Site\nsite_url: https://example.org/\ntheme:\n  name: {theme}\n"
        f"nav:\n  - index.md\nplugins:\n{plugins or '  []'}\n",
        encoding="utf-8",
    )
    return config


def write_titles(path: Path, cards: int, *, seed: int = 11) -> Path:
    """A JSON Lines file for `social-cards render`: ``cards`` distinct generated titles, a third with descriptions."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for n in range(cards):
            doc = {"title": f"{title(rng)} #{n}", "site_name": "Generated Site"}
            if n % 3 == 0:
                doc["description"] = title(rng)
            out.write(json.dumps(doc, ensure_ascii=False) + "\n")
    return path


class Trash:
    """Folders moved aside between builds and deleted later, out of the builds' way.

    ext4 without a journal (this machine's disk) does not reuse a file's inode within a
    minute of its deletion, and each new file's inode is found by stepping over every
    such one. After the last site was deleted, MkDocs' 1,003 page writes of a 1,000-page
    build took 0.29-1.40 s of CPU, growing from build to build and by folder (with cards
    or without); after it was moved aside, 0.09-0.11 s. Deleted between builds, that cost
    would fall on whichever folder had seen the most deletions. When the moved folders
    outgrow ``TRASH_BUILDS`` pages' worth they are deleted, and the next build waits out
    the minute.
    """

    def __init__(self, root: Path, pages: int) -> None:
        self.folder = root / "trash"
        self.pages = pages
        self._moved = 0
        self._builds = 0

    def move(self, path: Path) -> None:
        if path.exists():
            self.folder.mkdir(exist_ok=True)
            path.rename(self.folder / f"{self._moved}-{path.name}")
            self._moved += 1

    def built(self) -> None:
        """Count a build; empty the trash, and wait out the inode reuse delay, once it is full."""
        self._builds += 1
        if self._builds * self.pages >= TRASH_BUILDS:
            self.empty()
            time.sleep(REUSE_WAIT_S)

    def empty(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        os.sync()
        self._builds = 0
