"""RNN, LSTM, GRU (BPTT), Embedding and gradient clipping: gradient checks, PyTorch parity."""

from pathlib import Path

import numpy as np
import pytest

import course_nn as cn
from course_nn.recurrent import GRU, LSTM, RNN, Embedding, clip_grad_norm

REFERENCE = Path(__file__).parent / "reference" / "torch_recurrent.npz"
LAYERS = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}
PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
N, T, D, H = 3, 6, 4, 5


def case(name):
    """Parameters, inputs, initial state and upstream gradients for one layer type."""
    rng = np.random.default_rng(len(name) * 31337)
    gates = LAYERS[name].gates
    params = {p: rng.uniform(-0.6, 0.6, size=(gates * H, D if p == "weight_ih" else H))
              if p.startswith("weight") else rng.uniform(-0.6, 0.6, size=gates * H) for p in PARAMS}
    x = rng.standard_normal((N, T, D))
    state = [rng.standard_normal((N, H)) for _ in range(2 if name == "LSTM" else 1)]
    grad_out = rng.standard_normal((N, T, H))
    grad_state = [rng.standard_normal((N, H)) for _ in state]
    return params, x, state, grad_out, grad_state


def run_ours(name):
    params, x, state, grad_out, grad_state = case(name)
    layer = LAYERS[name](D, H)
    for p, value in params.items():
        getattr(layer, p).data[...] = value
    pack = (lambda s: tuple(s)) if name == "LSTM" else (lambda s: s[0])
    out, final = layer(x, pack(state))
    dx, dstate = layer.backward(grad_out, pack(grad_state))
    final = final if name == "LSTM" else (final,)
    dstate = dstate if name == "LSTM" else (dstate,)
    result = {"out": out, "dx": dx}
    result |= {f"final{i}": f for i, f in enumerate(final)}
    result |= {f"dstate{i}": d for i, d in enumerate(dstate)}
    result |= {f"d{p}": getattr(layer, p).grad for p in PARAMS}
    return result


def run_torch(name):
    import torch

    params, x, state, grad_out, grad_state = case(name)
    layer = getattr(torch.nn, name)(D, H, batch_first=True).double()
    with torch.no_grad():
        for p, value in params.items():
            getattr(layer, p + "_l0")[...] = torch.tensor(value)
    xt = torch.tensor(x, requires_grad=True)
    st = [torch.tensor(s[None], requires_grad=True) for s in state]
    out, final = layer(xt, tuple(st) if name == "LSTM" else st[0])
    final = final if name == "LSTM" else (final,)
    total = (out * torch.tensor(grad_out)).sum()
    for f, g in zip(final, grad_state):
        total = total + (f[0] * torch.tensor(g)).sum()
    total.backward()
    result = {"out": out.detach().numpy(), "dx": xt.grad.numpy()}
    result |= {f"final{i}": f[0].detach().numpy() for i, f in enumerate(final)}
    result |= {f"dstate{i}": s.grad.numpy()[0] for i, s in enumerate(st)}
    result |= {f"d{p}": getattr(layer, p + "_l0").grad.numpy() for p in PARAMS}
    return result


def write_reference():
    """Run by hand with torch installed: python -c 'import test_recurrent as t; t.write_reference()'"""
    arrays = {f"{name}/{k}": v for name in LAYERS for k, v in run_torch(name).items()}
    np.savez_compressed(REFERENCE, **arrays)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_matches_committed_pytorch_reference(name):
    ref = np.load(REFERENCE)
    for key, value in run_ours(name).items():
        np.testing.assert_allclose(value, ref[f"{name}/{key}"], rtol=0, atol=1e-10, err_msg=key)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_matches_live_pytorch(name):
    pytest.importorskip("torch")
    theirs = run_torch(name)
    for key, value in run_ours(name).items():
        np.testing.assert_allclose(value, theirs[key], rtol=0, atol=1e-10, err_msg=key)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_bptt_gradients_match_central_differences(name):
    """The scalar L = sum(out * g) + sum(final * g_state), differentiated numerically."""
    params, x, state, grad_out, grad_state = case(name)
    layer = LAYERS[name](D, H)
    for p, value in params.items():
        getattr(layer, p).data[...] = value
    pack = (lambda s: tuple(s)) if name == "LSTM" else (lambda s: s[0])

    def loss():
        out, final = layer(x, pack(state))
        final = final if name == "LSTM" else (final,)
        return np.sum(out * grad_out) + sum(np.sum(f * g) for f, g in zip(final, grad_state))

    loss()
    layer.zero_grad()
    dx, dstate = layer.backward(grad_out, pack(grad_state))
    dstate = dstate if name == "LSTM" else (dstate,)
    assert cn.rel_error(dx, cn.numerical_gradient(lambda _: loss(), x)) < 1e-7
    for s, d in zip(state, dstate):
        assert cn.rel_error(d, cn.numerical_gradient(lambda _: loss(), s)) < 1e-7
    for p in PARAMS:
        param = getattr(layer, p)
        assert cn.rel_error(param.grad, cn.numerical_gradient(lambda _: loss(), param.data)) < 1e-7, p


