"""Conv2d, pooling, Flatten, RNN/LSTM/GRU, Embedding and clip_grad_norm never fail silently.

Bad input raises an error naming the argument, what was expected and what came; a failed
call changes no state; writing into an array passed in or handed back does not change the
gradient of the next backward; nothing allocates gigabytes on a typo.
"""

import re

import numpy as np
import pytest

import course_nn as cn
from course_nn.conv import (
    AvgPool2d,
    Conv2d,
    Flatten,
    MaxPool2d,
    conv2d_naive,
    conv_output_size,
    receptive_field,
)
from course_nn.recurrent import GRU, LSTM, RNN, Embedding, clip_grad_norm


def esc(text):
    return re.escape(text)


def rng():
    return np.random.default_rng(0)


def grads(module):
    return [p.grad.copy() for p in module.parameters()]


# ----------------------------------------------------------------- caches the caller can corrupt

IMAGE_LAYERS = {
    "Conv2d": lambda: Conv2d(2, 3, 3, padding=1, rng=rng()),
    "Conv2d 1 sample 1 channel": lambda: Conv2d(1, 1, 2, rng=rng()),
    "MaxPool2d tiled": lambda: MaxPool2d(2),
    "MaxPool2d windows": lambda: MaxPool2d(3, stride=1, padding=1),
    "AvgPool2d": lambda: AvgPool2d(2, stride=1),
    "Flatten then Linear": lambda: cn.Sequential(Flatten(), cn.Linear(2 * 6 * 6, 3, rng=rng())),
    "Conv2d, MaxPool2d, Flatten": lambda: cn.Sequential(Conv2d(2, 2, 3, padding=1, rng=rng()),
                                                        MaxPool2d(2), Flatten()),
}


@pytest.mark.parametrize("name", sorted(IMAGE_LAYERS))
def test_writing_input_or_output_before_backward_leaves_image_gradients_unchanged(name):
    channels = 1 if "1 channel" in name else 2
    x = np.random.default_rng(1).standard_normal((1 if "1 sample" in name else 2, channels, 6, 6))
    clean = IMAGE_LAYERS[name]()
    g = np.random.default_rng(2).standard_normal(clean(x.copy()).shape)
    dx_clean = clean.backward(g)

    layer = IMAGE_LAYERS[name]()
    x_mine = x.copy()
    out = layer(x_mine)
    out += 5.0          # as `out += 1` in the caller's code
    x_mine[...] = -3.0  # the caller reuses their input buffer
    np.testing.assert_array_equal(layer.backward(g), dx_clean)
    for mine, ref in zip(grads(layer), grads(clean)):
        np.testing.assert_array_equal(mine, ref)


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU], ids=lambda c: c.__name__)
@pytest.mark.parametrize("n", [1, 3])  # one sample: the time-major reshape makes no copy
def test_writing_input_output_or_state_before_backward_leaves_recurrent_gradients_unchanged(cls, n):
    data = np.random.default_rng(3)
    x = data.standard_normal((n, 4, 3))
    g = data.standard_normal((n, 4, 5))
    h0 = data.standard_normal((n, 5))
    state = (h0, h0.copy()) if cls is LSTM else h0
    clean = cls(3, 5, rng=rng())
    clean(x.copy(), state)
    dx_clean, _ = clean.backward(g)

    layer = cls(3, 5, rng=rng())
    x_mine = x.copy()
    out, final = layer(x_mine, state)
    out += 1.0
    for s in final if cls is LSTM else (final,):
        s += 1.0
    x_mine[...] = 7.0
    dx, _ = layer.backward(g)
    np.testing.assert_array_equal(dx, dx_clean)
    for mine, ref in zip(grads(layer), grads(clean)):
        np.testing.assert_array_equal(mine, ref)


def test_writing_token_ids_before_backward_leaves_embedding_gradient_unchanged():
    ids = np.array([[0, 1, 1], [3, 2, 0]])
    g = np.random.default_rng(4).standard_normal((2, 3, 2))
    clean = Embedding(4, 2, rng=rng())
    clean(ids.copy())
    clean.backward(g)
    emb = Embedding(4, 2, rng=rng())
    mine = ids.copy()
    out = emb(mine)
    mine[...] = 3
    out += 1.0
    emb.backward(g)
    np.testing.assert_array_equal(emb.weight.grad, clean.weight.grad)


