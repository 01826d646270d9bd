"""A batch of cards from a JSON Lines file: parse, resolve, look up, draw what is missing.

Each line is one card: ``title`` (required), ``description``, ``template``,
``options``, ``output`` (a path under the output folder), and the other page
variables (``site_name``, ``site_url``, ``page_url``, ``date``, ``authors``,
``tags``, ``categories``, ``logo``). A line that cannot be used is reported with
its number and reason; the rest goes on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import SocialCardsError
from .output import OutputFormat, write_card
from .pool import Job, Outcome, RenderPool
from .store import Store
from .template import CardInput, Template, load_template

__all__ = ["BatchReport", "LineError", "render_jsonl"]

LOOKUP_CHUNK = 500
"""Lines resolved and looked up together: one store query each, and bounded memory."""

_TEXT_FIELDS = ("title", "description", "site_name", "site_url", "page_url", "date")
_LIST_FIELDS = ("authors", "tags", "categories")
_KNOWN = {*_TEXT_FIELDS, *_LIST_FIELDS, "template", "options", "output", "logo", "format"}


@dataclass(frozen=True, slots=True)
class LineError:
    """A card that could not be made: its line number and why."""

    line: int
    reason: str


@dataclass(slots=True)
class BatchReport:
    """Counts of a batch, updated as it runs (for progress) and final at the end."""

    cards: int = 0
    cached: int = 0
    drawn: int = 0
    failed: int = 0
    errors: list[LineError] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    @property
    def done(self) -> int:
        return self.cached + self.drawn + self.failed

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started


class _StopBatch(Exception):
    pass


def _card(doc: Any, base: Path) -> tuple[CardInput, str, OutputFormat, str | None]:
    if not isinstance(doc, dict):
        raise SocialCardsError(f"expected a JSON object, got {type(doc).__name__}")
    unknown = set(doc) - _KNOWN
    if unknown:
        raise SocialCardsError(f"unknown field(s) {', '.join(sorted(unknown))}; expected {', '.join(sorted(_KNOWN))}")
    title = doc.get("title")
    if not isinstance(title, str) or not title.strip():
        raise SocialCardsError("'title' is required and must be a non-empty string")
    text = {}
    for name in _TEXT_FIELDS:
        value = doc.get(name, "")
        if not isinstance(value, (str, int, float)):
            raise SocialCardsError(f"'{name}' must be a string")
        text[name] = str(value)
    lists = {}
    for name in _LIST_FIELDS:
        value = doc.get(name, [])
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
            raise SocialCardsError(f"'{name}' must be a string or a list of strings")
        lists[name] = tuple(str(v) for v in value)
    options = doc.get("options", {})
    if not isinstance(options, dict):
        raise SocialCardsError("'options' must be an object of option names to values")
    logo = doc.get("logo")
    if logo is not None and not isinstance(logo, str):
        raise SocialCardsError("'logo' must be a path")
    output = doc.get("output")
    if output is not None and not isinstance(output, str):
        raise SocialCardsError("'output' must be a relative path")
    card = CardInput(
        title=text["title"],
        description=text["description"],
        site_name=text["site_name"],
        site_url=text["site_url"],
        page_url=text["page_url"],
        date=text["date"],
        authors=lists["authors"],
        tags=lists["tags"],
        categories=lists["categories"],
        logo=(base / logo).resolve() if logo else None,
        options=CardInput.options_from(options),
    )
    return card, str(doc.get("template", "default")), OutputFormat.named(str(doc.get("format", "png"))), output


def _target(out_dir: Path, output: str | None, key: str, fmt: OutputFormat) -> Path:
    name = output if output else f"{key}{fmt.suffix}"
    relative = Path(name)
    root = out_dir.resolve()
    target = (root / relative).resolve()
    if relative.is_absolute() or not target.is_relative_to(root) or target == root:
        raise SocialCardsError(f"'output' {name!r} is outside --out-dir; it must be a relative path inside it")
    return target


def render_jsonl(
    source: Path,
    store: Store,
    pool: RenderPool,
    *,
    out_dir: Path | None = None,
    strict: bool = False,
    fonts: tuple[Path, ...] = (),
    progress: Callable[[BatchReport], None] | None = None,
) -> BatchReport:
    """Make every card a JSON Lines file describes; returns the counts and the line errors.

    Cards already cached are only copied to ``out_dir`` (if given); the rest are drawn
    by ``pool``. With ``strict``, the first bad line or failed card stops the batch.

    Raises:
        SocialCardsError: the source cannot be read; or, with ``strict``, the first failure.
    """
    report = BatchReport()
    templates: dict[str, Template] = {}
    base = source.parent

    def fail(line: int, reason: str) -> None:
        report.failed += 1
        report.errors.append(LineError(line, reason))
        if strict:
            raise _StopBatch(f"line {line}: {reason}")

    def resolved_lines() -> Iterator[tuple[int, str, Job]]:
        try:
            handle = source.open(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise SocialCardsError(f"cannot read {source}: {exc.strerror or exc}") from None
        with handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                report.cards += 1
                try:
                    card, template_ref, fmt, output = _card(json.loads(raw), base)
                    template = templates.get(template_ref)
                    if template is None:
                        local = base / template_ref
                        template = load_template(local if local.is_dir() else template_ref)
                        templates[template_ref] = template
                    spec = template.resolve(card, output=fmt, fonts=fonts, strict=strict)
                    target = _target(out_dir, output, spec.key, fmt) if out_dir is not None else None
                except json.JSONDecodeError as exc:
                    fail(number, f"invalid JSON: {exc.msg} (column {exc.colno})")
                    continue
                except SocialCardsError as exc:
                    fail(number, str(exc))
                    continue
                yield number, spec.key, Job(spec, target)

    line_of: dict[str, int] = {}
    copies: dict[str, list[Path]] = {}

    def jobs() -> Iterator[Job]:
        chunk: list[tuple[int, str, Job]] = []
        for item in resolved_lines():
            chunk.append(item)
            if len(chunk) >= LOOKUP_CHUNK:
                yield from lookup(chunk)
                chunk = []
        yield from lookup(chunk)

    def lookup(chunk: list[tuple[int, str, Job]]) -> Iterator[Job]:
        served = store.materialize_many((key, job.target) for _, key, job in chunk)
        drawing: dict[str, Job] = {}
        for number, key, job in chunk:
            if key in served:
                report.cached += 1
            elif key in drawing:
                if job.target is not None:  # the same card under two names: copy when drawn
                    copies.setdefault(key, []).append(job.target)
                report.cached += 1
            else:
                drawing[key] = job
                line_of[key] = number
        if progress is not None:
            progress(report)
        yield from drawing.values()

    def done(outcome: Outcome) -> None:
        if outcome.error is not None:
            fail(line_of.pop(outcome.key, 0), outcome.error)
        else:
            line_of.pop(outcome.key, None)
            report.drawn += 1
            if outcome.job.target is not None:
                data = outcome.job.target.read_bytes()
                for extra in copies.pop(outcome.key, []):
                    write_card(extra, data)
        if progress is not None:
            progress(report)

    try:
        for _ in pool.run(jobs(), on_done=done):
            pass
    except _StopBatch as exc:
        raise SocialCardsError(str(exc)) from None
    return report
