"""Chapters 13 and 14 exercises: convolutions, pooling, and the shapes of a CNN.

Chapter 13 (convolutions):
cnn.cross_correlate    transcribe: valid, stride-1 cross-correlation of one (H, W) image with a
                       (kh, kw) kernel
cnn.receptive_field    derive: the chapter shows stride-1 stacks (each layer adds k - 1); the
                       learner works out how strides and pooling compound
cnn.conv2d_backward    derive: the chapter derives one image, one channel (the flipped-kernel
                       picture); the learner derives (dL/dx, dL/dW, dL/db) for a batch with
                       several input and output channels
cnn.maxpool_backward   debug: a vectorized 2x2 max-pooling backward with two bugs (np.tile
                       instead of np.repeat, and ties that all get the gradient)
cnn.avgpool_backward   derive: the chapter derives non-overlapping windows (stride = kernel);
                       the learner derives any stride (overlapping windows add, gaps get 0) on
                       an (N, C, H, W) batch

Chapter 14 (a CNN on the digits):
cnn.conv_params        transcribe: number of parameters of Conv2d(c_in, c_out, k) with bias
cnn.cnn_parameters     predict: the parameter count of the chapter's CNN with c1 and c2 filters
                       and `hidden` dense units, before the table counts it
cnn.batchnorm2d        debug: a BatchNorm2d forward pass (training mode) that takes its
                       statistics per pixel position and scales along the wrong axis

References are course_nn's own layers and functions (Conv2d, MaxPool2d, AvgPool2d,
BatchNorm2d, receptive_field, the chapter-14 recipe); fixed cases hold the traps (asymmetric
kernels that expose a flipped or transposed answer, ties inside a pooling window, strides that
compound, overlapping pooling windows, as many input as output channels so that swapped
channels keep the right shape, as many channels as columns so that a mis-broadcast scale
keeps the right shape). The checkers name the slips they recognize.

The chapter-14 recipe (``digits_cnn``, ``digits_image_split``, ``train_digits_cnn``) lives
here too, so the notebook and ``tests/test_cnn_digits.py`` run the same code.
"""


import numpy as np

from ...batchnorm import BatchNorm2d
from ...conv import AvgPool2d, Conv2d, Flatten, MaxPool2d, conv_output_size
from ...conv import receptive_field as _receptive_field
from ...module import Sequential
from ..threads import one_blas_thread
from . import Exercise, _default_compare, _describe, _format, _show, _slip_hint, _whole_number, register


def _quiet_rng():
    """A private generator for the reference layers, so checking never touches the package one."""
    return np.random.default_rng(0)


def _conv(c_in, c_out, kernel_size, stride=1, padding=0, bias=True):
    return Conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding, bias=bias,
                  rng=_quiet_rng())


def _compare_integer(expected, got):
    """Accept an int or an integer-valued float equal to ``expected``; explain anything else
    (text, bools and arrays are not whole numbers)."""
    if _whole_number(got) == int(expected):
        return None
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, float, np.integer, np.floating)):
        return f"expected a whole number, got {_describe(got)}"
    return f"expected {int(expected)}, got {_show(got)}"


class _Count(int):
    """The reference count, with the counts of typical slips and what each one missed."""

    def __new__(cls, value, slips):
        out = super().__new__(cls, value)
        out.slips = slips
        return out


def _compare_count(expected, got):
    """_compare_integer, then the hint of the first known slip that ``got`` equals."""
    reason = _compare_integer(expected, got)
    if reason is None:
        return None
    mine = _whole_number(got)
    for value, why in expected.slips:
        if value != int(expected) and mine == value:
            return f"{reason}\n  hint: {why}"
    return reason


class _Grad(np.ndarray):
    """A reference gradient, carrying what each recognized slip would give."""

    slips = ()


def _with_slips(array, slips):
    out = np.asarray(array, dtype=float).view(_Grad)
    out.slips = tuple(slips)
    return out


def _compare_with_slips(expected, got, rtol=1e-6, atol=1e-9):
    want = np.asarray(expected).view(np.ndarray)
    return _slip_hint(_default_compare(want, got, rtol, atol), got, want, expected.slips, rtol, atol)


# --- chapter 13 -----------------------------------------------------------------------------

