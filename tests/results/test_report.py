"""The HTML report is one self-contained file: leaderboard, costs, Pareto plot, best-so-far curves, layer diagrams;
store text is escaped, nothing is loaded, and a real browser renders it without a console message."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import numpy as np
import pytest

from results import ResultStore, TrialRecord, TrialStatus, leaderboard
from results.report import render_report, write_report
from search_spaces import get_space
from tests.results.conftest import START, make_run

GENERATED = datetime(2026, 11, 25, 8, 30, tzinfo=timezone.utc)
# Namespace names, not resources: a browser loads nothing from them.
NAMESPACES = ('xmlns="http://www.w3.org/2000/svg"', 'xmlns:xlink="http://www.w3.org/1999/xlink"')
EVIL = "<script>alert(1)</script> $(rm -rf ~)"


def save(store: ResultStore, run: str, number: int, arch: dict, accuracy: float | None, params: int | None,
         latency_ms: float | None, minutes: float = 0.0, **fields) -> None:
    space = store.get_run(run).space
    key = get_space(space).validate(arch).key if space in ("cnn", "mlp") else ",".join(f"{k}={v}" for k, v in
                                                                                      arch.items())
    store.save_trial(TrialRecord(
        run=run, number=number, status=fields.pop("status", TrialStatus.COMPLETED), arch_key=key, arch=arch,
        validation_accuracy=accuracy, params=params, latency_ms=latency_ms,
        started_at=START + timedelta(minutes=minutes), finished_at=START + timedelta(minutes=minutes + 2),
        cpu_seconds=1800.0, gpu_seconds=0.0, **fields))


@pytest.fixture
def two_runs(store):
    """A cnn run on MNIST with the seed lecture's LeNet as its best trial, and an mlp run on digits."""
    store.create_run(make_run("cnn-run"))
    store.create_run(make_run("mlp-run", space="mlp", strategy="bayes", dataset="digits", minutes=5))
    lenet = get_space("cnn").reference("lenet").to_dict()
    mlp = get_space("mlp").reference("mlp").to_dict()
    perceptron = get_space("mlp").reference("perceptron").to_dict()
    cnn_sampled = get_space("cnn").sample(np.random.default_rng(3)).to_dict()
    save(store, "cnn-run", 0, cnn_sampled, 0.95, 30_000, 0.5, minutes=1)  # the mlp run's trial 1 beats it
    save(store, "cnn-run", 1, lenet, 0.99, 1_256_080, 0.6, minutes=3, test_accuracy=0.985)
    save(store, "cnn-run", 2, cnn_sampled, None, None, None, minutes=5, status=TrialStatus.FAILED,
         error="NaN loss | at epoch 2")
    save(store, "mlp-run", 0, perceptron, 0.90, 650, 0.2, minutes=6)
    save(store, "mlp-run", 1, mlp, 0.97, 25_000, 0.3, minutes=8)
    return store


