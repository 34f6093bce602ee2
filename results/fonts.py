"""Fonts for the plots' text: run names in any script, drawn by a font that has their characters or else escaped.

matplotlib (>= 3.6) falls back through a list of font families glyph by glyph; this module picks that list from the
installed fonts (matplotlib.font_manager), so that a CJK run name is laid out with a CJK font where one is installed
(and the SVG's font-family names it, for the browser that draws the text), and escaped (`\\u63a2`) where none is,
instead of becoming boxes and "Glyph missing" warnings.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from itertools import accumulate
from typing import Iterable

PLOT_FAMILY = "sans-serif"  # matplotlib's default: DejaVu Sans, which it ships
# matplotlib's own fallback of last resort: it maps every code point, to a placeholder box.
_LAST_RESORT = "Last Resort High-Efficiency"
ELLIPSIS = "\N{HORIZONTAL ELLIPSIS}"


@dataclass(frozen=True)
class PlotFonts:
    """The font families to set as `font.family`, and the characters they draw between them."""

    families: tuple[str, ...]
    characters: frozenset[str]

    def label(self, text: str, limit: int | None = None) -> str:
        """`text` as matplotlib should be given it: characters no font draws escaped, cut with an ellipsis past
        `limit` characters (an escape is never cut), and `$` kept from starting mathematics."""
        pieces = [char if char in self.characters else char.encode("unicode_escape").decode("ascii")
                  for char in text]
        shown = "".join(pieces)
        if limit is not None and len(shown) > limit:
            shown = "".join(piece for piece, end in zip(pieces, accumulate(map(len, pieces))) if end < limit)
            shown += ELLIPSIS
        return shown.replace("$", r"\$")  # matplotlib shows \$ as $ and leaves other backslashes alone


def fonts_for(texts: Iterable[str]) -> PlotFonts:
    """The plots' family, then as few installed families as draw the characters of `texts` it lacks: greedily,
    the one that draws most of those still missing first."""
    families = [PLOT_FAMILY]
    drawn = _characters(PLOT_FAMILY)
    missing = {char for text in texts for char in text} - drawn
    candidates = _installed_families()
    while missing:
        best = max(candidates, key=lambda family: len(missing & _characters(family)), default=PLOT_FAMILY)
        if not missing & _characters(best):
            break  # no installed font draws the rest: PlotFonts.label escapes them
        families.append(best)
        drawn |= _characters(best)
        missing -= _characters(best)
    return PlotFonts(tuple(families), frozenset(drawn))


def _installed_families() -> list[str]:
    """The families with a regular face, the face `_characters` reads (findfont warns of the others)."""
    from matplotlib import font_manager

    return sorted({entry.name for entry in font_manager.fontManager.ttflist
                   if entry.style == "normal" and entry.weight == 400} - {_LAST_RESORT})


@functools.lru_cache(maxsize=None)
def _characters(family: str) -> frozenset[str]:
    """The characters of the font file matplotlib draws `family` with (the regular face)."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    path = font_manager.findfont(font_manager.FontProperties(family=[family]), fallback_to_default=False)
    return frozenset(map(chr, FT2Font(path).get_charmap()))
