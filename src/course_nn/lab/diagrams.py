"""Architecture diagrams (网络结构图) drawn from the model itself.

``draw_architecture(ax, model, input_shape)`` pushes one zero sample through a ``Sequential``
to learn every layer's output shape, then draws the network left to right on a matplotlib
Axes: image-like outputs (C, H, W) as a stack of offset rectangles (size from H x W, number
of rectangles from C), vectors (D,) as a thin bar whose height grows with log2(D), and
activation and dropout layers as labels on the arrows between the blocks. It returns what it
drew, one dict per layer, so tests can check the picture without looking at it.
"""

import copy
import math
import numbers

import numpy as np

from .._validate import check_allocation
from ..activations import PReLU, Softmax, _Elementwise
from ..conv import AvgPool2d, Conv2d, Flatten, MaxPool2d
from ..dropout import Dropout
from ..linear import Linear
from ..module import Sequential, evaluation_mode

ON_ARROW = (_Elementwise, PReLU, Softmax, Dropout)  # drawn as a label on an arrow, not a block
COLORS = {"Input": "#e6e6e6", "Conv2d": "#9ecae1", "MaxPool2d": "#fdd0a2", "AvgPool2d": "#fdd0a2",
          "Flatten": "#dadaeb", "Linear": "#a1d99b"}
OTHER_COLOR = "#f2f2f2"
STACK_HEIGHT = 2.0   # the largest H (or W) of the model, in data units
PLANE_OFFSET = 0.12  # shift between the rectangles of a stack
MAX_PLANES = 7       # a stack shows 1 + round(log2 C) rectangles, at most this many
BAR_WIDTH = 0.28
ARROW = 0.8          # length of an arrow between two blocks, longer if it carries a label
FONT_SIZE = 8.5
CHAR_WIDTH = 0.14    # width of one FONT_SIZE character in data units, at half an inch per unit
LABEL_GAP = 0.5      # space between the labels of neighbouring blocks


def _flat_layers(model, prefix=""):
    """(dotted name, layer) for every layer of ``model``, nested Sequentials opened up."""
    for i, layer in enumerate(model):
        name = f"{prefix}{i}"
        if isinstance(layer, Sequential):
            yield from _flat_layers(layer, name + ".")
        else:
            yield name, layer


def _check_input_shape(input_shape):
    ok = isinstance(input_shape, tuple) and len(input_shape) > 0 and all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0 for s in input_shape)
    if not ok:
        raise ValueError("draw_architecture: input_shape must be a tuple of positive ints, the shape "
                         f"of one sample such as (1, 8, 8) or (64,); got {input_shape!r}")
    return tuple(int(s) for s in input_shape)


def _output_shapes(layers, input_shape):
    """Per-sample output shape of every layer, from one forward pass of a zero batch of 1."""
    x = np.zeros((1,) + input_shape)
    shapes = []
    for name, layer in layers:
        try:
            out = layer(x)
        except Exception as err:
            raise ValueError(f"draw_architecture: layer {name} ({type(layer).__name__}) failed on an "
                             f"input of shape {x.shape[1:]} (one sample): {err}") from err
        if not isinstance(out, np.ndarray):
            raise ValueError(f"draw_architecture: layer {name} ({type(layer).__name__}) returned a "
                             f"{type(out).__name__}, not an array")
        x = out
        shapes.append(x.shape[1:])
    return shapes


def _pair_text(pair):
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}×{pair[1]}"


def _label(layer):
    """The text drawn for a layer, e.g. 'Conv2d 1→16\\n3×3, pad 1' or 'Linear 128→64'."""
    if isinstance(layer, Conv2d):
        details = ["{}×{}".format(*layer.kernel_size)]
        if any(layer.padding):
            details.append(f"pad {_pair_text(layer.padding)}")
        if layer.stride != (1, 1):
            details.append(f"stride {_pair_text(layer.stride)}")
        return f"Conv2d {layer.in_channels}→{layer.out_channels}\n" + ", ".join(details)
    if isinstance(layer, (MaxPool2d, AvgPool2d)):
        kind = "MaxPool" if isinstance(layer, MaxPool2d) else "AvgPool"
        text = "{} {}×{}".format(kind, *layer.kernel_size)
        if layer.stride != layer.kernel_size:
            text += f"\nstride {_pair_text(layer.stride)}"
        if any(layer.padding):
            text += f", pad {_pair_text(layer.padding)}"
        return text
    if isinstance(layer, Linear):
        return f"Linear {layer.in_features}→{layer.out_features}"
    if isinstance(layer, Dropout):
        return f"Dropout p={layer.p:g}"
    if isinstance(layer, Flatten):
        return "Flatten"
    return type(layer).__name__


