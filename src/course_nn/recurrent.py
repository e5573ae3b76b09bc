"""Recurrent layers, RNN (tanh), LSTM and GRU, with backpropagation through time (BPTT).

Inputs are batch-first, x: (N, T, D). Parameters are named and laid out as in torch.nn:
weight_ih (G*H, D), weight_hh (G*H, H), bias_ih and bias_hh (G*H,), with the gates stacked
in PyTorch's order (LSTM: i, f, g, o; GRU: r, z, n). The input projection of every time
step is one matrix product before the loop; the loop runs over time only, never over
samples. The final state is returned as (N, H) (PyTorch's is (num_layers, N, H)).

``forward(x, state=None)`` returns ``(output, final_state)`` with output: (N, T, H).
``backward(grad_output, grad_state=None)`` takes dL/doutput (N, T, H) and optionally
dL/dfinal_state, accumulates every parameter gradient, and returns ``(dx, dstate0)``.
"""

import numpy as np

from . import init as initializers
from ._validate import as_float_array, check_number, check_positive_int
from .module import Module, Parameter


class _Recurrent(Module):
    gates = 1

    def __init__(self, input_size, hidden_size, *, rng=None, dtype=np.float64):
        self.input_size = check_positive_int(input_size, "input_size")
        self.hidden_size = check_positive_int(hidden_size, "hidden_size")
        gh = self.gates * self.hidden_size
        bound = 1.0 / np.sqrt(self.hidden_size)  # PyTorch: U(-1/sqrt(H), 1/sqrt(H)) for all
        rng = initializers._rng(rng)
        shapes = {"weight_ih": (gh, self.input_size), "weight_hh": (gh, self.hidden_size),
                  "bias_ih": (gh,), "bias_hh": (gh,)}
        for name, shape in shapes.items():
            setattr(self, name, Parameter(rng.uniform(-bound, bound, size=shape).astype(dtype)))
        self._cache = None

    def _check_input(self, x, h0, name="h0"):
        x = as_float_array(x, f"{type(self).__name__} input", shape=("N", "T", self.input_size))
        n = x.shape[0]
        if h0 is None:
            return x, np.zeros((n, self.hidden_size), dtype=x.dtype)
        h0 = as_float_array(h0, f"{type(self).__name__} {name}", shape=(n, self.hidden_size))
        return x, h0

    def _project_inputs(self, x):
        """x @ W_ih.T + b_ih for all time steps at once: (N, T, G*H)."""
        return x @ self.weight_ih.data.T + self.bias_ih.data

    def _project_steps(self, x, weight, bias):
        """x @ weight.T + bias for all time steps at once, time-major: (N, T, D) -> (T, N, G*H)."""
        n, t_len, _ = x.shape
        steps = x.transpose(1, 0, 2).reshape(t_len * n, self.input_size)
        return (steps @ weight.T + bias).reshape(t_len, n, -1)

    def _grad_output(self, grad_output, shape):
        return as_float_array(grad_output, f"{type(self).__name__} grad_output", shape=shape)

    def _accumulate(self, x, h_prev, d_x_side, d_h_side):
        """Parameter gradients and dx from the per-step pre-activation gradients.

        d_x_side, d_h_side: (N, T, G*H) gradients w.r.t. the input and hidden projections;
        h_prev: (N, T, H) the hidden state each step started from; x: (N, T, D). Any common
        layout of the two leading axes works (the LSTM passes time-major (T, N, .) arrays).
        """
        gh = d_x_side.shape[-1]
        flat_x = d_x_side.reshape(-1, gh)
        flat_h = flat_x if d_h_side is d_x_side else d_h_side.reshape(-1, gh)
        bias_x = flat_x.sum(axis=0)
        self.weight_ih.add_grad(flat_x.T @ x.reshape(-1, self.input_size))
        self.bias_ih.add_grad(bias_x)
        self.weight_hh.add_grad(flat_h.T @ h_prev.reshape(-1, self.hidden_size))
        self.bias_hh.add_grad(bias_x.copy() if flat_h is flat_x else flat_h.sum(axis=0))
        return d_x_side @ self.weight_ih.data

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}"