def test_parameter_count_does_not_depend_on_sequence_length():
    rnn = RNN(D, H, rng=np.random.default_rng(0))
    assert rnn.num_parameters() == H * D + H * H + 2 * H
    for t_len in (1, 10, 100):
        out, _ = rnn(np.zeros((2, t_len, D)))
        assert out.shape == (2, t_len, H)
    assert LSTM(D, H).num_parameters() == 4 * (H * D + H * H + 2 * H)
    assert GRU(D, H).num_parameters() == 3 * (H * D + H * H + 2 * H)


def test_float32_stays_float32():
    lstm = LSTM(D, H, dtype=np.float32)
    out, (h, c) = lstm(np.ones((2, 3, D), dtype=np.float32))
    assert out.dtype == h.dtype == c.dtype == np.float32
    dx, _ = lstm.backward(np.ones((2, 3, H), dtype=np.float32))
    assert dx.dtype == np.float32 and lstm.weight_hh.grad.dtype == np.float32


def test_embedding_lookup_and_repeated_ids():
    emb = Embedding(5, 2, rng=np.random.default_rng(0))
    ids = np.array([[1, 3, 1], [4, 1, 0]])
    out = emb(ids)
    assert out.shape == (2, 3, 2)
    np.testing.assert_array_equal(out[0, 0], emb.weight.data[1])
    grad = np.arange(12.0).reshape(2, 3, 2)
    emb.backward(grad)
    np.testing.assert_array_equal(emb.weight.grad[1], grad[0, 0] + grad[0, 2] + grad[1, 1])
    np.testing.assert_array_equal(emb.weight.grad[2], [0.0, 0.0])
    with pytest.raises(TypeError, match="expected integer token ids, got dtype float64"):
        emb(np.array([1.0]))
    with pytest.raises(ValueError, match=r"expected ids in \[0, 4\], got values in \[0, 5\]"):
        emb(np.array([0, 5]))


def test_clip_grad_norm_matches_pytorch_rule():
    a, b = cn.Parameter(np.zeros(3)), cn.Parameter(np.zeros((2, 2)))
    a.grad[:] = [3.0, 0.0, 0.0]
    b.grad[:] = [[0.0, 4.0], [0.0, 0.0]]
    assert clip_grad_norm([a, b], 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad, [3.0 / (5.0 + 1e-6), 0, 0])
    assert clip_grad_norm([a, b], 10.0) == pytest.approx(1.0, rel=1e-6)  # no change below max
    np.testing.assert_allclose(b.grad, [[0, 4.0 / (5.0 + 1e-6)], [0, 0]])
    with pytest.raises(ValueError, match="max_norm: expected a value > 0"):
        clip_grad_norm([a], 0)


def test_bad_inputs_are_rejected():
    rnn = RNN(D, H)
    with pytest.raises(ValueError, match=r"RNN input: expected shape \(N, T, 4\), got \(2, 3\)"):
        rnn(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"RNN h0: expected shape \(2, 5\), got \(3, 5\)"):
        rnn(np.zeros((2, 3, D)), np.zeros((3, H)))
    with pytest.raises(RuntimeError, match="backward called before forward"):
        GRU(D, H).backward(np.zeros((1, 1, H)))
    with pytest.raises(ValueError, match="LSTM hidden_size: expected an integer >= 1, got 0"):
        LSTM(D, 0)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_check_module_gradients_handles_recurrent_layers(name):
    """The learner-facing checker accepts layers whose forward returns (output, state)."""
    rng = np.random.default_rng(11)
    layer = LAYERS[name](3, 4, rng=rng)
    errors = cn.check_module_gradients(layer, rng.standard_normal((2, 5, 3)), rng=rng)
    assert set(errors) == {"input", "weight_ih", "weight_hh", "bias_ih", "bias_hh"}
    assert max(errors.values()) < 1e-7, errors


def test_check_module_gradients_catches_a_wrong_recurrent_backward():
    class ForgetsTheRecurrence(RNN):
        def backward(self, grad_output, grad_state=None):  # drops dL/dh flowing back in time
            x, hs = self._cache
            dz = grad_output * (1.0 - hs[:, 1:] ** 2)
            return self._accumulate(x, hs[:, :-1], dz, dz), None

    rng = np.random.default_rng(12)
    errors = cn.check_module_gradients(ForgetsTheRecurrence(3, 4, rng=rng), rng.standard_normal((2, 5, 3)))
    assert errors["weight_hh"] > 1e-3 and errors["input"] > 1e-3