def test_flatten_copies_the_callers_array_and_views_arrays_between_layers():
    """As torch.flatten, a view inside a network; the caller's own x is copied, so a layer
    after Flatten never keeps memory the caller can write."""
    x = np.ones((2, 3, 4))
    assert not np.shares_memory(Flatten()(x), x)
    from course_nn._validate import between_layers
    with between_layers():
        assert np.shares_memory(Flatten()(x), x)


# --------------------------------------------------------------------- every backward checks

def built(name):
    """A layer after one forward, and the shape of its output."""
    data = np.random.default_rng(5)
    if name in ("RNN", "LSTM", "GRU"):
        layer = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}[name](3, 4, rng=rng())
        out, _ = layer(data.standard_normal((2, 5, 3)))
    elif name == "Embedding":
        layer = Embedding(6, 4, rng=rng())
        out = layer(np.array([[1, 2], [3, 5]]))
    else:
        layer = {"Conv2d": lambda: Conv2d(2, 3, 3, rng=rng()), "MaxPool2d": lambda: MaxPool2d(2),
                 "MaxPool2d windows": lambda: MaxPool2d(3, stride=1, padding=1),
                 "AvgPool2d": lambda: AvgPool2d(2), "Flatten": Flatten}[name]()
        out = layer(data.standard_normal((2, 2, 6, 6)))
    return layer, out.shape


LAYER_NAMES = ["Conv2d", "MaxPool2d", "MaxPool2d windows", "AvgPool2d", "Flatten", "RNN", "LSTM",
               "GRU", "Embedding"]


def bad_gradients(shape):
    nan = np.ones(shape)
    nan.flat[-1] = np.nan
    inf = np.ones(shape)
    inf.flat[0] = -np.inf
    wrong = np.ones(shape[:-1] + (shape[-1] + 1,))
    return {
        "nan": (nan, ValueError, "expected finite values, got 1 NaN or inf"),
        "inf": (inf, ValueError, "expected finite values, got 1 NaN or inf"),
        "complex": (np.ones(shape, complex), TypeError, "expected a float array, got dtype complex128"),
        "strings": (np.full(shape, "a"), TypeError, "expected a float array, got dtype <U1"),
        "int": (np.ones(shape, int), TypeError, "got dtype int64"),
        "wrong size": (wrong, ValueError, f"got {wrong.shape}"),
        "flat": (np.ones(int(np.prod(shape))), ValueError, "expected shape"),
    }


@pytest.mark.parametrize("bad", sorted(bad_gradients((2, 3))))
@pytest.mark.parametrize("name", LAYER_NAMES)
def test_backward_rejects_bad_gradients_and_changes_nothing(name, bad):
    layer, shape = built(name)
    grad, error, message = bad_gradients(shape)[bad]
    label = name.split()[0]
    with pytest.raises(error, match=f"{label} grad_out(put)?: " + ".*" + esc(message)):
        layer.backward(grad)
    assert all(np.all(g == 0) for g in grads(layer))
    layer.backward(np.ones(shape))  # the forward's cache is still there and intact


@pytest.mark.parametrize("name", ["RNN", "GRU"])
def test_recurrent_grad_state_is_checked(name):
    layer, shape = built(name)
    with pytest.raises(ValueError, match=esc(f"{name} grad_state: expected shape (2, 4), got (1, 2, 4)")):
        layer.backward(np.ones(shape), np.ones((1, 2, 4)))
    bad = np.ones((2, 4))
    bad[1, 1] = np.nan
    with pytest.raises(ValueError, match=f"{name} grad_state: expected finite values"):
        layer.backward(np.ones(shape), bad)
    assert all(np.all(g == 0) for g in grads(layer))


