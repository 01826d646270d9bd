"""Preview sheets: templates drawn with sample titles, side by side on one HTML page.

A template author runs ``social-cards preview`` on a folder and reloads the page
after each edit (``--watch`` redraws on every change); the documentation's
gallery is the same sheet for the built-in templates. Cards go through the
store and the pool like any batch, so redrawing a sheet after editing one
option draws only the cards that changed.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from .errors import SocialCardsError
from .model import CardInput, RenderSettings
from .output import OutputFormat
from .pipeline import CardRequest, run
from .pool import RenderPool
from .store import Store
from .template import Template, load_template

__all__ = ["SAMPLES", "PreviewCard", "PreviewSheet", "Sample", "draw_sheet", "samples_from_titles"]


@dataclasses.dataclass(frozen=True, slots=True)
class Sample:
    """A sample page a preview draws: a short name (used in file names), a title, a description."""

    name: str
    title: str
    description: str = ""


SAMPLES: tuple[Sample, ...] = (
    Sample("short", "Ship it", "Release notes in one line"),
    Sample(
        "long",
        "How we cut a ten-thousand-page documentation build from twenty minutes to forty seconds without "
        "giving up a single card",
        "A long title wraps, shrinks to fit, and ends with an ellipsis when even the smallest size overflows.",
    ),
    Sample("latin", "Olá, café com pão de queijo às três 😃🎉", "Crème brûlée, naïve façades, Ærøskøbing"),
    Sample("chinese", "你好，世界：每个页面都有自己的社交卡片", "内容哈希缓存，增量构建只绘制改变的卡片"),
    Sample("arabic", "مرحبا بالعالم: بطاقة لكل صفحة", "نص عربي مشكّل ومتصل من اليمين إلى اليسار"),
    Sample("japanese", "はじめに：検索プラグインの設定方法", "日本語のページにも、その言語のカードを"),
    Sample("thai", "เริ่มต้นใช้งานปลั๊กอินค้นหาสำหรับเว็บไซต์เอกสาร", "บรรทัดตัดระหว่างคำ ไม่ตัดกลางคำ"),
    Sample("code", "The `Client.__init__()` method and `__all__`", "A code span keeps its underscores"),
)
"""The built-in samples: a short and a long title, and titles in several scripts."""


@dataclasses.dataclass(frozen=True, slots=True)
class PreviewCard:
    """One card of a sheet: which template and sample, its file name in the sheet's folder."""

    template: str
    sample: Sample
    file: str
    key: str = ""
    error: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class PreviewSheet:
    """A drawn sheet: its cards (in template, then sample order), the template folders, the counts."""

    page: Path
    cards: tuple[PreviewCard, ...]
    roots: tuple[Path, ...]
    cached: int
    drawn: int
    failed: int


def samples_from_titles(titles: Sequence[str]) -> tuple[Sample, ...]:
    """Samples for titles given on the command line, named ``title-1``, ``title-2``..."""
    return tuple(Sample(f"title-{n}", title) for n, title in enumerate(titles, start=1))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "template"


def draw_sheet(
    templates: Sequence[str | Path],
    out_dir: Path,
    store: Store,
    pool: RenderPool,
    *,
    samples: Sequence[Sample] = SAMPLES,
    options: Mapping[str, str] | None = None,
    site_name: str = "social-cards",
    logo: Path | None = None,
    output: OutputFormat | None = None,
    refresh_seconds: int = 0,
) -> PreviewSheet:
    """Draw every template with every sample into ``out_dir`` and write ``index.html`` there.

    Cards that cannot be drawn are listed on the page with the reason instead of a
    picture. ``refresh_seconds`` makes the page reload itself (for ``--watch``).

    Raises:
        SocialCardsError: a template cannot be loaded, or ``out_dir`` cannot be written.
    """
    fmt = output or OutputFormat.named("png")
    loaded: dict[str, Template] = {}
    for ref in templates:
        template = load_template(ref)
        name = _slug(template.name)
        while name in loaded:  # two folders of the same name
            name += "-2"
        loaded[name] = template
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SocialCardsError(f"cannot create {out_dir}: {exc.strerror or exc}") from None
    option_pairs = CardInput.options_from(dict(options or {}))
    pages = {
        sample: CardInput(
            title=sample.title,
            description=sample.description,
            site_name=site_name,
            date="2026-11-21",
            authors=("Ana Lima",),
            tags=("preview",),
            logo=logo,
            options=option_pairs,
        )
        for sample in samples
    }
    cards = {}
    for name in loaded:
        for sample in samples:
            file = f"{name}-{sample.name}{fmt.suffix}"
            cards[file] = PreviewCard(name, sample, file)

    settings = RenderSettings(output=fmt)

    def requests() -> Iterator[CardRequest]:
        for preview in cards.values():
            template, card = loaded[preview.template], pages[preview.sample]
            yield CardRequest(preview.file, template, card, settings, out_dir, preview.file)

    report = run(requests(), store, pool)
    for ref, result in report.results.items():
        cards[ref] = dataclasses.replace(cards[ref], key=result.key)
    for error in report.errors:
        cards[error.ref] = dataclasses.replace(cards[error.ref], error=error.reason)
        (out_dir / error.ref).unlink(missing_ok=True)  # never show an older picture for a card that failed
    sheet = PreviewSheet(
        out_dir / "index.html",
        tuple(cards.values()),
        tuple(t.root for t in loaded.values()),
        report.cached,
        report.drawn,
        report.failed,
    )
    page = _page(sheet, loaded, refresh_seconds)
    try:
        sheet.page.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise SocialCardsError(f"cannot write {sheet.page}: {exc.strerror or exc}") from None
    return sheet


def _page(sheet: PreviewSheet, templates: Mapping[str, Template], refresh_seconds: int) -> str:
    esc = html.escape
    refresh = f'<meta http-equiv="refresh" content="{refresh_seconds}">' if refresh_seconds > 0 else ""
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        refresh,
        "<title>social-cards preview</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2rem;background:#f4f4f5;color:#18181b}"
        "section{margin-bottom:3rem}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));"
        "gap:1.5rem}figure{margin:0}img{width:100%;height:auto;border-radius:8px;box-shadow:0 1px 4px #0003}"
        "figcaption{font-size:.85rem;margin-top:.4rem;color:#52525b}.error{color:#b91c1c;white-space:pre-wrap}"
        "</style></head><body>",
        f"<h1>social-cards preview</h1><p>{sheet.drawn} drawn, {sheet.cached} from the cache, "
        f"{sheet.failed} failed.</p>",
    ]
    for name, template in templates.items():
        parts.append(f'<section id="{esc(name)}"><h2>{esc(template.name)}</h2>')
        parts.append(f"<p>{esc(template.description)} <code>{esc(str(template.root))}</code></p>")
        parts.append('<div class="grid">')
        for card in sheet.cards:
            if card.template != name:
                continue
            caption = f"{esc(card.sample.name)}: {esc(card.sample.title)}"
            if card.error:
                parts.append(f'<figure><p class="error">{esc(card.error)}</p><figcaption>{caption}</figcaption>')
            else:
                src = f"{esc(card.file)}?{esc(card.key[:8])}"  # a new key is a new URL: no stale browser cache
                alt = esc(card.sample.title)
                parts.append(
                    f'<figure><img src="{src}" alt="{alt}" width="{template.width}" height="{template.height}">'
                    f"<figcaption>{caption}</figcaption>"
                )
            parts.append("</figure>")
        parts.append("</div></section>")
    parts.append("</body></html>\n")
    return "\n".join(p for p in parts if p)
