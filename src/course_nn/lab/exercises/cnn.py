"""Chapters 13 and 14 exercises: convolutions, pooling, and the shapes of a CNN.

Chapter 13 (convolutions):
cnn.output_size        output length along one axis for input n, kernel k, padding p, stride s
cnn.cross_correlate    valid, stride-1 cross-correlation of one (H, W) image with a (kh, kw) kernel
cnn.maxpool_backward   dL/dx of 2x2, stride-2 max pooling: each window's gradient to its maximum
cnn.avgpool_backward   dL/dx of k x k average pooling with stride s (overlapping windows add)
cnn.conv2d_backward    (dL/dx, dL/dW, dL/db) of a stride-1, unpadded Conv2d on a batch
cnn.receptive_field    receptive field of a stack of (kernel_size, stride) layers

Chapter 14 (a CNN on the digits):
cnn.conv_params        number of parameters of Conv2d(c_in, c_out, k) with bias
cnn.conv_output_shape  output shape (N, C_out, Ho, Wo) of a Conv2d applied to an (N, C, H, W) batch
cnn.flatten_size       number of features after Flatten, for a stack of conv and pool layers

References are course_nn's own layers and functions (Conv2d, MaxPool2d, conv_output_size,
receptive_field); fixed cases hold the traps (floor division, asymmetric kernels that expose
a flipped or transposed answer, ties inside a pooling window, strides that compound,
overlapping pooling windows, as many input as output channels so that swapped channels keep
the right shape).

The chapter-14 recipe (``digits_cnn``, ``digits_image_split``, ``train_digits_cnn``) lives
here too, so the notebook and ``tests/test_cnn_digits.py`` run the same code.
"""


import numpy as np

from ...conv import AvgPool2d, Conv2d, Flatten, MaxPool2d, conv_output_size
from ...conv import receptive_field as _receptive_field
from ...module import Sequential
from ..threads import one_blas_thread
from . import Exercise, _default_compare, _describe, _format, _show, _whole_number, register


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


def _compare_shape(expected, got):
    """Accept a tuple or list of whole numbers equal to the expected shape."""
    if not isinstance(got, (tuple, list)) or len(got) != len(expected):
        return f"expected a tuple of {len(expected)} whole numbers {expected}, got {_show(got)}"
    for axis, (e, g) in enumerate(zip(expected, got)):
        reason = _compare_integer(e, g)
        if reason:
            return f"axis {axis}: {reason} (expected shape {expected}, got {_show(tuple(got))})"
    return None


# --- chapter 13 -----------------------------------------------------------------------------

def _output_size(n, k, p, s):
    return conv_output_size(n, k, s, p)


def _random_output_size(rng):
    k = int(rng.integers(1, 8))
    p = int(rng.integers(0, 4))
    s = int(rng.integers(1, 5))
    n = int(rng.integers(max(1, k - 2 * p), 40))
    return n, k, p, s


register(Exercise(
    id="cnn.output_size",
    kind="transcribe",
    reference=_output_size,
    fixed=[
        (3, 2, 0, 1),      # the 3x3 input with a 2x2 kernel: 2
        (8, 3, 1, 1),      # "same" padding: 8
        (8, 3, 1, 2),      # stride 2: 4
        (8, 3, 0, 2),      # floor: (8 - 3) / 2 + 1 = 3.5 -> 3
        (224, 3, 1, 1),    # 224
        (7, 5, 2, 3),      # floor with padding
        (5, 5, 0, 1),      # kernel as large as the input: 1
        (1, 3, 1, 1),      # a single pixel, padded
    ],
    random=_random_output_size,
    arg_names=("n", "k", "p", "s"),
    compare=_compare_integer,
))


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


def _maxpool_backward(x, grad_out):
    pool = MaxPool2d(2)
    pool(x[None, None])
    return pool.backward(grad_out[None, None])[0, 0]


