"""What a page's language changes on its card: the form Han characters take.

Chinese (simplified and traditional), Japanese and Korean draw many of the same
characters differently; a page's ``lang`` picks the font variant that draws them
as its readers expect.
"""

from __future__ import annotations

__all__ = ["cjk_region"]

# Han characters take a different form in each place; a page's language says which.
_CJK_REGIONS = (
    ("zh-hant", "TC"), ("zh-tw", "TC"), ("zh-hk", "HK"), ("zh-mo", "TC"), ("zh", "SC"), ("ja", "JP"), ("ko", "KR"),
)  # fmt: skip


def cjk_region(lang: str) -> str:
    """The CJK font variant a language tag asks for (``JP``, ``KR``, ``SC``, ``TC``, ``HK``), or ""."""
    tag = lang.strip().lower().replace("_", "-")
    for prefix, region in _CJK_REGIONS:
        if tag == prefix or tag.startswith(f"{prefix}-"):
            return region
    return ""