class RNN(_Recurrent):
    """h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh); state: h0 (N, H)."""

    def forward(self, x, h0=None):
        x, h = self._check_input(x, h0)
        proj = self._project_inputs(x)
        n, t_len, _ = x.shape
        hs = np.empty((n, t_len + 1, self.hidden_size), dtype=proj.dtype)
        hs[:, 0] = h
        w_hh_t = self.weight_hh.data.T
        for t in range(t_len):
            hs[:, t + 1] = np.tanh(proj[:, t] + hs[:, t] @ w_hh_t + self.bias_hh.data)
        self._cache = (x, hs)
        return hs[:, 1:], hs[:, -1]

    def backward(self, grad_output, grad_state=None):
        self._require_cache("_cache")
        x, hs = self._cache
        n, t_len, hidden = hs.shape[0], hs.shape[1] - 1, self.hidden_size
        grad_output = self._grad_output(grad_output, (n, t_len, hidden))
        dh = np.zeros((n, hidden), dtype=hs.dtype) if grad_state is None else \
            as_float_array(grad_state, "RNN grad_state", shape=(n, hidden)).copy()
        dz = np.empty_like(grad_output)
        w_hh = self.weight_hh.data
        for t in reversed(range(t_len)):
            dh += grad_output[:, t]
            dz[:, t] = dh * (1.0 - hs[:, t + 1] ** 2)
            dh = dz[:, t] @ w_hh
        dx = self._accumulate(x, hs[:, :-1], dz, dz)
        return dx, dh


class LSTM(_Recurrent):
    """Long short-term memory. Gates (order i, f, g, o):
    i, f, o = sigmoid(.), g = tanh(.) of W_ih x_t + b_ih + W_hh h_{t-1} + b_hh;
    c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t).  State: (h0, c0), each (N, H).

    Speed: sigmoid(a) = (1 + tanh(a / 2)) / 2, so with the sigmoid gates' rows of the weights
    pre-scaled by 1/2, one tanh over all 4H pre-activations computes every gate at once. Arrays
    are kept time-major (T, N, .) so each step reads contiguous memory, and everything that
    does not depend on the previous step (gate derivatives, the weight gradients) is computed
    for all steps at once outside the loops.
    """

    gates = 4

    def _gate_affine(self):
        """Per pre-activation column: scale s and offset c with gate = c + s * tanh(s * a)."""
        H = self.hidden_size
        scale = np.full(4 * H, 0.5, dtype=self.weight_hh.data.dtype)
        scale[2 * H:3 * H] = 1.0  # g is a plain tanh
        offset = np.where(scale == 0.5, 0.5, 0.0).astype(scale.dtype)
        return scale, offset

    def forward(self, x, state=None):
        h0, c0 = (None, None) if state is None else state
        x, h = self._check_input(x, h0)
        _, c = self._check_input(x, c0, "c0")
        n, t_len, _ = x.shape
        H = self.hidden_size
        scale, offset = self._gate_affine()
        # every step's input part of the (scaled) pre-activations, time-major: (T, N, 4H)
        pre = self._project_steps(x, self.weight_ih.data * scale[:, None],
                                  (self.bias_ih.data + self.bias_hh.data) * scale)
        w_hh_t = np.ascontiguousarray((self.weight_hh.data * scale[:, None]).T)
        hs = np.empty((t_len + 1, n, H), dtype=pre.dtype)
        cs = np.empty_like(hs)
        tanh_cs = np.empty((t_len, n, H), dtype=pre.dtype)
        gates = pre  # overwritten step by step with the gate values
        hs[0], cs[0] = h, c
        for t in range(t_len):
            a = gates[t]
            a += hs[t] @ w_hh_t
            np.tanh(a, out=a)
            a *= scale
            a += offset
            i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            np.multiply(f, cs[t], out=cs[t + 1])
            cs[t + 1] += i * g
            np.tanh(cs[t + 1], out=tanh_cs[t])
            np.multiply(o, tanh_cs[t], out=hs[t + 1])
        self._cache = (x, hs, cs, tanh_cs, gates)
        out = hs[1:].transpose(1, 0, 2)
        return out, (hs[-1].copy(), cs[-1].copy())

    def backward(self, grad_output, grad_state=None):
        self._require_cache("_cache")
        x, hs, cs, tanh_cs, gates = self._cache
        t_len, n, H = tanh_cs.shape
        grad_output = self._grad_output(grad_output, (n, t_len, H)).transpose(1, 0, 2)
        dh = np.zeros((n, H), dtype=hs.dtype)
        dc = np.zeros((n, H), dtype=hs.dtype)
        if grad_state is not None:
            dh += as_float_array(grad_state[0], "LSTM grad_state[0]", shape=(n, H))
            dc += as_float_array(grad_state[1], "LSTM grad_state[1]", shape=(n, H))
        i, f, g, o = (gates[..., k * H:(k + 1) * H] for k in range(4))
        # d(pre-activation) = d(gate) * gate', with every factor but dc and dh known already:
        # da_i = dc * g i(1-i), da_f = dc * c_prev f(1-f), da_g = dc * i (1-g^2), da_o = dh * tanh(c) o(1-o)
        factors = gates * (1.0 - gates)  # sigmoid' = s (1 - s) for i, f, o: whole-array passes
        np.subtract(1.0, g * g, out=factors[..., 2 * H:3 * H])  # tanh' = 1 - g^2
        factors[..., :H] *= g
        factors[..., H:2 * H] *= cs[:-1]
        factors[..., 2 * H:3 * H] *= i
        factors[..., 3 * H:] *= tanh_cs
        dc_from_h = o * (1.0 - tanh_cs * tanh_cs)  # dc += dh * o * (1 - tanh(c)^2)
        da = factors  # overwritten step by step with the pre-activation gradients
        w_hh = self.weight_hh.data
        for t in reversed(range(t_len)):
            dh += grad_output[t]
            dc += dh * dc_from_h[t]
            da[t, :, :3 * H].reshape(n, 3, H)[...] *= dc[:, None, :]  # i, f, g all take dc
            da[t, :, 3 * H:] *= dh
            dc *= f[t]
            dh = da[t] @ w_hh
        dx = self._accumulate(x.transpose(1, 0, 2), hs[:-1], da, da)  # time-major throughout
        return np.ascontiguousarray(dx.transpose(1, 0, 2)), (dh, dc)