def _cross_correlate(image, kernel):
    conv = _conv(1, 1, kernel.shape, bias=False)
    conv.weight.data[0, 0] = kernel
    return conv(image[None, None])[0, 0]


def _random_cross_correlation(rng):
    h, w = int(rng.integers(2, 9)), int(rng.integers(2, 9))
    kh, kw = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
    return rng.standard_normal((h, w)), rng.standard_normal((kh, kw))


register(Exercise(
    id="cnn.cross_correlate",
    kind="transcribe",
    reference=_cross_correlate,
    fixed=[
        (np.arange(9.0).reshape(3, 3), np.arange(4.0).reshape(2, 2)),            # [[19, 25], [37, 43]]
        (np.arange(20.0).reshape(4, 5), np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -3.0]])),  # not square
        (np.arange(12.0).reshape(3, 4), np.array([[1.0, 2.0, 3.0]])),             # a 1 x 3 kernel
        (np.arange(12.0).reshape(3, 4), np.array([[1.0], [-2.0]])),               # a 2 x 1 kernel
        (np.array([[1.0, -2.0], [3.0, 0.5]]), np.array([[2.0, -1.0], [0.5, 4.0]])),  # kernel = image size
        (np.arange(6.0).reshape(2, 3), np.array([[-1.5]])),                       # 1 x 1 kernel
    ],
    random=_random_cross_correlation,
    arg_names=("image", "kernel"),
))


def _up(a):
    """Each entry of a (Ho, Wo) array copied onto its 2 x 2 window: (2 Ho, 2 Wo)."""
    return np.repeat(np.repeat(a, 2, axis=0), 2, axis=1)