def _text_width(text):
    """Estimated width of a (multi-line) label in data units."""
    return CHAR_WIDTH * max(len(line) for line in text.split("\n"))


def _shape_text(shape):
    return "×".join(str(s) for s in shape)


def _params_text(count):
    return f"{count:,} parameter" + ("" if count == 1 else "s")


def _block_size(shape, scale):
    """(width, height, planes) of a block in data units; planes is 0 for a bar."""
    if len(shape) <= 1:
        return BAR_WIDTH, max(0.3, 0.3 * math.log2(math.prod(shape))), 0
    channels, (h, w) = math.prod(shape[:-2]), shape[-2:]
    planes = min(MAX_PLANES, 1 + round(math.log2(channels)))
    depth = (planes - 1) * PLANE_OFFSET
    return scale * w + depth, scale * h + depth, planes


def _draw_block(ax, x, shape, size, scale, color):
    """Draw a block centred at (x, 0): a bar, or a stack whose front plane is at bottom left."""
    from matplotlib.patches import Rectangle

    width, height, planes = size
    left, bottom = x - width / 2, -height / 2
    if not planes:
        ax.add_patch(Rectangle((left, bottom), width, height, fc=color, ec="0.3", lw=1.0))
        return
    plane_w, plane_h = scale * shape[-1], scale * shape[-2]
    for k in reversed(range(planes)):  # back to front, so the front plane is drawn last
        ax.add_patch(Rectangle((left + k * PLANE_OFFSET, bottom + k * PLANE_OFFSET), plane_w, plane_h,
                               fc=color, ec="0.3", lw=0.9))


def _draw_arrow(ax, start, end, text):
    from matplotlib.patches import FancyArrowPatch

    ax.add_patch(FancyArrowPatch((start, 0.0), (end, 0.0), arrowstyle="-|>", mutation_scale=12,
                                 color="0.35", lw=1.2, shrinkA=0, shrinkB=0))
    if text:
        ax.text((start + end) / 2, 0.0, text, ha="center", va="center", fontsize=8, color="0.15",
                bbox=dict(boxstyle="round,pad=0.25", fc="white", ec="0.55", lw=0.8))