def test_lstm_grad_state_is_a_pair_each_checked():
    layer, shape = built("LSTM")
    g = np.ones(shape)
    with pytest.raises(TypeError, match=esc("LSTM grad_state: expected None or a pair (dL/dh_T, dL/dc_T) "
                                            "of (N, H) arrays, got an array of shape (2, 4)")):
        layer.backward(g, np.ones((2, 4)))
    with pytest.raises(ValueError, match=esc("LSTM grad_state[1]: expected shape (2, 4), got (4,)")):
        layer.backward(g, (np.ones((2, 4)), np.ones(4)))
    with pytest.raises(TypeError, match=esc("LSTM grad_state[0]: expected a float array")):
        layer.backward(g, ("a", None))
    assert all(np.all(gr == 0) for gr in grads(layer))
    dx, (dh, dc) = layer.backward(g, (None, np.ones((2, 4))))  # a missing half counts as zero
    assert dx.shape == (2, 5, 3) and dh.shape == dc.shape == (2, 4)


# ---------------------------------------------------------------- constructor arguments

@pytest.mark.parametrize("make, error, message", [
    (lambda: Conv2d(1, 1, 2.0), TypeError,
     "Conv2d kernel_size: expected an int >= 1 or a pair of them, got 2.0 (float)"),
    (lambda: Conv2d(1, 1, None), TypeError,
     "Conv2d kernel_size: expected an int >= 1 or a pair of them, got None"),
    (lambda: Conv2d(1, 1, "3"), TypeError,
     "Conv2d kernel_size: expected an int >= 1 or a pair of them, got '3'"),
    (lambda: Conv2d(1, 1, (3, 3, 3)), ValueError,
     "Conv2d kernel_size: expected an int >= 1 or a pair of them, got (3, 3, 3) (3 values)"),
    (lambda: Conv2d(1, 1, (3, 1.5)), TypeError, "got (3, 1.5) (contains float)"),
    (lambda: Conv2d(1, 1, 3, stride=0), ValueError,
     "Conv2d stride: expected an int >= 1 or a pair of them, got 0"),
    (lambda: Conv2d(1, 1, 3, padding=-1), ValueError,
     "Conv2d padding: expected an int >= 0 or a pair of them, got -1"),
    (lambda: Conv2d(1, 1, 3, padding=True), TypeError,
     "Conv2d padding: expected an int >= 0 or a pair of them, got True (bool)"),
    (lambda: Conv2d(0, 1, 3), ValueError, "Conv2d in_channels: expected an integer >= 1, got 0"),
    (lambda: Conv2d(1, 2.5, 3), TypeError, "Conv2d out_channels: expected an integer, got 2.5"),
    (lambda: Conv2d(1, 1, 3, bias="no"), TypeError, "Conv2d bias: expected True or False, got 'no'"),
    (lambda: Conv2d(1, 1, 3, dtype=int), TypeError,
     "Conv2d dtype: expected np.float32 or np.float64, got int"),
    (lambda: Conv2d(1, 1, 3, dtype="half"), TypeError,
     "Conv2d dtype: expected np.float32 or np.float64, got 'half'"),
    (lambda: Conv2d(1, 2, 3, init=lambda s, r: np.ones((2, 3))), ValueError,
     "Conv2d init (<lambda>): expected init(shape, rng) to return an array of shape (2, 1, 3, 3), "
     "got shape (2, 3)"),
    (lambda: Conv2d(1, 2, 3, init=lambda s, r: 0.1), ValueError, "got shape ()"),
    (lambda: Conv2d(1, 2, 3, init=lambda s, r: np.full(s, np.nan)), ValueError,
     "Conv2d init (<lambda>): expected finite values from init, got 18 NaN or inf entries"),
    (lambda: Conv2d(1, 2, 3, init=lambda s, r: None), TypeError,
     "Conv2d init (<lambda>): expected init(shape, rng) to return an array of real numbers, "
     "got None"),
    (lambda: Conv2d(1, 2, 3, init="he"), TypeError, "Conv2d init: expected a function (shape, rng) -> array"),
    (lambda: MaxPool2d(2.5), TypeError,
     "MaxPool2d kernel_size: expected an int >= 1 or a pair of them, got 2.5"),
    (lambda: MaxPool2d(None), TypeError,
     "MaxPool2d kernel_size: expected an int >= 1 or a pair of them, got None"),
    (lambda: AvgPool2d(2, stride=0), ValueError,
     "AvgPool2d stride: expected an int >= 1 or a pair of them, got 0"),
    (lambda: MaxPool2d(3, padding=2), ValueError,
     "MaxPool2d padding: expected at most half the kernel size (1), got 2"),
    (lambda: RNN(3, 0), ValueError, "RNN hidden_size: expected an integer >= 1, got 0"),
    (lambda: GRU(2.0, 3), TypeError, "GRU input_size: expected an integer, got 2.0"),
    (lambda: LSTM(3, 4, dtype=np.int32), TypeError,
     "LSTM dtype: expected np.float32 or np.float64, got int32"),
    (lambda: RNN(3, 4, nonlinearity="sigmoid"), ValueError,
     "RNN nonlinearity: expected 'tanh' or 'relu', got 'sigmoid'"),
    (lambda: Embedding(0, 3), ValueError, "Embedding num_embeddings: expected an integer >= 1, got 0"),
    (lambda: Embedding(5, 3, dtype=bool), TypeError,
     "Embedding dtype: expected np.float32 or np.float64, got bool"),
])
def test_constructor_arguments_are_checked(make, error, message):
    with pytest.raises(error, match=esc(message)):
        make()