class Page(HTMLParser):
    """Every tag and attribute of a page, as a browser's parser sees them."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def of(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def assert_self_contained(text: str) -> None:
    page = Page(text)
    assert not {"script", "link", "iframe", "object", "embed", "base", "img", "audio", "video", "source",
                "frame"} & {tag for tag, _ in page.tags}
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), f"<{tag} {name}=...>: an event handler"
            if name in ("src", "href", "xlink:href", "action", "data", "poster", "srcset", "background"):
                assert value.startswith("#"), f"<{tag} {name}={value!r}>: loads something"
    assert all(reference.startswith("#") for reference in re.findall(r"url\(\s*['\"]?([^)'\"]*)", text))
    assert "@import" not in text
    without_namespaces = text
    for namespace in NAMESPACES:
        without_namespaces = without_namespaces.replace(namespace, "")
    assert not re.search(r"(https?:|ftp:|file:)?//[\w.-]+\.\w", without_namespaces), "a URL besides namespaces"
    assert "Content-Security-Policy" in text and "default-src 'none'" in text


@pytest.mark.parametrize("loads", [
    '<link rel="stylesheet" href="https://cdn.example.com/style.css">', '<img src="data:image/png;base64,AA">',
    '<svg><image href="http://example.com/a.png"/></svg>',
    '<style>body { background: url(https://e.com/a.png) }</style>',
    '<style>@import "theme.css";</style>', '<p>see //cdn.example.com/x</p>', '<div onclick="x()">',
])
def test_the_self_containment_check_catches_loads(loads):
    page = ("<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'\">"
            f"</head><body>{loads}</body></html>")
    with pytest.raises(AssertionError):
        assert_self_contained(page)


def test_the_report_holds_the_table_costs_plots_and_diagrams(two_runs):
    rows = leaderboard(two_runs)
    text = render_report(two_runs, rows, generated_at=GENERATED)
    assert_self_contained(text)
    page = Page(text)
    assert "Generated 2026-11-25 08:30 UTC. 5 trial(s) (4 completed, 1 failed) from 2 run(s)" in " ".join(page.text)
    board = text[text.index('<table class="board">'):]
    assert [cell for cell in re.findall(r'<td class="number">([^<]*)</td>', board)][:3] == ["1", "99.00%", "98.50%"]
    assert "NaN loss | at epoch 2" in board
    # every row is there; marked: the front (LeNet, most accurate; the perceptron, fastest; MLP 2x128 between)
    assert board.count("<tr class=") == 5 and board.count('<tr class="front') == 3
    runs = text[text.index('<table class="runs">'):text.index("</table>", text.index('<table class="runs">'))]
    assert runs.count("1.500") == 1 and runs.count("1.000") == 1  # CPU-hours: 3 and 2 trials of half an hour
    assert text.count("<svg") == 2 + 4  # the Pareto plot, the curves, a diagram for each scored trial
    for section in ("pareto", "progress"):
        start = text.index(f'id="{section}"')
        assert "<svg" in text[start:text.index("</section>", start)]
    assert "front on these two axes" in text and "minutes since the run started" in text


def test_diagrams_draw_the_layers_the_builder_makes(two_runs):
    text = render_report(two_runs, leaderboard(two_runs), generated_at=GENERATED)
    diagrams = text[text.index('id="architectures"'):]
    lenet = diagrams[:diagrams.index("</figure>")]
    assert "cnn-run · trial 1" in lenet
    labels = re.findall(r'class="layer">([^<]*)<', lenet)
    assert labels == ["Input", "Conv2D 20, 5×5 · relu", "MaxPool 2×2", "Conv2D 50, 5×5 · relu", "MaxPool 2×2",
                      "Flatten", "Dense 500 · relu", "Dense 10 · softmax"]
    assert re.findall(r'class="shape">([^<]*)<', lenet)[:6] == ["28×28×1", "28×28×20", "14×14×20", "14×14×50",
                                                                "7×7×50", "2450"]
    assert "1,256,080 parameters</text>" in lenet
    # digits images are 8x8: the MLP 2x128 has 64*128+128 + 128*128+128 + 128*10+10 parameters
    assert "26,122 parameters</text>" in diagrams and "Dense 128 · relu" in diagrams


def test_store_text_is_escaped_never_markup(store):
    store.create_run(make_run(EVIL, space="toy", dataset="<img src=x onerror=alert(2)>"))
    save(store, EVIL, 0, {"<b>depth</b>": "<i>2</i>", "width": 16}, 0.9, 100, 0.1)
    save(store, EVIL, 1, {"depth": 1}, None, None, None, status=TrialStatus.FAILED,
         error="</td></table><script>alert(3)</script>")
    text = render_report(store, leaderboard(store), title="<script>alert(4)</script>", generated_at=GENERATED)
    assert_self_contained(text)
    assert not re.search(r"<(script|img|b|i)[\s>]", text, re.IGNORECASE)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; $(rm -rf ~)" in text  # in the tables and the plot's legend
    assert "&lt;img src=x onerror=alert(2)&gt;" in text and "&lt;/td&gt;&lt;/table&gt;&lt;script&gt;" in text
    visible = " ".join(Page(text).text)
    assert EVIL in visible and "<script>alert(4)</script>" in visible
    # the unknown space falls back to its choices as a list, keys escaped
    assert '<table class="choices"><tr><th>&lt;b&gt;depth&lt;/b&gt;</th><td>&lt;i&gt;2&lt;/i&gt;</td>' in text


def test_a_report_of_no_trials_says_so(store, tmp_path):
    target = tmp_path / "empty.html"
    write_report(store, target, [], generated_at=GENERATED)
    text = target.read_text(encoding="utf-8")
    assert_self_contained(text)
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert "No stored trials match" in text and "0 trial(s)" in text and "<svg" not in text


def test_results_render_a_report_without_tensorflow_or_ray(two_runs):
    code = ("import sys; from results import ResultStore, leaderboard; from results.report import render_report; "
            "store = ResultStore(sys.argv[1]); text = render_report(store, leaderboard(store)); "
            "heavy = [name for name in ('tensorflow', 'keras', 'ray') if name in sys.modules]; "
            "sys.exit(f'imported {heavy}' if heavy or 'Conv2D 20' not in text else 0)")
    finished = subprocess.run([sys.executable, "-c", code, two_runs.url], capture_output=True, text=True,
                              timeout=60)
    assert finished.returncode == 0, finished.stderr


def _chromium() -> str | None:
    return next((found for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
                 if (found := shutil.which(name))), None)


@pytest.mark.skipif(_chromium() is None, reason="no Chromium to render the report: apt-get install chromium")
def test_a_real_browser_renders_the_report_without_errors(two_runs, tmp_path):
    import matplotlib.image

    report, screenshot = tmp_path / "report.html", tmp_path / "report.png"
    two_runs.create_run(make_run(EVIL, minutes=9))
    save(two_runs, EVIL, 0, get_space("cnn").reference("lenet").to_dict(), 0.96, 1_256_080, 0.9)
    write_report(two_runs, report, leaderboard(two_runs))
    # --enable-logging=stderr prints the page's console: script errors, and any load the page's policy blocked.
    finished = subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
         "--no-first-run", "--hide-scrollbars", "--window-size=1280,2000", f"--screenshot={screenshot}",
         "--enable-logging=stderr", "--v=0", report.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr[-2000:]
    console = [line for line in finished.stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]
    assert console == []
    image = matplotlib.image.imread(screenshot)
    assert image.shape[:2] == (2000, 1280)
    assert image.std() > 0.05 and len({tuple(pixel) for pixel in image[::20, ::20, :3].reshape(-1, 3)}) > 50