def _maxpool_backward(x, grad_out):
    """dL/dx of 2 x 2, stride-2 max pooling on one (H, W) input, from MaxPool2d.backward, with
    the answers of the handed-over code and of its partial fixes as recognized slips."""
    pool = MaxPool2d(2)
    pool(x[None, None])
    want = pool.backward(grad_out[None, None])[0, 0]
    pool(x[None, None])
    first = pool.backward(np.ones((1, 1) + grad_out.shape))[0, 0]    # 1 at each first maximum
    h, w = x.shape
    window_max = _up(x.reshape(h // 2, 2, w // 2, 2).max(axis=(1, 3)))
    tiled, routed = np.tile(grad_out, (2, 2)), _up(grad_out)
    ties = x == window_max
    tile_hint = ("np.tile(grad_out, (2, 2)) lays whole copies of grad_out side by side, so a "
                 "window receives another window's gradient: entry (i, j) must fill the block "
                 "x[2i:2i+2, 2j:2j+2] (np.repeat along both axes, or np.kron with a 2 x 2 block "
                 "of ones)")
    if np.array_equal(ties, first != 0):         # no window holds its maximum twice
        slips = [(tiled * ties, tile_hint)]
    else:
        slips = [(tiled * ties, "two bugs left: " + tile_hint + "; and a window whose maximum "
                                "appears twice sends its gradient to both"),
                 (tiled * first, "the ties are handled, but " + tile_hint)]
    return _with_slips(want, slips + [
        (routed * ties, "the gradient now reaches the right windows, but a window whose maximum "
                        "appears twice gives it to both, so the gradient is counted twice; max "
                        "pooling took one value (the first maximum in reading order, as np.argmax "
                        "and PyTorch), and only that position gets the gradient"),
        (routed, "every pixel of a window gets the window's gradient: that is a sum's backward "
                 "(add distributes); a max gate routes it to the maximum only"),
        (routed / 4, "that is average pooling's backward (a quarter to every pixel); max pooling "
                     "routes the whole gradient to the maximum"),
    ])


def _random_maxpool(rng):
    h, w = 2 * int(rng.integers(1, 5)), 2 * int(rng.integers(1, 5))
    x = rng.integers(-3, 4, size=(h, w)).astype(float)        # small integers: ties happen
    return x, rng.standard_normal((h // 2, w // 2))


register(Exercise(
    id="cnn.maxpool_backward",
    kind="debug",
    reference=_maxpool_backward,
    fixed=[
        (np.array([[1.0, 3.0], [2.0, 0.0]]), np.array([[5.0]])),      # the handed code passes
        (np.arange(16.0).reshape(4, 4), np.array([[1.0, 2.0], [3.0, 4.0]])),   # tile != repeat
        (np.array([[0.0, -1.0, 4.0, 4.0],                                   # a tie: 4 and 4
                   [-2.0, -3.0, 1.0, 4.0]]), np.array([[1.0, -2.0]])),
        (np.array([[-5.0, -1.0], [-2.0, -3.0], [7.0, 7.0], [7.0, 7.0]]),     # all four tie
         np.array([[0.5], [-1.5]])),
        (np.array([[2.0, 1.0, 0.0, 9.0, 3.0, 8.0],
                   [1.0, 0.0, 1.0, 2.0, 3.0, 1.0]]), np.array([[1.0, 2.0, 3.0]])),
    ],
    random=_random_maxpool,
    arg_names=("x", "grad_out"),
    compare=_compare_with_slips,
))


def _avgpool_backward(x, grad_out, k, s):
    """dL/dx of AvgPool2d(k, stride=s) on an (N, C, H, W) batch, with typical slips."""
    pool = AvgPool2d(k, stride=s)
    pool(x)
    want = pool.backward(grad_out)
    ho, wo = grad_out.shape[2:]
    overwrite, by_s = np.zeros(x.shape), np.zeros(x.shape)
    for i in range(ho):
        for j in range(wo):
            overwrite[:, :, s * i:s * i + k, s * j:s * j + k] = grad_out[:, :, i:i + 1, j:j + 1] / (k * k)
            by_s[:, :, s * i:s * i + k, s * j:s * j + k] += grad_out[:, :, i:i + 1, j:j + 1] / (s * s)
    return _with_slips(want, [
        (overwrite, "where windows overlap (stride < kernel) a pixel belongs to several windows "
                    "and must collect a share from each: +=, not ="),
        (by_s, "each window averages k * k pixels: divide by k * k, not by the stride squared "
               "(the two agree only when the windows tile the input)"),
        (want * k, "each window averages k * k pixels: divide by k * k, not by k"),
        (want * k * k, "the mean divides by k * k: each pixel receives 1 / (k * k) of its "
                       "window's gradient"),
    ])


def _pool_case(x, k, s, rng=None):
    """(x, grad_out, k, s) for an (N, C, H, W) x, with grad_out of the pooled shape (integers
    unless rng is given)."""
    n, c = x.shape[:2]
    ho, wo = conv_output_size(x.shape[2], k, s, 0), conv_output_size(x.shape[3], k, s, 0)
    g = (np.arange(1.0, n * c * ho * wo + 1).reshape(n, c, ho, wo) if rng is None
         else rng.standard_normal((n, c, ho, wo)))
    return x, g, k, s


def _random_avgpool(rng):
    k, s = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    n, c = int(rng.integers(1, 3)), int(rng.integers(1, 4))
    h, w = int(rng.integers(k, 10)), int(rng.integers(k, 10))
    return _pool_case(rng.standard_normal((n, c, h, w)), k, s, rng)


def _image(h, w, n=1, c=1, mod=None):
    x = np.arange(float(n * c * h * w)).reshape(n, c, h, w)
    return x if mod is None else x % mod


register(Exercise(
    id="cnn.avgpool_backward",
    kind="derive",
    reference=_avgpool_backward,
    fixed=[
        _pool_case(_image(4, 4), 2, 2),             # the chapter's case: windows tile the input
        _pool_case(_image(3, 3), 2, 1),             # overlapping windows: add
        _pool_case(_image(5, 5, mod=7), 3, 2),      # overlap on the middle row/column
        _pool_case(_image(6, 6), 3, 3),             # 1/9, not 1/4
        _pool_case(_image(5, 4), 2, 2),             # the last row is in no window: 0
        _pool_case(_image(4, 6), 2, 3),             # stride > kernel: gaps get 0
        _pool_case(_image(4, 5, n=2, c=3), 2, 1),   # a batch with channels, overlapping
        _pool_case(_image(2, 3), 1, 1),             # 1 x 1 windows: the identity
    ],
    random=_random_avgpool,
    arg_names=("x", "grad_out", "k", "s"),
    compare=_compare_with_slips,
))


class _ConvGrads(tuple):
    """(dx, dw, db), with {name: ((wrong array, hint), ...)} for the slips recognized."""

    slips = {}


def _conv2d_backward(x, w, grad_out):
    conv = _conv(w.shape[1], w.shape[0], w.shape[2:])
    conv.weight.data[...] = w
    conv(x)
    dx = conv.backward(grad_out)
    out = _ConvGrads((dx, conv.weight.grad.copy(), conv.bias.grad.copy()))
    kh, kw = w.shape[2:]
    padded = np.pad(grad_out, ((0, 0), (0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1)))
    g_windows = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(2, 3))
    x_windows = np.lib.stride_tricks.sliding_window_view(x, grad_out.shape[2:], axis=(2, 3))
    slips = {"dx": [(np.einsum("nopquv,ocuv->ncpq", g_windows, w),
                     "the kernel is not flipped: collecting the gradient at a pixel lays the "
                     "kernel rotated by 180 degrees over the padded grad_out (w[:, :, ::-1, ::-1])")],
             "dw": [(out[1] / len(x), "dw is the sum over the batch, not the mean: every image "
                                      "adds its own share (the loss already holds the 1/N, in G)"),
                    (np.einsum("ncuvij,noij->ocuv", x_windows[:1], grad_out[:1]),
                     "that is the first image's share only: sum over the batch")],
             "db": [(grad_out.mean(axis=(0, 2, 3)), "db is a sum over the batch and the "
                                                     "positions, not a mean")]}
    if w.shape[0] == w.shape[1]:
        slips["dx"].append((np.einsum("nopquv,couv->ncpq", g_windows, w[:, :, ::-1, ::-1]),
                            "input and output channels are swapped: input channel c collects "
                            "from every output channel o through w[o, c], not w[c, o]"))
    out.slips = slips
    return out


_CONV_HINTS = {
    "dx": "dx has the shape of x, (N, C_in, H, W); dx[n, c] sums over the output channels o the "
          "full convolution of grad_out[n, o] with w[o, c] rotated by 180 degrees (pad grad_out by "
          "kh - 1 rows and kw - 1 columns on each side, then cross-correlate with the flipped kernel)",
    "dw": "dw has the shape of w, (C_out, C_in, kh, kw); dw[o, c] is the cross-correlation of "
          "x[n, c] with grad_out[n, o], summed over the batch n",
    "db": "db has shape (C_out,): grad_out summed over the batch and over every output position",
}


def _compare_conv_grads(expected, got, rtol=1e-6, atol=1e-9):
    """Compare (dx, dw, db) item by item; name the gradient that is wrong and say what it is."""
    if isinstance(got, list):
        got = tuple(got)
    if not isinstance(got, tuple) or len(got) != 3:
        return f"expected a tuple of 3 arrays (dx, dw, db), got {_show(got)}"
    for name, e, g in zip(_CONV_HINTS, expected, got):
        reason = _default_compare(e, g, rtol, atol)
        if reason:
            g_arr = np.asarray(g, dtype=float)
            if g_arr.shape == e.shape and e.size > 12:   # the shown first entries may all agree
                wrong = ~np.isclose(g_arr, e, rtol=rtol, atol=atol)
                where = tuple(int(i) for i in np.argwhere(wrong)[0])
                reason = (f"expected {_format(e)}, got {_format(g_arr)}; {int(wrong.sum())} of "
                          f"{e.size} entries differ, the first is {name}[{', '.join(map(str, where))}]"
                          f": expected {_format(float(e[where]))}, got {_format(float(g_arr[where]))}")
            slips = getattr(expected, "slips", {}).get(name, ())
            hinted = _slip_hint(reason, g, e, slips, rtol, atol)
            if hinted != reason:
                return f"{name}: {hinted}"
            return f"{name}: {reason}. Hint: {_CONV_HINTS[name]}"
    return None


def _conv_case(rng, n, c_in, c_out, h, w, kh, kw):
    """(x, w, grad_out) of small integers, so a failing case reads easily."""
    x = rng.integers(-3, 4, size=(n, c_in, h, w)).astype(float)
    weight = rng.integers(-3, 4, size=(c_out, c_in, kh, kw)).astype(float)
    g = rng.integers(-2, 3, size=(n, c_out, h - kh + 1, w - kw + 1)).astype(float)
    return x, weight, g


def _random_conv_backward(rng):
    n, c_in, c_out = (int(v) for v in rng.integers(1, 4, size=3))
    h, w = int(rng.integers(1, 8)), int(rng.integers(1, 8))
    kh, kw = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
    return (rng.standard_normal((n, c_in, h, w)), rng.standard_normal((c_out, c_in, kh, kw)),
            rng.standard_normal((n, c_out, h - kh + 1, w - kw + 1)))


_CONV_RNG = np.random.default_rng(13)
register(Exercise(
    id="cnn.conv2d_backward",
    kind="derive",
    reference=_conv2d_backward,
    fixed=[
        # one 3 x 3 image, the 2 x 2 kernel 1..4, upstream gradient of ones
        (np.arange(9.0).reshape(1, 1, 3, 3), np.arange(1.0, 5.0).reshape(1, 1, 2, 2),
         np.ones((1, 1, 2, 2))),
        _conv_case(_CONV_RNG, 3, 1, 1, 4, 4, 2, 2),      # a batch: dw and db summed over it
        _conv_case(_CONV_RNG, 1, 2, 2, 4, 4, 3, 3),      # C_in = C_out: swapped channels fit
        _conv_case(_CONV_RNG, 2, 2, 3, 4, 5, 2, 3),      # every size different
        _conv_case(_CONV_RNG, 2, 3, 2, 3, 5, 1, 3),      # a 1 x 3 kernel
        _conv_case(_CONV_RNG, 2, 2, 2, 3, 3, 3, 3),      # kernel as large as the image: 1 x 1 output
        _conv_case(_CONV_RNG, 2, 3, 2, 3, 4, 1, 1),      # a 1 x 1 kernel
    ],
    random=_random_conv_backward,
    arg_names=("x", "w", "grad_out"),
    compare=_compare_conv_grads,
))


def _random_stack(rng):
    return [(int(rng.integers(1, 8)), int(rng.integers(1, 4))) for _ in range(int(rng.integers(1, 6)))]


def _receptive_field_reference(layers):
    own = 1 + sum((k - 1) * int(np.prod([s for _, s in layers[:i + 1]])) for i, (k, _) in enumerate(layers))
    return _Count(_receptive_field(layers), [
        (1 + sum(k - 1 for k, _ in layers),
         "that is the stride-1 rule: after a layer with stride s, neighbouring elements are s "
         "input steps apart, so every later layer's k - 1 steps are s times longer"),
        (own, "a layer's own stride does not widen its own window: the first layer's k - 1 "
              "steps are single pixels; its stride multiplies the steps of the layers after it"),
        (sum(k for k, _ in layers) if layers else 1,
         "adding kernel sizes counts the overlap twice: each layer adds k - 1 steps, not k"),
    ])


register(Exercise(
    id="cnn.receptive_field",
    kind="derive",
    reference=_receptive_field_reference,
    fixed=[
        ([],),
        ([(3, 1)],),
        ([(3, 1), (3, 1)],),
        ([(3, 2)],),                                # one layer: its own stride adds nothing
        ([(3, 1), (2, 2), (3, 1)],),                # a pooling layer in the middle: 8
        ([(3, 1), (2, 2), (3, 1), (2, 2)],),        # the chapter-14 CNN: 10
        ([(7, 2), (3, 2), (3, 1)],),                # strides compound: 7 + 2*2 + 2*4 = 19
        ([(1, 1), (1, 2), (5, 1)],),                # 1x1 layers add nothing, but their stride counts
    ],
    random=lambda rng: (_random_stack(rng),),
    arg_names=("layers",),
    compare=_compare_count,
))


# --- chapter 14 -----------------------------------------------------------------------------

def _conv_params(c_in, c_out, k):
    return _conv(c_in, c_out, k).num_parameters()


register(Exercise(
    id="cnn.conv_params",
    kind="transcribe",
    reference=_conv_params,
    fixed=[
        (1, 16, 3),      # the first layer of the chapter's CNN: 160
        (16, 32, 3),     # the second: 4640
        (3, 64, 3),      # the 224 x 224 x 3 example: 1792
        (64, 64, 1),     # a 1 x 1 convolution
        (1, 1, 5),
        (7, 2, 3),       # c_in != c_out: the order matters nowhere, every factor does
    ],
    random=lambda rng: (int(rng.integers(1, 20)), int(rng.integers(1, 20)), int(rng.choice([1, 3, 5, 7]))),
    arg_names=("c_in", "c_out", "k"),
    compare=_compare_integer,
))


def _cnn_parameters(c1, c2, hidden):
    """Parameters of digits_cnn(channels=(c1, c2), hidden=hidden), counted by course_nn, with
    the counts of typical slips."""
    want = digits_cnn(0, channels=(c1, c2), hidden=hidden).num_parameters()
    conv1, conv2 = 9 * c1 + c1, 9 * c1 * c2 + c2
    dense = 4 * c2 * hidden + hidden + 10 * hidden + 10
    return _Count(want, [
        (want - c1 - c2 - hidden - 10,
         "every Conv2d and Linear layer has a bias: one per output channel or unit"),
        (conv1 + 9 * c2 + c2 + dense,
         "each of the c2 filters of the second convolution has one 3 x 3 slice per input "
         "channel: c1 * c2 * 9 weights"),
        (conv1 + conv2 + 64 * c2 * hidden + hidden + 10 * hidden + 10,
         "Flatten sees c2 maps of 2 x 2, not 8 x 8: each max pooling halves height and width"),
        (conv1 + conv2 + 16 * c2 * hidden + hidden + 10 * hidden + 10,
         "there are two poolings: 8 -> 4 -> 2, so Flatten sees c2 * 2 * 2 features"),
        (conv1 + conv2 + 4 * c2 * hidden + hidden,
         "the output layer Linear(hidden, 10) has parameters too"),
        (conv1 + conv2 + 4 * c2 * hidden + hidden + 10 * hidden + 10 + 2 * c1 + 2 * c2,
         "ReLU, MaxPool2d and Flatten have no parameters"),
    ])


register(Exercise(
    id="cnn.cnn_parameters",
    kind="predict",
    reference=_cnn_parameters,
    fixed=[
        (16, 32, 64),      # the chapter's network: 13,706
        (8, 16, 32),       # half as wide everywhere
        (32, 16, 64),      # c1 > c2
        (16, 16, 10),      # c1 = c2
        (1, 1, 1),
        (32, 64, 128),
    ],
    random=lambda rng: (int(rng.integers(1, 41)), int(rng.integers(1, 41)), int(rng.integers(1, 129))),
    arg_names=("c1", "c2", "hidden"),
    compare=_compare_count,
))


def _batchnorm2d(z, gamma, beta, eps):
    """BatchNorm2d's training-mode forward pass on z: (N, C, H, W) with the given gamma, beta
    (C,) and eps, from course_nn's layer, with the outputs of the handed code and its partial
    fixes as recognized slips."""
    c = z.shape[1]
    layer = BatchNorm2d(c, eps=eps)
    layer.weight.data[...] = gamma
    layer.bias.data[...] = beta
    want = layer(z)

    def normalize(axis):
        mu, var = z.mean(axis=axis, keepdims=True), z.var(axis=axis, keepdims=True)
        return (z - mu) / np.sqrt(var + eps)

    per_position, per_channel = normalize(0), normalize((0, 2, 3))
    slips = [(gamma[:, None, None] * per_position + beta[:, None, None],
              "the statistics are still per pixel position (axis 0 only, BatchNorm1d's rule for "
              "features); a channel is one filter applied everywhere: take its mean and variance "
              "over the batch and every position, axis=(0, 2, 3)"),
             (gamma[None, :, None, None] * normalize((2, 3)) + beta[None, :, None, None],
              "that normalizes each image on its own (axis=(2, 3)): batch normalization takes "
              "the statistics of a channel over the whole batch, axis=(0, 2, 3)"),
             (gamma[None, :, None, None] * normalize(None) + beta[None, :, None, None],
              "one mean and variance for everything mixes the channels: one pair per channel, "
              "axis=(0, 2, 3)")]
    if z.shape[3] == c:       # gamma (C,) broadcasts along the last axis W: right shape, wrong numbers
        slips = [(gamma * per_position + beta,
                  "two bugs left: the statistics are per pixel position (axis 0 only) instead of "
                  "per channel over the batch and every position (axis=(0, 2, 3)); and gamma and "
                  "beta, of shape (C,), broadcast along the last axis (W), not the channels: "
                  "reshape them to (1, C, 1, 1)"),
                 (gamma * per_channel + beta,
                  "the statistics are right now, but gamma and beta, of shape (C,), broadcast "
                  "along the last axis (the columns W, here as many as the channels), not along "
                  "the channels: reshape them to (1, C, 1, 1)")] + slips
    return _with_slips(want, slips)


def _bn_case(rng, n, c, h, w):
    z = 2.0 * rng.standard_normal((n, c, h, w)) + rng.standard_normal((1, c, 1, 1)) * 3
    return z, rng.uniform(0.5, 2.0, c), rng.standard_normal(c), 1e-5


_BN_RNG = np.random.default_rng(14)
register(Exercise(
    id="cnn.batchnorm2d",
    kind="debug",
    reference=_batchnorm2d,
    fixed=[
        _bn_case(_BN_RNG, 4, 3, 5, 3),        # C = W: the mis-broadcast gamma keeps the shape
        _bn_case(_BN_RNG, 2, 3, 4, 5),        # C != W
        _bn_case(_BN_RNG, 1, 2, 3, 3),        # one image: still statistics over positions
        _bn_case(_BN_RNG, 8, 4, 2, 2),
        (np.ones((2, 2, 2, 2)), np.array([1.0, 2.0]), np.array([0.5, -0.5]), 1e-5),  # constant
    ],
    random=lambda rng: _bn_case(rng, int(rng.integers(1, 6)), int(rng.integers(1, 5)),
                                int(rng.integers(1, 5)), int(rng.integers(1, 5))),
    arg_names=("z", "gamma", "beta", "eps"),
    compare=_compare_with_slips,
))


# --- the chapter-14 recipe -------------------------------------------------------------------

def digits_image_split():
    """The digits as (N, 1, 8, 8) images, split as in chapter 11 (70/15/15 %, default_rng(0)).

    Returns ((X_train, y_train), (X_val, y_val), (X_test, y_test)).
    """
    from ...data import load_digits, train_val_test_split

    images, y = load_digits(as_images=True)
    return train_val_test_split(images[:, None], y, val=0.15, test=0.15, rng=np.random.default_rng(0))


def digits_cnn(seed=1, channels=(16, 32), hidden=64):
    """Conv(1->c1, 3, pad 1) -> ReLU -> MaxPool 2 -> Conv(c1->c2, 3, pad 1) -> ReLU -> MaxPool 2
    -> Flatten -> Linear(c2*2*2, hidden) -> ReLU -> Linear(hidden, 10).

    He initialization for the layers followed by ReLU, PyTorch's default for the output layer;
    every weight is drawn, layer by layer, from one ``np.random.default_rng(seed)``.
    """
    from ...activations import ReLU
    from ...init import he_normal
    from ...linear import Linear

    c1, c2 = channels
    rng = np.random.default_rng(seed)
    return Sequential(
        Conv2d(1, c1, 3, padding=1, rng=rng, init=he_normal), ReLU(), MaxPool2d(2),
        Conv2d(c1, c2, 3, padding=1, rng=rng, init=he_normal), ReLU(), MaxPool2d(2),
        Flatten(),
        Linear(c2 * 2 * 2, hidden, rng=rng, init=he_normal), ReLU(),
        Linear(hidden, 10, rng=rng),
    )


def train_digits_cnn(seed=1, epochs=30, lr=1e-3, batch_size=32, shuffle_seed=2, data=None):
    """Train ``digits_cnn(seed)`` with Adam on the chapter-11 split; one BLAS thread.

    Returns (model, history, (train, val, test)).
    """
    from ...losses import CrossEntropyLoss
    from ...optim import Adam
    from ...train import fit

    train, val, test = digits_image_split() if data is None else data
    model = digits_cnn(seed)
    with one_blas_thread():
        history = fit(model, CrossEntropyLoss(), Adam(model.parameters(), lr=lr), train, val,
                      epochs=epochs, batch_size=batch_size, rng=np.random.default_rng(shuffle_seed),
                      progress=False)
    return model, history, (train, val, test)