@pytest.mark.parametrize("make, x, message", [
    (lambda: MaxPool2d(3), np.ones((1, 1, 2, 5)),
     "MaxPool2d input: kernel 3 with padding 0 does not fit an input of size 2"),
    (lambda: MaxPool2d(3, stride=1), np.ones((1, 1, 5, 2)),
     "MaxPool2d input: kernel 3 with padding 0 does not fit an input of size 2 (axis W"),
    (lambda: AvgPool2d(4, padding=1), np.ones((1, 1, 1, 1)),
     "AvgPool2d input: kernel 4 with padding 1 does not fit an input of size 1"),
    (lambda: Conv2d(1, 1, 5, padding=1), np.ones((1, 1, 2, 9)),
     "Conv2d input: kernel 5 with padding 1 does not fit an input of size 2"),
])
def test_windows_larger_than_the_padded_image_are_named(make, x, message):
    layer = make()
    with pytest.raises(ValueError, match=esc(message)):
        layer(x)
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward(np.ones((1, 1, 1, 1)))  # the failed forward left no cache


def test_a_failed_forward_keeps_the_previous_cache():
    conv = Conv2d(2, 3, 3, rng=rng())
    x = np.random.default_rng(6).standard_normal((2, 2, 5, 5))
    g = np.ones((2, 3, 3, 3))
    conv(x)
    dx = conv.backward(g)
    conv.zero_grad()
    conv(x)
    with pytest.raises(ValueError, match="Conv2d input: expected 2 channels"):
        conv(np.ones((2, 3, 5, 5)))
    np.testing.assert_array_equal(conv.backward(g), dx)


# ---------------------------------------------------------------- recurrent inputs and states

@pytest.mark.parametrize("cls", [RNN, LSTM, GRU], ids=lambda c: c.__name__)
def test_recurrent_inputs_are_checked(cls):
    layer = cls(3, 4, rng=rng())
    name = cls.__name__
    with pytest.raises(ValueError, match=esc(f"{name} input: expected shape (N, T, 3), got (2, 5)")):
        layer(np.ones((2, 5)))
    with pytest.raises(ValueError, match=esc(f"{name} input: expected shape (N, T, 3), got (2, 5, 4)")):
        layer(np.ones((2, 5, 4)))
    with pytest.raises(ValueError, match=esc(f"{name} input: expected a non-empty array, got shape (2, 0")):
        layer(np.ones((2, 0, 3)))
    with pytest.raises(TypeError, match=f"{name} input: expected a float array"):
        layer(np.ones((2, 5, 3), dtype=int))
    h0 = (np.ones((1, 2, 4)), np.ones((2, 4))) if cls is LSTM else np.ones((1, 2, 4))
    with pytest.raises(ValueError, match=esc(f"{name} h0: expected shape (2, 4), got (1, 2, 4)")):
        layer(np.ones((2, 5, 3)), h0)
    assert layer._cache is None


