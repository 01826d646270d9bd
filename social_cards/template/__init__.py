"""Templates: loading a layout and its schema, resolving a card to a spec, fingerprinting its inputs."""

from __future__ import annotations

from ..model import CardInput
from .layout import BUILTIN_TEMPLATES_DIR, LAYOUT_FILE, Template, builtin_templates, load_template, load_template_near

__all__ = [
    "BUILTIN_TEMPLATES_DIR", "LAYOUT_FILE", "CardInput", "Template", "builtin_templates", "load_template",
    "load_template_near",
]  # fmt: skip