class GRU(_Recurrent):
    """Gated recurrent unit (PyTorch's formulation). Gates (order r, z, n):
    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr),  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz),
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h_t = (1 - z) * n + z * h_{t-1}.

    Speed, as in the LSTM: arrays are time-major (T, N, .), sigmoid(a) = (1 + tanh(a / 2)) / 2
    is computed in place, and every factor of the backward pass that does not depend on the
    incoming gradient is computed for all steps at once before the loop.
    """

    gates = 3

    def forward(self, x, h0=None):
        x, h = self._check_input(x, h0)
        n, t_len, _ = x.shape
        H = self.hidden_size
        pre = self._project_steps(x, self.weight_ih.data, self.bias_ih.data)
        hs = np.empty((t_len + 1, n, H), dtype=pre.dtype)
        gates = np.empty((t_len, n, 3 * H), dtype=pre.dtype)  # r, z, n
        hidden_n = np.empty((t_len, n, H), dtype=pre.dtype)   # W_hn h + b_hn
        hs[0] = h
        w_hh_t = np.ascontiguousarray(self.weight_hh.data.T)
        for t in range(t_len):
            hp = hs[t] @ w_hh_t
            hp += self.bias_hh.data
            rz = gates[t, :, :2 * H]
            np.add(pre[t, :, :2 * H], hp[:, :2 * H], out=rz)
            rz *= 0.5
            np.tanh(rz, out=rz)  # sigmoid(a) = 0.5 + 0.5 tanh(a / 2)
            rz *= 0.5
            rz += 0.5
            r, z = rz[:, :H], rz[:, H:]
            cand = gates[t, :, 2 * H:]
            np.multiply(r, hp[:, 2 * H:], out=cand)
            cand += pre[t, :, 2 * H:]
            np.tanh(cand, out=cand)
            np.subtract(hs[t], cand, out=hs[t + 1])
            hs[t + 1] *= z
            hs[t + 1] += cand  # h = (1 - z) n + z h_prev = n + z (h_prev - n)
            hidden_n[t] = hp[:, 2 * H:]
        self._cache = (x, hs, gates, hidden_n)
        return hs[1:].transpose(1, 0, 2), hs[-1].copy()

    def backward(self, grad_output, grad_state=None):
        self._require_cache("_cache")
        x, hs, gates, hidden_n = self._cache
        t_len, n, H = hidden_n.shape
        grad_output = self._grad_output(grad_output, (n, t_len, H)).transpose(1, 0, 2)
        dh = np.zeros((n, H), dtype=hs.dtype) if grad_state is None else \
            as_float_array(grad_state, "GRU grad_state", shape=(n, H)).copy()
        r, z, cand = gates[..., :H], gates[..., H:2 * H], gates[..., 2 * H:]
        # the gradient-free factors: d_n = dh (1 - z)(1 - n^2), d_r = d_n (W_hn h + b_hn) r (1 - r),
        # d_z = dh (h_prev - n) z (1 - z)
        to_cand = (1.0 - z) * (1.0 - cand * cand)
        to_r = hidden_n * r * (1.0 - r)
        to_z = (hs[:-1] - cand) * z * (1.0 - z)
        d_x_side = np.empty_like(gates)
        d_h_side = np.empty_like(gates)
        w_hh = self.weight_hh.data
        for t in reversed(range(t_len)):
            dh += grad_output[t]
            d_cand = d_x_side[t, :, 2 * H:]
            np.multiply(dh, to_cand[t], out=d_cand)
            np.multiply(d_cand, to_r[t], out=d_x_side[t, :, :H])
            np.multiply(dh, to_z[t], out=d_x_side[t, :, H:2 * H])
            d_h_side[t, :, :2 * H] = d_x_side[t, :, :2 * H]
            np.multiply(d_cand, r[t], out=d_h_side[t, :, 2 * H:])
            dh *= z[t]
            dh += d_h_side[t] @ w_hh
        dx = self._accumulate(x.transpose(1, 0, 2), hs[:-1], d_x_side, d_h_side)  # time-major
        return np.ascontiguousarray(dx.transpose(1, 0, 2)), dh


