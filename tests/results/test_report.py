"""The HTML report is one self-contained file: leaderboard, costs, Pareto plot, best-so-far curves, layer diagrams;
store text is escaped, nothing is loaded, and a real browser renders it without a console message."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest

from results import ResultStore, TrialRecord, TrialStatus, leaderboard
from results.report import render_report, write_report
from tests.results.conftest import START, make_run

GENERATED = datetime(2026, 11, 25, 8, 30, tzinfo=timezone.utc)
# Namespace names, not resources: a browser loads nothing from them.
NAMESPACES = ('xmlns="http://www.w3.org/2000/svg"', 'xmlns:xlink="http://www.w3.org/1999/xlink"')
EVIL = "<script>alert(1)</script> $(rm -rf ~)"


# What nas.estimator.layer_summary records when it builds the seed lecture's LeNet for MNIST, and its MLP 2x128 for
# digits.
LENET_LAYERS = [
    {"kind": "input", "label": "Input", "shape": [28, 28, 1], "params": 0},
    {"kind": "conv", "label": "Conv2D 20, 5×5 · relu", "shape": [28, 28, 20], "params": 520},
    {"kind": "pool", "label": "MaxPool 2×2", "shape": [14, 14, 20], "params": 0},
    {"kind": "conv", "label": "Conv2D 50, 5×5 · relu", "shape": [14, 14, 50], "params": 25_050},
    {"kind": "pool", "label": "MaxPool 2×2", "shape": [7, 7, 50], "params": 0},
    {"kind": "flatten", "label": "Flatten", "shape": [2450], "params": 0},
    {"kind": "dense", "label": "Dense 500 · relu", "shape": [500], "params": 1_225_500},
    {"kind": "output", "label": "Dense 10 · softmax", "shape": [10], "params": 5010}]
MLP_LAYERS = [
    {"kind": "input", "label": "Input", "shape": [8, 8, 1], "params": 0},
    {"kind": "flatten", "label": "Flatten", "shape": [64], "params": 0},
    {"kind": "dense", "label": "Dense 128 · relu", "shape": [128], "params": 8320},
    {"kind": "dense", "label": "Dense 128 · relu", "shape": [128], "params": 16_512},
    {"kind": "output", "label": "Dense 10 · softmax", "shape": [10], "params": 1290}]


def save(store: ResultStore, run: str, number: int, arch: dict, accuracy: float | None, params: int | None,
         latency_ms: float | None, minutes: float = 0.0, **fields) -> None:
    key = ",".join(f"{name}={value}" for name, value in arch.items())
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
    lenet = {"blocks": 2, "filters_1": 20, "filters_2": 50, "head": "flatten", "dense_units": 500}
    mlp = {"depth": 2, "units_1": 128, "units_2": 128}
    cnn_sampled = {"blocks": 1, "filters_1": 8, "head": "gap"}  # stored before nas recorded layers
    save(store, "cnn-run", 0, cnn_sampled, 0.95, 30_000, 0.5, minutes=1)  # the mlp run's trial 1 beats it
    save(store, "cnn-run", 1, lenet, 0.99, 1_256_080, 0.6, minutes=3, test_accuracy=0.985, layers=LENET_LAYERS)
    save(store, "cnn-run", 2, cnn_sampled, None, None, None, minutes=5, status=TrialStatus.FAILED,
         error="NaN loss | at epoch 2")
    save(store, "mlp-run", 0, {"depth": 0}, 0.90, 650, 0.2, minutes=6, layers=MLP_LAYERS[:2] + [
        {"kind": "output", "label": "Dense 10 · softmax", "shape": [10], "params": 650}])
    save(store, "mlp-run", 1, mlp, 0.97, 26_122, 0.3, minutes=8, layers=MLP_LAYERS)
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
    # the Pareto plot, the curves, a diagram for each scored trial that recorded its layers, and a list of the
    # other's values
    assert text.count("<svg") == 2 + 3 and text.count('<table class="choices">') == 1
    for section in ("pareto", "progress"):
        start = text.index(f'id="{section}"')
        assert "<svg" in text[start:text.index("</section>", start)]
    assert "front on these two axes" in text and "minutes since the run started" in text


def test_diagrams_draw_the_layers_each_trial_recorded(two_runs):
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
    assert "the layers count" not in diagrams  # each diagram agrees with its trial's parameter count


def test_store_text_is_escaped_never_markup(store):
    store.create_run(make_run(EVIL, space="toy", dataset="<img src=x onerror=alert(2)>"))
    save(store, EVIL, 0, {"<b>depth</b>": "<i>2</i>", "width": 16}, 0.9, 100, 0.1)
    save(store, EVIL, 2, {"depth": 3}, 0.8, 100, 0.1, layers=[{"kind": "other", "label": "<svg onload=alert(5)>",
                                                              "shape": [1], "params": 100}])
    save(store, EVIL, 1, {"depth": 1}, None, None, None, status=TrialStatus.FAILED,
         error="</td></table><script>alert(3)</script>")
    text = render_report(store, leaderboard(store), title="<script>alert(4)</script>", generated_at=GENERATED)
    assert_self_contained(text)
    assert not re.search(r"<(script|img|b|i)[\s>]", text, re.IGNORECASE)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; $(rm -rf ~)" in text  # in the tables (the plots' legends shorten it)
    assert "&lt;img src=x onerror=alert(2)&gt;" in text and "&lt;/td&gt;&lt;/table&gt;&lt;script&gt;" in text
    visible = " ".join(Page(text).text)
    assert EVIL in visible and "<script>alert(4)</script>" in visible
    assert "&lt;svg onload=alert(5)&gt;" in text
    # a trial without recorded layers falls back to its values as a list, keys escaped
    assert '<table class="choices"><tr><th>&lt;b&gt;depth&lt;/b&gt;</th><td>&lt;i&gt;2&lt;/i&gt;</td>' in text


def test_each_run_says_how_its_trials_were_trained_and_that_their_accuracy_is_an_estimate(store):
    store.create_run(make_run("quick", epochs=1, train_subset=500, top_k=1, final_epochs=1))
    store.create_run(make_run("whole", epochs=2, train_subset=None, top_k=0))
    # a time budget fits the final epochs to what is left: the trials record how many it ran
    store.create_run(make_run("budget", epochs=2, train_subset=5000, top_k=2, final_epochs=None, time_budget=600))
    store.create_run(make_run("budget-to-come", epochs=2, train_subset=5000, top_k=1, final_epochs=None,
                              time_budget=600))
    store.create_run(make_run("shared", epochs=2, train_subset=5000, top_k=1, final_epochs=3, weight_sharing=True,
                              shortlist=10))
    store.create_run(make_run("unstored"))  # a run stored without its settings
    for run in ("quick", "whole", "budget", "budget-to-come", "shared", "unstored"):
        save(store, run, 0, {"depth": 1}, 0.8, 100, 0.1, final_epochs=7 if run == "budget" else None)
    text = render_report(store, leaderboard(store), generated_at=GENERATED)
    table = text[text.index('<table class="runs">'):text.index("</table>", text.index('<table class="runs">'))]
    assert "<th>trials trained</th>" in table
    recipes = dict(re.findall(r'</span>([^<]*)</td>(?:<td>[^<]*</td>){5}<td class="recipe">([^<]*)</td>', table))
    assert recipes == {
        "quick": "1 epoch on 500 examples; the best 1 retrained 1 epoch on all training data",
        "whole": "2 epochs on all training data; no final training",
        "budget": "2 epochs on 5,000 examples; the best 2 retrained 7 epochs on all training data",
        "budget-to-come": "2 epochs on 5,000 examples; the best 1 retrained on all training data for what the time "
                          "budget left",
        "shared": "judged with the shared weights of a supernet, not trained alone; the best 10 judged then trained "
                  "2 epochs on 5,000 examples; the best 1 retrained 3 epochs on all training data",
        "unstored": "-"}
    assert "validation accuracy is a low-fidelity estimate" in text[text.index('<table class="runs">'):]


def test_architectures_break_after_commas_never_inside_a_word(two_runs):
    text = render_report(two_runs, leaderboard(two_runs), generated_at=GENERATED)
    lenet = "blocks=2,<wbr>filters_1=20,<wbr>filters_2=50,<wbr>head=flatten,<wbr>dense_units=500"
    caption = text[text.index('id="architectures"'):]
    assert f"<code>cnn: {lenet}</code>" in caption
    board = text[text.index('<table class="board">'):]
    assert f'<td class="text architecture">{lenet}</td>' in board
    assert "break-all" not in text  # CSS that breaks anywhere, mid-word included


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
    save(two_runs, EVIL, 0, {"blocks": 2, "filters_1": 20, "filters_2": 50}, 0.96, 1_256_080, 0.9,
         layers=LENET_LAYERS)
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
