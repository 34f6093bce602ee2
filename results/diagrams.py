"""Layer diagrams of stored trials: the layers each trial's model was built with (recorded when it was built, for
any space), drawn as an SVG stack of boxes. A trial stored before nas recorded layers gets a plain list of its
architecture's values instead.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

Shape = tuple  # of int or None (a size the model leaves open)


@dataclass(frozen=True)
class Layer:
    kind: str  # input, conv, norm, pool, flatten, dense, dropout, output, other: picks the box's colour
    label: str  # e.g. "Conv2D 32, 3×3 · relu"; a folded activation follows the layer it comes after
    shape: Shape | None = None  # output shape without the batch axis
    params: int | None = None  # weights, non-trainable ones included (what model.count_params() counts)


def stored_layers(layers: Sequence[Mapping[str, Any]] | None) -> list[Layer] | None:
    """The layers a trial recorded (nas.estimator.layer_summary), or None when it recorded none."""
    if not layers:
        return None
    try:
        return [Layer(str(layer["kind"]), str(layer["label"]),
                      None if layer.get("shape") is None else tuple(layer["shape"]), layer.get("params"))
                for layer in layers]
    except (KeyError, TypeError):  # not what nas writes: show the choices instead
        return None


def total_params(layers: list[Layer]) -> int | None:
    return _total([layer.params for layer in layers])


def _total(counts: list[int | None]) -> int | None:
    return None if any(count is None for count in counts) else sum(counts)


# Drawing: hand-written SVG (rectangles, lines and text), sized to its layers.

_COLOURS = {"input": "#e5e7eb", "conv": "#bfdbfe", "norm": "#fef3c7", "pool": "#bbf7d0", "flatten": "#e5e7eb",
            "dense": "#fed7aa", "dropout": "#f3f4f6", "output": "#fecaca", "other": "#ede9fe"}
_BOX_WIDTH, _BOX_HEIGHT, _GAP, _MARGIN, _WIDTH = 180, 24, 12, 6, 340


def layers_svg(layers: list[Layer]) -> str:
    """A vertical stack of boxes, input at the top, each layer's output shape and parameters beside it."""
    parts = []
    y = _MARGIN
    for index, layer in enumerate(layers):
        if index:  # an arrow from the layer above
            middle = _MARGIN + _BOX_WIDTH / 2
            parts.append(f'<line x1="{middle}" y1="{y - _GAP}" x2="{middle}" y2="{y - 2}" class="edge"/>'
                         f'<path d="M {middle - 4} {y - 6} L {middle} {y - 1} L {middle + 4} {y - 6}" '
                         f'class="edge"/>')
        parts.append(f'<rect x="{_MARGIN}" y="{y}" width="{_BOX_WIDTH}" height="{_BOX_HEIGHT}" rx="4" '
                     f'fill="{_COLOURS.get(layer.kind, "#ffffff")}" stroke="#6b7280"/>'
                     f'<text x="{_MARGIN + 8}" y="{y + 16}" class="layer">{html.escape(layer.label)}</text>')
        if layer.shape is not None:
            parts.append(f'<text x="{_MARGIN + _BOX_WIDTH + 8}" y="{y + 16}" class="shape">'
                         f'{html.escape(_shape_text(layer.shape))}</text>')
        if layer.params:
            parts.append(f'<text x="{_WIDTH - _MARGIN}" y="{y + 16}" class="params">{layer.params:,}</text>')
        y += _BOX_HEIGHT + _GAP
    total = total_params(layers)
    if total is not None:
        parts.append(f'<text x="{_WIDTH - _MARGIN}" y="{y + 4}" class="params total">{total:,} parameters</text>')
        y += 14
    height = y - _GAP + _MARGIN + (_GAP if total is not None else 0)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="layers" width="{_WIDTH}" height="{height}" '
            f'viewBox="0 0 {_WIDTH} {height}" role="img">{"".join(parts)}</svg>')


def _shape_text(shape: Shape) -> str:
    return "×".join("?" if size is None else str(size) for size in shape)


def choices_html(arch: Mapping[str, Any]) -> str:
    """The fallback for spaces this module cannot draw: the architecture's choices as a two-column list."""
    items = "".join(f"<tr><th>{html.escape(str(name))}</th><td>{html.escape(str(value))}</td></tr>"
                    for name, value in arch.items())
    return f'<table class="choices">{items}</table>'