def test_lstm_state_must_be_a_pair():
    layer = LSTM(3, 4, rng=rng())
    x = np.ones((2, 5, 3))
    with pytest.raises(TypeError, match=esc("LSTM state: expected None or a pair (h0, c0) of (N, H) "
                                            "arrays, got an array of shape (2, 2, 4)")):
        layer(x, np.zeros((2, 2, 4)))  # would otherwise unpack into two rows silently
    with pytest.raises(TypeError, match="got tuple of length 1"):
        layer(x, (np.zeros((2, 4)),))
    with pytest.raises(ValueError, match=esc("LSTM c0: expected shape (2, 4), got (2, 3)")):
        layer(x, (np.zeros((2, 4)), np.zeros((2, 3))))
    with pytest.raises(TypeError, match="LSTM state: expected both h0 and c0 as .* got None for c0"):
        layer(x, (np.zeros((2, 4)), None))
    assert layer._cache is None


def test_relu_rnn_matches_its_definition_and_numerical_gradients():
    data = np.random.default_rng(7)
    layer = RNN(3, 4, nonlinearity="relu", rng=data)
    x, h0 = data.standard_normal((2, 5, 3)), data.standard_normal((2, 4))
    out, h = layer(x, h0)
    hs, ref = h0, []
    for t in range(5):
        hs = np.maximum(x[:, t] @ layer.weight_ih.data.T + layer.bias_ih.data
                        + hs @ layer.weight_hh.data.T + layer.bias_hh.data, 0.0)
        ref.append(hs)
    np.testing.assert_allclose(out, np.stack(ref, axis=1), rtol=0, atol=1e-14)
    np.testing.assert_array_equal(h, out[:, -1])
    errors = cn.check_module_gradients(layer, x, rng=data)
    assert max(errors.values()) < 1e-6, errors
    assert repr(layer) == "RNN(3, 4, nonlinearity='relu')"


