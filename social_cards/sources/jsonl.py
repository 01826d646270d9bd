"""Cards from a JSON Lines file: one JSON object a line, one card an object.

Each object holds the card's fields (:data:`~social_cards.model.CARD_FIELDS`:
``title`` is required; a ``logo`` must be a file in the JSON Lines file's folder)
and optionally ``template`` (a built-in name, or a folder relative to the file),
``format`` and ``output`` (a path under the output folder; by default the card is
named by its key). A line that cannot be used is reported
with its number and the reason, and the others go on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import SocialCardsError
from ..files import locate
from ..model import CARD_FIELDS, CardInput, RenderSettings
from ..output import OutputFormat
from ..pipeline import CardRequest, Pipeline, Report
from ..pool import RenderPool
from ..store import Store
from ..template import Template, load_template_near

__all__ = ["read_jsonl", "render_jsonl"]

logger = logging.getLogger(__name__)

_EXTRA = ("template", "format", "output")
_KNOWN = {f.name for f in CARD_FIELDS} | set(_EXTRA)


def _card(doc: Any, base: Path) -> CardInput:
    if not isinstance(doc, dict):
        raise SocialCardsError(f"expected a JSON object, got {type(doc).__name__}")
    unknown = set(doc) - _KNOWN
    if unknown:
        raise SocialCardsError(f"unknown field(s) {', '.join(sorted(unknown))}; expected {', '.join(sorted(_KNOWN))}")
    title = doc.get("title")
    if not isinstance(title, str) or not title.strip():
        raise SocialCardsError("'title' is required and must be a non-empty string")
    values: dict[str, Any] = {}
    for spec in CARD_FIELDS:
        if spec.name not in doc:
            continue
        value = doc[spec.name]
        if spec.kind == "text":
            if not isinstance(value, (str, int, float)):
                raise SocialCardsError(f"'{spec.name}' must be a string")
            values[spec.name] = str(value)
        elif spec.kind == "list":
            value = [value] if isinstance(value, str) else value
            if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
                raise SocialCardsError(f"'{spec.name}' must be a string or a list of strings")
            values[spec.name] = tuple(str(v) for v in value)
        elif spec.kind == "options":
            if not isinstance(value, dict):
                raise SocialCardsError(f"'{spec.name}' must be an object of option names to values")
            values[spec.name] = CardInput.options_from(value)
        elif value is not None:
            if not isinstance(value, str):
                raise SocialCardsError(f"'{spec.name}' must be a path")
            values[spec.name] = locate(base, value, f"'{spec.name}'", "the JSON Lines file's folder")
    return CardInput(**values)


def read_jsonl(
    source: Path, settings: RenderSettings, out_dir: Path | None = None
) -> Iterator[CardRequest | tuple[str, str]]:
    """A request for each usable line, and ``(ref, reason)`` for each line that is not.

    Raises:
        SocialCardsError: the file cannot be read.
    """
    templates: dict[str, Template] = {}
    told: set[str] = set()
    base = source.parent
    try:
        handle = source.open(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise SocialCardsError(f"cannot read {source}: {exc.strerror or exc}") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            ref = f"{source}:{number}"
            try:
                doc = json.loads(raw)
                card = _card(doc, base)
                ref_name = str(doc.get("template", "default"))
                template = templates.get(ref_name)
                if template is None:
                    template = templates[ref_name] = load_template_near(ref_name, base)
                unknown = template.unknown_options(name for name, _ in card.options)
                if unknown and settings.strict:
                    raise SocialCardsError(f"'options': {unknown}")
                if unknown and unknown not in told:
                    told.add(unknown)
                    logger.warning("%s: 'options': %s (said once for all lines)", ref, unknown)
                line_settings = settings
                if "format" in doc:
                    line_settings = replace(settings, output=OutputFormat.named(str(doc["format"])))
                output = doc.get("output")
                if output is not None and not isinstance(output, str):
                    raise SocialCardsError("'output' must be a relative path")
            except json.JSONDecodeError as exc:
                yield ref, f"invalid JSON: {exc.msg} (column {exc.colno})"
                continue
            except SocialCardsError as exc:
                yield ref, str(exc)
                continue
            yield CardRequest(ref, template, card, line_settings, out_dir, output)


def render_jsonl(
    source: Path,
    store: Store,
    pool: RenderPool,
    *,
    settings: RenderSettings | None = None,
    out_dir: Path | None = None,
    strict: bool = False,
    progress: Callable[[Report], None] | None = None,
    shard: tuple[int, int] | None = None,
) -> Report:
    """Make every card a JSON Lines file describes (of slice ``shard``); returns the counts and the line errors.

    Raises:
        SocialCardsError: the source cannot be read; or, with ``strict``, the first failure.
    """
    pipeline = Pipeline(store, pool, strict=strict, progress=progress, shard=shard)
    with pipeline:
        for item in read_jsonl(source, settings or RenderSettings(strict=strict), out_dir):
            if isinstance(item, CardRequest):
                pipeline.submit(item)
            else:
                pipeline.reject(*item)
    return pipeline.report
