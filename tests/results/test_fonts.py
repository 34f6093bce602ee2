"""The plots' fonts: the installed families that draw a run name's characters, and escapes where none does."""
from __future__ import annotations

from results.fonts import PLOT_FAMILY, PlotFonts, fonts_for


def test_only_the_characters_the_plot_font_lacks_bring_in_another_family():
    assert fonts_for(["cnn-run", "$(rm -rf ~)"]).families == (PLOT_FAMILY,)
    circled = "\N{CIRCLED LATIN CAPITAL LETTER A}"  # not in DejaVu Sans; in STIX, which matplotlib ships
    chosen = fonts_for(["cnn-run", f"circled-{circled}"])
    assert chosen.families[0] == PLOT_FAMILY and len(chosen.families) == 2 and circled in chosen.characters


def test_labels_escape_what_no_font_draws_cut_escapes_whole_and_keep_dollar_signs_out_of_mathematics():
    plain = PlotFonts((PLOT_FAMILY,), frozenset("abc$"))
    assert plain.label("a$b$c") == r"a\$b\$c"
    assert plain.label("abc探") == r"abc\u63a2"
    assert plain.label("abc探", limit=6) == "abc\N{HORIZONTAL ELLIPSIS}"  # not "abc\u6…"
    assert plain.label("abcabc", limit=6) == "abcabc"
    assert plain.label("abcabca", limit=6) == "abcab\N{HORIZONTAL ELLIPSIS}"