class Embedding(Module):
    """A lookup table: token ids (any integer shape S) -> vectors (S + (embedding_dim,)).

    weight: (num_embeddings, embedding_dim), initialised N(0, 1) as in PyTorch. Backward
    adds each output gradient into the row it came from (np.add.at handles repeated ids).
    """

    def __init__(self, num_embeddings, embedding_dim, *, rng=None, dtype=np.float64):
        self.num_embeddings = check_positive_int(num_embeddings, "num_embeddings")
        self.embedding_dim = check_positive_int(embedding_dim, "embedding_dim")
        w = initializers._rng(rng).standard_normal((num_embeddings, embedding_dim))
        self.weight = Parameter(w.astype(dtype))
        self._ids = None

    def forward(self, ids):
        ids = np.asarray(ids)
        if not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(f"Embedding input: expected integer token ids, got dtype {ids.dtype}")
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_embeddings):
            raise ValueError(f"Embedding input: expected ids in [0, {self.num_embeddings - 1}], "
                             f"got values in [{ids.min()}, {ids.max()}]")
        self._ids = ids
        return self.weight.data[ids]

    def backward(self, grad_out):
        """Accumulates dL/dweight; token ids have no gradient, so this returns None."""
        self._require_cache("_ids")
        grad_out = as_float_array(grad_out, "Embedding grad_out",
                                  shape=self._ids.shape + (self.embedding_dim,))
        np.add.at(self.weight.grad, self._ids.reshape(-1), grad_out.reshape(-1, self.embedding_dim))

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


def clip_grad_norm(params, max_norm):
    """Rescale the gradients of ``params`` so their global L2 norm is at most ``max_norm``.

    Returns the norm before clipping. As torch.nn.utils.clip_grad_norm_: the scale factor is
    max_norm / (norm + 1e-6), applied only when it is below 1.
    """
    max_norm = check_number(max_norm, "max_norm", low=0, low_open=True)
    params = list(params)
    total = float(np.sqrt(sum(float(np.sum(p.grad.astype(np.float64) ** 2)) for p in params)))
    scale = max_norm / (total + 1e-6)
    if scale < 1.0:
        for p in params:
            p.grad *= scale
    return total
