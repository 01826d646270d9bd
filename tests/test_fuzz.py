"""Long property-based runs over every way hostile input arrives: JSON Lines, front matter, template fields.

Marked `fuzz`: the default test run leaves them out; `pytest -m fuzz` runs them (minutes). Each example
must give a valid card or exactly one clear error for it: never a traceback, a hang or a file outside
where it belongs.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from conftest import decode, hostile_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from social_cards import CardInput, SocialCardsError, load_template
from social_cards.pipeline import Pipeline
from social_cards.pool import RenderPool
from social_cards.sources.jsonl import render_jsonl
from social_cards.store import Store

pytestmark = pytest.mark.fuzz

FUZZ = settings(max_examples=6500, deadline=None, suppress_health_check=list(HealthCheck))

_scalar = st.one_of(hostile_text(), st.integers(), st.floats(allow_nan=True), st.booleans(), st.none())
_value = st.recursive(
    _scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text(), inner, max_size=3),
    max_leaves=6,
)
_FIELDS = ["title", "description", "site_name", "date", "authors", "tags", "logo", "options", "output", "format",
           "template", "page_url"]  # fmt: skip


@FUZZ
@given(
    lines=st.lists(
        st.dictionaries(st.sampled_from(_FIELDS) | hostile_text(), _value, max_size=6), min_size=1, max_size=4
    )
)
def test_fuzz_json_lines(lines: list[dict[str, Any]]) -> None:
    """Any JSON objects as lines: each line is a card under --out-dir or exactly one error naming its line."""
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        source = root / "in" / "cards.jsonl"
        source.parent.mkdir()
        source.write_text(
            "\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8", errors="surrogatepass"
        )
        out = root / "out"
        with Store(root / "cache") as store, RenderPool(1) as pool:
            report = render_jsonl(source, store, pool, out_dir=out)
        assert report.cards == len(lines) == report.done
        assert len({error.ref for error in report.errors}) == report.failed
        for result in report.results.values():
            assert result.target is not None and result.target.resolve().is_relative_to(out.resolve())
            assert decode(result.target.read_bytes()).size == (result.width, result.height)
        assert {p.parent.name for p in root.rglob("*") if p.is_file()} <= {
            "in",
            "cards",
            "out",
            *{p.name for p in out.rglob("*") if p.is_dir()},
            *{p.name for p in (root / "cache").rglob("*") if p.is_dir()},
        }


@FUZZ
@given(social=st.dictionaries(st.sampled_from(["cards", "title", "description", "template", "options", "image"])
                              | hostile_text(), _value, max_size=5),
       title=hostile_text())  # fmt: skip
def test_fuzz_front_matter(social: dict[str, Any], title: str) -> None:
    """Any `social:` front matter on a page: a card, the page's own picture, or warnings; never an exception."""
    from mkdocs.config import load_config
    from mkdocs.structure.files import File, Files
    from mkdocs.structure.pages import Page
    from mkdocs_social_cards.config import Settings
    from mkdocs_social_cards.site import SiteCards

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "docs").mkdir()
        (root / "docs" / "page.md").write_text("# Page\n", encoding="utf-8")
        (root / "mkdocs.yml").write_text("site_name: S\nsite_url: https://example.org/\n", encoding="utf-8")
        config = load_config(str(root / "mkdocs.yml"))
        files = Files([File("page.md", str(root / "docs"), str(root / "site"), True)])
        page = Page(None, files.documentation_pages()[0], config)
        page.read_source(config)
        page.meta = {"social": social, "title": title}
        with Store(root / "cache") as store, RenderPool(1) as pool:
            pipeline = Pipeline(store, pool)
            site = SiteCards(Settings(base=root), config, pipeline, out_dir=root / "site", tagging=True)
            site.add(page)
            tags = site.tags(page)
            report = pipeline.finish()
        assert tags is not None or report.failed == 1 or social.get("cards") is False
        for path in (root / "site").rglob("*"):
            assert path.resolve().is_relative_to((root / "site").resolve())


_FIELD_TEXT = st.one_of(hostile_text(), st.sampled_from([
    "{{ title }}", "{% for a in range(10) %}{{ a }}{% endfor %}", "{{ options.x * 99999999 }}", "#zzz", "-5", "1e9",
    "{{ range(10**9) | list }}", "{{ self }}", "{{ ''.__class__ }}", "../../etc/passwd", "/dev/zero", "bundled:x",
]))  # fmt: skip


@FUZZ
@given(
    kind=st.sampled_from(["background", "rect", "text", "image", "svg"]),
    fields=st.dictionaries(
        st.sampled_from(
            [
                "x",
                "y",
                "width",
                "height",
                "color",
                "text",
                "size",
                "file",
                "font",
                "when",
                "fill",
                "max_lines",
                "align",
                "opacity",
                "radius",
            ]
        ),
        _FIELD_TEXT | st.integers(-(10**6), 10**6) | st.floats(allow_nan=False),
        max_size=5,
    ),
    title=hostile_text(),
)
def test_fuzz_template_fields(kind: str, fields: dict[str, Any], title: str) -> None:
    """Any values in a layer's fields: the template loads and draws a valid card, or one SocialCardsError."""
    from social_cards import draw

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "t"
        folder.mkdir()
        lines = [f"{name} = {json.dumps(value)}" for name, value in fields.items()]
        (folder / "layout.toml").write_text(
            "[[layers]]\n" + f'kind = "{kind}"\n' + "\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass"
        )
        try:
            spec = load_template(folder).resolve(CardInput(title))
            data = draw(spec)
        except SocialCardsError:
            return
        assert decode(data).size == (spec.width, spec.height)