def test_relu_rnn_matches_pytorch():
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(8)
    layer = RNN(3, 4, nonlinearity="relu", rng=data)
    x, g = data.standard_normal((2, 6, 3)), data.standard_normal((2, 6, 4))
    out, _ = layer(x)
    dx, _ = layer.backward(g)
    ref = torch.nn.RNN(3, 4, nonlinearity="relu", batch_first=True).double()
    with torch.no_grad():
        for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(ref, p + "_l0")[...] = torch.tensor(getattr(layer, p).data)
    xt = torch.tensor(x, requires_grad=True)
    out_t, _ = ref(xt)
    (out_t * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(layer.weight_hh.grad, ref.weight_hh_l0.grad.numpy(), rtol=0, atol=1e-12)


# ------------------------------------------------------------------------------- Embedding

@pytest.mark.parametrize("ids, error, message", [
    (np.array([1.0, 2.0]), TypeError, "Embedding input: expected integer token ids, got dtype float64"),
    (np.array([True, False]), TypeError, "Embedding input: expected integer token ids, got dtype bool"),
    (np.array([0, -1]), ValueError, "Embedding input: expected ids in [0, 4], got values in [-1, 0]"),
    (np.array([[0, 5]]), ValueError, "Embedding input: expected ids in [0, 4], got values in [0, 5]"),
    (np.array([], dtype=int), ValueError, "Embedding input: expected at least one token id, got shape (0,)"),
    ([[1, 2], [3]], ValueError, "Embedding input: expected a rectangular array"),
    (None, TypeError, "Embedding input: expected integer token ids, got dtype object"),
])
def test_embedding_ids_are_checked_and_a_failure_keeps_the_cache(ids, error, message):
    emb = Embedding(5, 2, rng=rng())
    emb(np.array([1, 1]))
    with pytest.raises(error, match=esc(message)):
        emb(ids)
    emb.backward(np.ones((2, 2)))
    np.testing.assert_array_equal(emb.weight.grad[1], [2.0, 2.0])


# -------------------------------------------------------------------------- clip_grad_norm

def params_with_grads(*values):
    out = []
    for v in values:
        p = cn.Parameter(np.zeros(np.shape(v)))
        p.grad = np.array(v, dtype=float)
        out.append(p)
    return out


def test_clip_grad_norm_raises_on_non_finite_gradients_and_changes_nothing():
    a, b = params_with_grads([3.0, 4.0], [1.0, np.nan, np.inf])
    with pytest.raises(ValueError, match=esc("clip_grad_norm: expected finite gradients, got 2 NaN or inf "
                                             "entries in the gradient of parameter 1 (Parameter(shape=(3,)")):
        clip_grad_norm([a, b], 1.0)
    np.testing.assert_array_equal(a.grad, [3.0, 4.0])


@pytest.mark.parametrize("params, error, message", [
    (lambda p: [p, p], ValueError, "clip_grad_norm params: parameter 1 is parameter 0 again"),
    (lambda p: cn.Linear(2, 2, rng=rng()), TypeError,
     "clip_grad_norm params: expected Parameters, got a Linear module; pass its .parameters()"),
    (lambda p: cn.Sequential(cn.Linear(2, 2, rng=rng())), TypeError, "got a Sequential module"),
    (lambda p: [], ValueError, "clip_grad_norm params: expected at least one Parameter, got none"),
    (lambda p: [p, np.ones(2)], TypeError,
     "clip_grad_norm params: expected a Parameter at position 1, got ndarray"),
    (lambda p: None, TypeError, "clip_grad_norm params: expected a Parameter or an iterable of Parameters"),
])
def test_clip_grad_norm_params_are_checked(params, error, message):
    (p,) = params_with_grads([3.0, 4.0])
    with pytest.raises(error, match=esc(message)):
        clip_grad_norm(params(p), 1.0)
    np.testing.assert_array_equal(p.grad, [3.0, 4.0])  # a duplicate is not clipped twice


@pytest.mark.parametrize("max_norm, error, message", [
    (0, ValueError, "clip_grad_norm max_norm: expected a value > 0, got 0"),
    (-1.0, ValueError, "expected a value > 0"),
    (np.nan, ValueError, "clip_grad_norm max_norm: expected a finite number, got nan"),
    (None, TypeError, "clip_grad_norm max_norm: expected a real number, got None"),
    ("1", TypeError, "expected a real number, got '1'"),
])
def test_clip_grad_norm_max_norm_is_checked(max_norm, error, message):
    (p,) = params_with_grads([3.0, 4.0])
    with pytest.raises(error, match=esc(message)):
        clip_grad_norm([p], max_norm)
    np.testing.assert_array_equal(p.grad, [3.0, 4.0])


@pytest.mark.parametrize("scale", [1e200, 1e300, 1e-200, 1e-300])
def test_clip_grad_norm_measures_huge_and_tiny_gradients_without_overflow(scale):
    a, b = params_with_grads([3.0 * scale, 0.0], [[4.0 * scale]])
    norm = clip_grad_norm([a, b], 1.0)
    assert norm == pytest.approx(5.0 * scale, rel=1e-12)
    if scale > 1:  # clipped to norm 1: (0.6, 0.8), not zeros from an infinite norm
        np.testing.assert_allclose(a.grad, [0.6, 0.0], rtol=1e-12)
        np.testing.assert_allclose(b.grad, [[0.8]], rtol=1e-12)
    else:
        np.testing.assert_array_equal(a.grad, [3.0 * scale, 0.0])


def test_clip_grad_norm_single_parameter_infinite_max_norm_and_missing_gradients():
    (p,) = params_with_grads([3.0, 4.0])
    assert clip_grad_norm(p, np.inf) == pytest.approx(5.0)  # measures only, as torch
    np.testing.assert_array_equal(p.grad, [3.0, 4.0])
    fresh = cn.Parameter(np.zeros(2))  # no backward yet: counts as zero, gets no array
    assert clip_grad_norm([p, fresh], 1.0) == pytest.approx(5.0)
    assert fresh._grad is None


# ---------------------------------------------------------------------- out of proportion

@pytest.mark.parametrize("call, message", [
    (lambda: Conv2d(1, 1, 201, padding=100)(np.ones((64, 1, 100, 100))),
     "Conv2d im2col matrix: this would allocate"),
    (lambda: Conv2d(1, 1, 3, padding=10 ** 6)(np.ones((1, 1, 3, 3))),
     "Conv2d padded input: this would allocate"),
    (lambda: MaxPool2d(200, stride=1, padding=100)(np.ones((8, 8, 400, 400))),
     "MaxPool2d window matrix: this would allocate"),
    (lambda: LSTM(1, 512)(np.ones((64, 100_000, 1))),
     "LSTM cache for 100000 time steps: this would allocate"),
    (lambda: Conv2d(10 ** 5, 10 ** 5, 10), "Conv2d weight: this would allocate"),
    (lambda: GRU(10 ** 6, 10 ** 5), "GRU weights: this would allocate"),
    (lambda: Embedding(10 ** 9, 300), "Embedding weight: this would allocate"),
])
def test_huge_allocations_are_refused_before_they_happen(call, message):
    with pytest.raises(ValueError, match=esc(message) + ".*GiB"):
        call()


# ---------------------------------------------------------------------- helper functions

@pytest.mark.parametrize("call, error, message", [
    (lambda: conv_output_size(8.0, 3), TypeError, "conv_output_size size: expected an integer, got 8.0"),
    (lambda: conv_output_size(8, 3, 0), ValueError,
     "conv_output_size stride: expected an integer >= 1, got 0"),
    (lambda: conv_output_size(8, 3, 1, -1), ValueError,
     "conv_output_size padding: expected an integer >= 0, got -1"),
    (lambda: conv_output_size(2, 5), ValueError, "kernel 5 with padding 0 does not fit an input of size 2"),
    (lambda: receptive_field([(3, 1), 2]), TypeError,
     "receptive_field layers[1]: expected a (kernel_size, stride) pair of ints, got 2"),
    (lambda: receptive_field([(3, 0.5)]), TypeError,
     "receptive_field layers[0] stride: expected an integer, got 0.5"),
    (lambda: receptive_field(3), TypeError,
     "receptive_field layers: expected a sequence of (kernel_size, stride) pairs, got int"),
    (lambda: conv2d_naive(np.ones((1, 2, 4, 4)), np.ones((1, 3, 2, 2))), ValueError,
     "conv2d_naive weight: expected 2 input channels to match x (shape (O, 2, kh, kw)), got shape (1, 3"),
    (lambda: conv2d_naive(np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), bias=np.ones(2)), ValueError,
     "conv2d_naive bias: expected shape (1), got (2,)"),
    (lambda: conv2d_naive(np.full((1, 1, 4, 4), np.nan), np.ones((1, 1, 2, 2))), ValueError,
     "conv2d_naive x: expected finite values"),
    (lambda: conv2d_naive(np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), stride=1.0), TypeError,
     "conv2d_naive stride: expected an int >= 1 or a pair of them, got 1.0"),
    (lambda: conv2d_naive(np.ones((64, 3, 32, 32)), np.ones((16, 3, 3, 3))), ValueError,
     "conv2d_naive: expected at most 1000000 multiply-adds"),
])
def test_helper_function_arguments_are_checked(call, error, message):
    with pytest.raises(error, match=esc(message)):
        call()


def test_avgpool_of_huge_finite_values_is_finite():
    """The mean of finite values is finite even when their sum is not (1e308 + 1e308)."""
    x = np.full((1, 1, 4, 4), 1.5e308)
    out = AvgPool2d(2)(x)
    np.testing.assert_allclose(out, np.full((1, 1, 2, 2), 1.5e308), rtol=1e-15)
    small = np.arange(16.0).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(AvgPool2d(2)(small), small.reshape(1, 1, 2, 2, 2, 2).transpose(
        0, 1, 2, 4, 3, 5).reshape(1, 1, 2, 2, 4).mean(axis=-1))


@pytest.mark.parametrize("make,out_shape", [(lambda: cn.Linear(2, 1), (1, 1)),
                                            (lambda: cn.ReLU(), (1, 2))])
def test_ragged_lists_name_the_argument(make, out_shape):
    with pytest.raises(ValueError, match="input: expected a rectangular array"):
        make()([[1.0, 2.0], [3.0]])
    assert make()([[1.0, 2.0]]).shape == out_shape  # a rectangular list is accepted
