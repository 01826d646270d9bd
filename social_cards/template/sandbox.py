"""The Jinja2 sandbox that template fields and SVG files render in, with bounded work.

Jinja's own sandbox keeps a template away from Python's internals; this one also
bounds what a template can make the machine do: every ``for`` loop counts against a
budget of iterations and time per render, and repeating a string or a list (``*``)
or raising to a power (``**``) is refused beyond a size. A template that goes over
is an error for that card, never a hang.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ..contrast import readable_on
from ..errors import TemplateError

__all__ = ["MAX_ITERATIONS", "MAX_RENDER_S", "MAX_SEQUENCE", "BoundedSandbox"]

MAX_ITERATIONS = 100_000
"""Loop iterations one render of a field or an SVG file may run, all loops together."""

MAX_RENDER_S = 2.0
"""Seconds one render of a field or an SVG file may take."""

MAX_SEQUENCE = 1_000_000
"""Longest string or list a ``*`` may make, and the largest power a ``**`` may raise to."""

_LOOP_GUARD = "__social_cards_loop__"


class _Budget(threading.local):
    left = 0
    deadline = 0.0


_budget = _Budget()


def _counted(items: Iterable[Any]) -> Iterator[Any]:
    """What every ``for`` loop iterates over: the items, each counted against the render's budget."""
    budget = _budget
    for item in items:
        budget.left -= 1
        if budget.left < 0:
            raise TemplateError(f"a loop ran more than {MAX_ITERATIONS} times in one render")
        if budget.left % 1024 == 0 and time.monotonic() > budget.deadline:
            raise TemplateError(f"rendering took longer than {MAX_RENDER_S} s")
        yield item


def _readable_on(color: Any, *backgrounds: Any, ratio: float = 4.5) -> str:
    """The ``readable_on`` filter: ``{{ options.title_color | readable_on(options.brand, ratio=3) }}``."""
    try:
        return readable_on(str(color), *(str(b) for b in backgrounds if b), ratio=float(ratio))
    except ValueError as exc:
        raise TemplateError(f"readable_on: {exc}") from None


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """An immutable sandbox whose templates run bounded (see the module's docstring)."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(autoescape=autoescape, undefined=jinja2.Undefined, keep_trailing_newline=True)
        self.globals[_LOOP_GUARD] = _counted
        self.filters["readable_on"] = _readable_on

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > 64 and abs(left) > 1:
            raise TemplateError(f"'**' may raise to a power of at most 64, got {right!r}")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int) and len(seq) * times > MAX_SEQUENCE:
                    raise TemplateError(f"'*' may make at most {MAX_SEQUENCE} items, not {len(seq) * times}")
        return super().call_binop(context, operator, left, right)

    def bounded(self, source: str) -> jinja2.Template:
        """Compile ``source`` with every loop counted.

        Raises:
            jinja2.TemplateSyntaxError: the source is not a valid template.
        """
        tree = self.parse(source)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Call(nodes.Name(_LOOP_GUARD, "load"), [loop.iter], [], None, None)
        return self.from_string(tree)


def render_bounded(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    """Render with a fresh budget of iterations and time.

    Raises:
        TemplateError: the render went over its budget.
        jinja2.TemplateError: the template failed in Jinja's own way.
    """
    _budget.left = MAX_ITERATIONS
    _budget.deadline = time.monotonic() + MAX_RENDER_S
    try:
        return template.render(context)
    except (TemplateError, jinja2.TemplateError):
        raise
    except Exception as exc:  # a template's own arithmetic: 1/0, range(10**9), 'a' - 1
        raise TemplateError(f"{type(exc).__name__}: {exc}") from None