def _random_maxpool(rng):
    h, w = 2 * int(rng.integers(1, 5)), 2 * int(rng.integers(1, 5))
    return rng.standard_normal((h, w)), rng.standard_normal((h // 2, w // 2))


register(Exercise(
    id="cnn.maxpool_backward",
    kind="transcribe",
    reference=_maxpool_backward,
    fixed=[
        (np.array([[1.0, 3.0], [2.0, 0.0]]), np.array([[5.0]])),
        (np.arange(16.0).reshape(4, 4), np.array([[1.0, 2.0], [3.0, 4.0]])),
        (np.array([[0.0, -1.0, 4.0, 4.0],                                   # a tie: 4 and 4
                   [-2.0, -3.0, 1.0, 4.0]]), np.array([[1.0, -2.0]])),
        (np.array([[-5.0, -1.0], [-2.0, -3.0], [7.0, 7.0], [7.0, 7.0]]),     # all four tie
         np.array([[0.5], [-1.5]])),
        (np.array([[2.0, 1.0, 0.0, 9.0, 3.0, 8.0],
                   [1.0, 0.0, 1.0, 2.0, 3.0, 1.0]]), np.array([[1.0, 1.0, 1.0]])),
    ],
    random=_random_maxpool,
    arg_names=("x", "grad_out"),
))


def _avgpool_backward(x, grad_out, k, s):
    pool = AvgPool2d(k, stride=s)
    pool(x[None, None])
    return pool.backward(grad_out[None, None])[0, 0]


def _pool_case(x, k, s, rng=None):
    """(x, grad_out, k, s) with grad_out of the pooled shape (integers unless rng is given)."""
    ho, wo = conv_output_size(x.shape[0], k, s, 0), conv_output_size(x.shape[1], k, s, 0)
    g = (np.arange(1.0, ho * wo + 1).reshape(ho, wo) if rng is None
         else rng.standard_normal((ho, wo)))
    return x, g, k, s


def _random_avgpool(rng):
    k, s = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    h, w = int(rng.integers(k, 10)), int(rng.integers(k, 10))
    return _pool_case(rng.standard_normal((h, w)), k, s, rng)


register(Exercise(
    id="cnn.avgpool_backward",
    kind="transcribe",
    reference=_avgpool_backward,
    fixed=[
        _pool_case(np.arange(16.0).reshape(4, 4), 2, 2),        # the chapter's 2 x 2, stride 2
        _pool_case(np.arange(9.0).reshape(3, 3), 2, 1),         # overlapping windows: add
        _pool_case(np.arange(25.0).reshape(5, 5) % 7, 3, 2),    # overlap on the middle row/column
        _pool_case(np.arange(36.0).reshape(6, 6), 3, 3),        # 1/9, not 1/4
        _pool_case(np.arange(20.0).reshape(5, 4), 2, 2),        # the last row is in no window: 0
        _pool_case(np.arange(24.0).reshape(4, 6), 2, 3),        # stride > kernel: gaps get 0
        _pool_case(np.arange(6.0).reshape(2, 3), 1, 1),         # 1 x 1 windows: the identity
    ],
    random=_random_avgpool,
    arg_names=("x", "grad_out", "k", "s"),
))


def _conv2d_backward(x, w, grad_out):
    conv = _conv(w.shape[1], w.shape[0], w.shape[2:])
    conv.weight.data[...] = w
    conv(x)
    dx = conv.backward(grad_out)
    return dx, conv.weight.grad.copy(), conv.bias.grad.copy()


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


register(Exercise(
    id="cnn.receptive_field",
    kind="transcribe",
    reference=lambda layers: _receptive_field(layers),
    fixed=[
        ([],),
        ([(3, 1)],),
        ([(3, 1), (3, 1)],),
        ([(3, 1), (3, 1), (3, 1)],),
        ([(3, 1), (2, 2), (3, 1), (2, 2)],),        # the chapter-14 CNN: 10
        ([(7, 2), (3, 2), (3, 1)],),                # strides compound: 7 + 2*2 + 2*4 = 19
        ([(1, 1), (1, 2), (5, 1)],),                # 1x1 layers add nothing, but their stride counts
    ],
    random=lambda rng: (_random_stack(rng),),
    arg_names=("layers",),
    compare=_compare_integer,
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


def _conv_output_shape(shape, out_channels, kernel_size, stride, padding):
    conv = _conv(shape[1], out_channels, kernel_size, stride, padding)
    return tuple(int(d) for d in conv(np.zeros(shape)).shape)


def _random_conv_shape(rng):
    k = int(rng.integers(1, 6))
    p = int(rng.integers(0, 3))
    s = int(rng.integers(1, 4))
    low = max(1, k - 2 * p)
    shape = (int(rng.integers(1, 5)), int(rng.integers(1, 4)),
             int(rng.integers(low, 13)), int(rng.integers(low, 13)))
    return shape, int(rng.integers(1, 9)), k, s, p


register(Exercise(
    id="cnn.conv_output_shape",
    kind="transcribe",
    reference=_conv_output_shape,
    fixed=[
        ((32, 1, 8, 8), 16, 3, 1, 1),        # the chapter's first layer on a batch of 32
        ((32, 16, 4, 4), 32, 3, 1, 1),       # its second layer
        ((5, 3, 10, 7), 4, 3, 1, 0),         # H != W
        ((2, 3, 9, 9), 6, 3, 2, 0),          # stride 2: 4
        ((1, 2, 8, 6), 5, 4, 3, 1),          # floor in both axes
        ((4, 1, 3, 3), 2, 2, 1, 0),          # the 3 x 3 example
    ],
    random=_random_conv_shape,
    arg_names=("shape", "out_channels", "kernel_size", "stride", "padding"),
    compare=_compare_shape,
))


def _build_stack(layers):
    modules, channels = [], 1
    for spec in layers:
        if spec[0] == "conv":
            _, c_out, k, s, p = spec
            modules.append(_conv(channels, c_out, k, s, p))
            channels = c_out
        else:
            modules.append(MaxPool2d(spec[1]))
    return Sequential(*modules, Flatten())


def _flatten_size(height, width, layers):
    return int(_build_stack(layers)(np.zeros((1, 1, height, width))).shape[1])


def _random_flatten(rng):
    h, w = int(rng.integers(6, 20)), int(rng.integers(6, 20))
    layers, hh, ww = [], h, w
    for _ in range(int(rng.integers(1, 5))):
        if rng.random() < 0.6:
            k, s, p = int(rng.choice([1, 3, 5])), int(rng.integers(1, 3)), int(rng.integers(0, 3))
            if min(hh, ww) + 2 * p < k:
                continue
            layers.append(("conv", int(rng.integers(1, 9)), k, s, p))
            hh, ww = conv_output_size(hh, k, s, p), conv_output_size(ww, k, s, p)
        else:
            k = int(rng.choice([2, 3]))
            if min(hh, ww) < k:
                continue
            layers.append(("pool", k))
            hh, ww = hh // k, ww // k
    return h, w, layers


register(Exercise(
    id="cnn.flatten_size",
    kind="transcribe",
    reference=_flatten_size,
    fixed=[
        (8, 8, [("conv", 16, 3, 1, 1), ("pool", 2), ("conv", 32, 3, 1, 1), ("pool", 2)]),  # 128
        (8, 8, []),                                                                        # 64
        (28, 28, [("conv", 6, 5, 1, 2), ("pool", 2), ("conv", 16, 5, 1, 0), ("pool", 2)]),  # LeNet-5: 400
        (9, 7, [("conv", 4, 3, 1, 0), ("pool", 2)]),                                       # floors
        (12, 10, [("conv", 3, 3, 2, 1), ("conv", 5, 1, 1, 0)]),                            # stride 2, 1x1
        (8, 8, [("pool", 2), ("pool", 2), ("pool", 2)]),                                   # 1 channel: 1
    ],
    random=_random_flatten,
    arg_names=("height", "width", "layers"),
    compare=_compare_integer,
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
