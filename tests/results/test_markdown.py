"""The Markdown leaderboard is a GitHub table whose cells read as written, whatever a run is called."""
from __future__ import annotations

from html.parser import HTMLParser

from markdown_it import MarkdownIt

from results import TrialStatus, leaderboard, render
from results.formats import markdown_text
from tests.results.conftest import make_run, make_trial

EVIL = "a|b *em* _u_ `code` [link](x.html) <script>alert(1)</script> ~~del~~ $x$ :smile: @team &amp; \\ end"


class Cells(HTMLParser):
    """The text of each table cell, row by row, and every tag the Markdown made."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.tags: set[str] = set()
        self.in_cell = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.rows[-1].append("")
            self.in_cell = True

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.in_cell = False

    def handle_data(self, data):
        if self.in_cell:
            self.rows[-1][-1] += data


def as_html(markdown: str) -> str:
    # markdown-it-py (rich's Markdown parser) with GitHub's table and strikethrough extensions
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)


def test_cells_read_as_written_and_the_front_is_starred(filled_store):
    filled_store.create_run(make_run(EVIL, minutes=9))
    filled_store.save_trial(make_trial(EVIL, 0, 0.99, params=50, latency_ms=0.05))
    filled_store.save_trial(make_trial(EVIL, 1, None, params=None, status=TrialStatus.FAILED,
                                       error="first line | <b>\nsecond line"))
    rows = leaderboard(filled_store)
    markdown = render(rows, "markdown")
    parsed = Cells(as_html(markdown))
    assert parsed.tags <= {"table", "thead", "tbody", "tr", "th", "td", "p"}  # no emphasis, link, code, raw HTML
    header, *body = parsed.rows
    assert header == ["★", "run", "trial", "status", "val acc", "test acc", "params", "FLOPs (2xMAC)", "latency ms",
                      "train s", "architecture"]
    assert len(body) == len(rows) and all(len(cells) == len(header) for cells in body)
    assert body[0][1] == EVIL
    assert [cells[-1] for cells in body if cells[1] == EVIL and cells[3] == "failed"] == [
        "depth=1 (first line | <b> second line)"]
    assert [cells[0] for cells in body] == ["★" if row.pareto else "" for row in rows]
    assert any(row.pareto for row in rows) and not all(row.pareto for row in rows)
    assert "★ on the Pareto front" in markdown.splitlines()[-1]


def test_github_only_markup_is_escaped_too():
    # Math, emoji and mentions are GitHub's, not CommonMark's: a backslash keeps each literal there.
    assert markdown_text("$x$ :smile: @team") == r"\$x\$ \:smile\: \@team"
    assert markdown_text("plain-name_2.0") == r"plain-name\_2.0"


def test_no_rows_is_a_sentence():
    assert render([], "markdown") == "*No stored trials match.*"