def draw_architecture(ax, model, input_shape, title=None):
    """Draw ``model`` (a ``Sequential``, nested ones opened up) left to right on ``ax``.

    input_shape: the shape of one sample, e.g. (1, 8, 8) for a one-channel 8 x 8 image or
    (64,) for a vector. One zero batch of shape (1, *input_shape) goes through a copy of the
    model in evaluation mode to find every layer's output shape, so nothing of ``model``
    changes: not its modes, parameters, random generators, nor the forward caches that its
    next ``backward`` reads.

    Each block shows a layer's output: (C, H, W) as a stack of rectangles of H x W (scaled so
    the model's largest side is STACK_HEIGHT), 1 + round(log2 C) of them up to MAX_PLANES;
    (D,) as a bar of height 0.3 log2(D). Above it: the layer ("Conv2d 1→16" over "3×3, pad 1");
    below it: the output shape ("16×8×8") and its parameter count when nonzero. Activation
    and dropout layers label the arrow out of the block before them. The title carries the
    total parameter count. Labels are spaced for about half an inch per data unit (the axes
    keep an equal aspect): figsize=(10.5, 3) suits chapter 14's CNN, (4.5, 3) the 64-128-10
    MLP, each with ``fig.tight_layout()``.

    Returns one dict per drawn item, the input first: ``name`` (the layer's class, "Input"
    for the input), ``label`` (the text drawn for it), ``shape`` (its per-sample output
    shape), ``params`` (its parameter count) and ``kind`` ("input", "block" or "arrow").
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"draw_architecture: expected a course_nn.Sequential, got {type(model).__name__}")
    if not hasattr(ax, "add_patch"):
        raise TypeError(f"draw_architecture ax: expected a matplotlib Axes, got {type(ax).__name__}")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"draw_architecture title: expected a str or None, got {title!r}")
    input_shape = _check_input_shape(input_shape)
    check_allocation((1,) + input_shape, np.float64, "draw_architecture input_shape")
    layers = list(_flat_layers(model))
    if not layers:
        raise ValueError("draw_architecture: the model has no layers")
    probe = copy.deepcopy(model)  # the shape pass must not overwrite the model's forward caches
    with evaluation_mode(probe):
        shapes = _output_shapes(list(_flat_layers(probe)), input_shape)

    summary = [{"name": "Input", "label": "input", "shape": input_shape, "params": 0, "kind": "input"}]
    for (_, layer), shape in zip(layers, shapes):
        summary.append({"name": type(layer).__name__, "label": _label(layer), "shape": shape,
                        "params": layer.num_parameters(),
                        "kind": "arrow" if isinstance(layer, ON_ARROW) else "block"})

    blocks, arrow_texts = [], []  # arrow_texts[i]: the labels on the arrow leaving blocks[i]
    for item in summary:
        if item["kind"] == "arrow":
            params = f"\n{_params_text(item['params'])}" if item["params"] else ""
            arrow_texts[-1] += ("\n" if arrow_texts[-1] else "") + item["label"] + params
        else:
            blocks.append(item)
            arrow_texts.append("")
    texts = [(b["label"], _shape_text(b["shape"]) + (f"\n{_params_text(b['params'])}" if b["params"] else ""))
             for b in blocks]
    sides = [max(b["shape"][-2:]) for b in blocks if len(b["shape"]) > 1]
    scale = STACK_HEIGHT / max(sides, default=1)
    sizes = [_block_size(b["shape"], scale) for b in blocks]
    halves = [max(width, _text_width(above), _text_width(below)) / 2  # half of each column's width
              for (width, _, _), (above, below) in zip(sizes, texts)]
    arrows = [max(ARROW, _text_width(text) + 0.6) if text else ARROW for text in arrow_texts]
    centers = [0.0]
    for i in range(1, len(blocks)):
        centers.append(centers[-1] + max((sizes[i - 1][0] + sizes[i][0]) / 2 + arrows[i - 1],
                                         halves[i - 1] + halves[i] + LABEL_GAP))
    top = max(0.6, max(height for _, height, _ in sizes) / 2) + 0.25  # y of the labels above

    for block, (above, below), x, size in zip(blocks, texts, centers, sizes):
        _draw_block(ax, x, block["shape"], size, scale, COLORS.get(block["name"], OTHER_COLOR))
        ax.text(x, top, above, ha="center", va="bottom", fontsize=FONT_SIZE, linespacing=1.3)
        ax.text(x, -top, below, ha="center", va="top", fontsize=FONT_SIZE, color="0.2", linespacing=1.3)
    rights = [x + width / 2 for x, (width, _, _) in zip(centers, sizes)]
    lefts = [x - width / 2 for x, (width, _, _) in zip(centers[1:], sizes[1:])]
    if arrow_texts[-1]:  # activations after the last block: an arrow out of it, to nothing
        lefts.append(rights[-1] + arrows[-1])
    for start, end, text in zip(rights, lefts, arrow_texts):
        _draw_arrow(ax, start + 0.08, end - 0.08, text)

    ax.set_xlim(-halves[0] - 0.2, max([centers[-1] + halves[-1]] + lefts) + 0.2)
    ax.set_ylim(-top - 0.8, top + 0.8)
    ax.set_aspect("equal")
    ax.axis("off")
    total = _params_text(model.num_parameters())
    ax.set_title(f"{title} ({total})" if title else total, fontsize=10)
    return summary
