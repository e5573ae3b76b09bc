"""Recurrent layers, RNN (tanh or relu), LSTM and GRU, with backpropagation through time (BPTT).

Inputs are batch-first, x: (N, T, D). Parameters are named and laid out as in torch.nn:
weight_ih (G*H, D), weight_hh (G*H, H), bias_ih and bias_hh (G*H,), with the gates stacked
in PyTorch's order (LSTM: i, f, g, o; GRU: r, z, n). In the RNN and the GRU the input
projection of every time step is one matrix product before the loop (the LSTM folds it into
each step's product); the loop runs over time only, never over samples. The final state
is returned as (N, H) (PyTorch's is (num_layers, N, H)).

``forward(x, state=None)`` returns ``(output, final_state)`` with output: (N, T, H).
``backward(grad_output, grad_state=None)`` takes dL/doutput (N, T, H) and optionally
dL/dfinal_state, accumulates every parameter gradient, and returns ``(dx, dstate0)``.

The output and the final state are new arrays, and the cache holds copies of the input:
the caller may write to any array passed in or handed back without changing the gradient.
"""

import math
import numbers

import numpy as np

from . import init as initializers
from ._validate import (
    as_array,
    as_float_array,
    check_allocation,
    check_float_dtype,
    check_int,
    check_number,
)
from .module import Module, Parameter


class _Recurrent(Module):
    gates = 1
    # state_dict keys: PyTorch's names for layer 0 (torch.nn.LSTM(...).state_dict())
    _state_dict_names = {name: name + "_l0" for name in ("weight_ih", "weight_hh", "bias_ih",
                                                         "bias_hh")}
    cache_per_step = 2  # H-wide arrays kept per time step for backward (besides a copy of x)

    def __init__(self, input_size, hidden_size, *, rng=None, dtype=np.float64):
        name = type(self).__name__
        self.input_size = check_int(input_size, f"{name} input_size", low=1)
        self.hidden_size = check_int(hidden_size, f"{name} hidden_size", low=1)
        dtype = check_float_dtype(dtype, f"{name} dtype")
        gh = self.gates * self.hidden_size
        bound = 1.0 / np.sqrt(self.hidden_size)  # PyTorch: U(-1/sqrt(H), 1/sqrt(H)) for all
        rng = initializers._rng(rng)
        shapes = {"weight_ih": (gh, self.input_size), "weight_hh": (gh, self.hidden_size),
                  "bias_ih": (gh,), "bias_hh": (gh,)}
        for shape in shapes.values():
            check_allocation(shape, np.float64, f"{name} weights")
        for pname, shape in shapes.items():
            setattr(self, pname, Parameter(rng.uniform(-bound, bound, size=shape).astype(dtype)))
        self._cache = None

    def _check_input(self, x, h0, name="h0"):
        """x: (N, T, input_size) and the initial state h0: (N, H) or None (zeros), checked;
        also refuses a sequence whose backward cache would not fit in memory."""
        layer = type(self).__name__
        x = as_float_array(x, f"{layer} input", shape=("N", "T", self.input_size))
        n, t_len, _ = x.shape
        dtype = np.result_type(x.dtype, self.weight_ih.data.dtype)
        check_allocation((t_len + 1, n, self.cache_per_step * self.hidden_size + self.input_size),
                         dtype, f"{layer} cache for {t_len} time steps")
        if h0 is None:
            return x, np.zeros((n, self.hidden_size), dtype=x.dtype)
        h0 = as_float_array(h0, f"{layer} {name}", shape=(n, self.hidden_size))
        return x, h0

    def _check_grad_state(self, grad, name, shape):
        """dL/d(final state): None (no gradient) or an array of ``shape`` (N, H)."""
        if grad is None:
            return None
        return as_float_array(grad, f"{type(self).__name__} {name}", shape=shape)

    def _project_steps(self, x, weight, bias):
        """x @ weight.T + bias for all time steps at once, time-major: (N, T, D) -> (T, N, G*H).

        Also returns the time-major input (T*N, D) for the weight gradient: a copy, never a
        view of the caller's x."""
        n, t_len, _ = x.shape
        steps = x.transpose(1, 0, 2).reshape(t_len * n, self.input_size)
        if np.may_share_memory(steps, x):  # one sample or one step: the reshape made no copy
            steps = steps.copy()
        return (steps @ weight.T + bias).reshape(t_len, n, -1), steps

    def _grad_output(self, grad_output, shape):
        return as_float_array(grad_output, f"{type(self).__name__} grad_output", shape=shape)

    def _accumulate(self, x, h_prev, d_x_side, d_h_side):
        """Parameter gradients and dx from the per-step pre-activation gradients.

        d_x_side, d_h_side: (N, T, G*H) gradients w.r.t. the input and hidden projections;
        h_prev: (N, T, H) the hidden state each step started from; x: (N, T, D). Any common
        layout of the two leading axes works (the GRU passes time-major (T, N, .) arrays).
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
    """h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) with act = tanh (default) or relu,
    as torch.nn.RNN's ``nonlinearity``; state: h0 (N, H)."""

    def __init__(self, input_size, hidden_size, *, nonlinearity="tanh", rng=None, dtype=np.float64):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN nonlinearity: expected 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, rng=rng, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, x, h0=None):
        """x: (N, T, D), h0: (N, H) or None -> output (N, T, H), final state (N, H)."""
        x, h = self._check_input(x, h0)
        x = x.copy()  # kept for the weight gradient: the caller may reuse their array
        proj = x @ self.weight_ih.data.T + self.bias_ih.data  # every step's input part: (N, T, H)
        n, t_len, _ = x.shape
        hs = np.empty((n, t_len + 1, self.hidden_size), dtype=proj.dtype)
        hs[:, 0] = h
        w_hh_t = self.weight_hh.data.T
        for t in range(t_len):
            a = proj[:, t] + hs[:, t] @ w_hh_t + self.bias_hh.data
            if self.nonlinearity == "tanh":
                np.tanh(a, out=hs[:, t + 1])
            else:
                np.maximum(a, 0.0, out=hs[:, t + 1])
        self._cache = (x, hs)
        return hs[:, 1:].copy(), hs[:, -1].copy()

    def backward(self, grad_output, grad_state=None):
        """grad_output: (N, T, H), grad_state: (N, H) or None -> dx (N, T, D), dh0 (N, H)."""
        self._require_cache("_cache")
        x, hs = self._cache
        n, t_len, hidden = hs.shape[0], hs.shape[1] - 1, self.hidden_size
        grad_output = self._grad_output(grad_output, (n, t_len, hidden))
        grad_state = self._check_grad_state(grad_state, "grad_state", (n, hidden))
        dh = np.zeros((n, hidden), dtype=hs.dtype) if grad_state is None else grad_state.copy()
        if self.nonlinearity == "tanh":
            dact = 1.0 - hs[:, 1:] ** 2
        else:
            dact = (hs[:, 1:] > 0).astype(hs.dtype)
        dz = np.empty_like(grad_output)
        w_hh = self.weight_hh.data
        for t in reversed(range(t_len)):
            dh += grad_output[:, t]
            np.multiply(dh, dact[:, t], out=dz[:, t])
            dh = dz[:, t] @ w_hh
        dx = self._accumulate(x, hs[:, :-1], dz, dz)
        return dx, dh

    def extra_repr(self):
        extra = "" if self.nonlinearity == "tanh" else ", nonlinearity='relu'"
        return f"{self.input_size}, {self.hidden_size}{extra}"


class LSTM(_Recurrent):
    """Long short-term memory. Gates (order i, f, g, o):
    i, f, o = sigmoid(.), g = tanh(.) of W_ih x_t + b_ih + W_hh h_{t-1} + b_hh;
    c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t).  State: (h0, c0), each (N, H).

    Speed. Inside forward and backward the arrays are transposed, one sample per column, and
    the gate blocks are rolled from PyTorch's order to o, i, f, g:
    - Each step stacks z_t = [h_{t-1}; x_t; 1] (H + D + 1, N), so one product
      W (4H, H + D + 1) @ z_t with W = [W_hh, W_ih, b_ih + b_hh] gives all the step's
      pre-activations as one contiguous (4H, N) block whose gates are contiguous (H, N) blocks.
    - sigmoid(a) = (1 + tanh(a / 2)) / 2: with the sigmoid rows of W halved, one tanh computes
      every gate, and two scalar operations on the first 3H rows (o, i, f) finish the sigmoids.
    - In the forward buffer (T + 1, 5H, N) each step's gates are followed by c_{t-1}, so one
      multiply of the rows (i, f) by the rows (g, c_{t-1}) gives both i * g and f * c_{t-1}.
    - The gate derivatives are computed for all steps at once before the backward loop, in
      one (T, 4H, N) array that the loop turns into the pre-activation gradients da_t. Each
      backward step's product [W_hh, W_ih].T (H + D, 4H) @ da_t gives dL/dh_{t-1} and
      dL/dx_t together, and after the loop one product of gate-major copies, da (4H, T * N)
      @ z.T (T * N, H + D + 1), gives the gradients of W_hh, W_ih and the biases at once.
    """

    gates = 4
    cache_per_step = 7  # gates and c_{t-1} (5H), h, tanh(c); besides x_t and a row of ones

    def forward(self, x, state=None):
        """x: (N, T, D), state: None (zeros) or a pair (h0, c0) of (N, H) arrays
        -> output (N, T, H), final state (h_T, c_T)."""
        h0, c0 = self._unpack_pair(state, "state", "(h0, c0)")
        if (h0 is None) != (c0 is None):
            raise TypeError(f"LSTM state: expected both h0 and c0 as (N, H) arrays, got None for "
                            f"{'h0' if h0 is None else 'c0'}")
        x, h = self._check_input(x, h0)
        _, c = self._check_input(x, c0, "c0")
        n, t_len, d = x.shape
        H = self.hidden_size
        w = np.roll(np.concatenate([self.weight_hh.data, self.weight_ih.data,
                                    (self.bias_ih.data + self.bias_hh.data)[:, None]], axis=1),
                    H, axis=0)  # W (4H, H + D + 1), gate blocks rolled from i, f, g, o to o, i, f, g
        w[:3 * H] *= 0.5  # the sigmoid gates o, i, f: tanh(a / 2)
        dtype = np.result_type(x.dtype, w.dtype)
        # z_t = [h_{t-1}; x_t; 1] for t < T; zs[T] holds only h_T
        zs = np.empty((t_len + 1, H + d + 1, n), dtype=dtype)
        hs = zs[:, :H]
        hs[0] = h.T
        zs[:t_len, H:H + d] = x.transpose(1, 2, 0)  # a copy: the caller may reuse their x
        zs[:t_len, H + d] = 1.0
        # block t: step t's gates, rows o, i, f, g (4H), then c_{t-1} (H); block T: only c_T
        blocks = np.empty((t_len + 1, 5 * H, n), dtype=dtype)
        cs = blocks[:, 4 * H:]
        cs[0] = c.T
        tanh_cs = np.empty((t_len, H, n), dtype=dtype)
        # the loop runs T times on small arrays, so it works in place through per-step views
        # (made once, by zip) and one scratch buffer, with no temporary array per operation
        tanh, multiply, add, matmul = np.tanh, np.multiply, np.add, np.matmul
        products = np.empty((2 * H, n), dtype=dtype)
        i_times_g, f_times_c = products[:H], products[H:]
        per_step = zip(zs[:-1], blocks[:-1, :4 * H], blocks[:-1, :3 * H], blocks[:-1, :H],
                       blocks[:-1, H:3 * H], blocks[:-1, 3 * H:], hs[1:], cs[1:], tanh_cs)
        for z, a, sigmoids, o, i_f, g_c_prev, h_next, c_next, tanh_c in per_step:
            matmul(w, z, out=a)
            tanh(a, out=a)
            multiply(sigmoids, 0.5, out=sigmoids)
            add(sigmoids, 0.5, out=sigmoids)
            multiply(i_f, g_c_prev, out=products)
            add(f_times_c, i_times_g, out=c_next)
            tanh(c_next, out=tanh_c)
            multiply(o, tanh_c, out=h_next)
        self._cache = (zs, blocks, tanh_cs)
        out = hs[1:].transpose(2, 0, 1).copy()  # batch-first (N, T, H)
        return out, (hs[-1].T.copy(), cs[-1].T.copy())

    def _unpack_pair(self, pair, name, what):
        """None -> (None, None); else a tuple or list of two entries (each None or an array)."""
        if pair is None:
            return None, None
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            got = f"{type(pair).__name__} of length {len(pair)}" if isinstance(pair, (tuple, list)) \
                else (f"an array of shape {pair.shape}" if isinstance(pair, np.ndarray)
                      else type(pair).__name__)
            raise TypeError(f"LSTM {name}: expected None or a pair {what} of (N, H) arrays, got {got}")
        return pair

    def backward(self, grad_output, grad_state=None):
        """grad_output: (N, T, H), grad_state: None or a pair (dL/dh_T, dL/dc_T), each None or
        (N, H) -> dx (N, T, D), (dh0, dc0)."""
        self._require_cache("_cache")
        zs, blocks, tanh_cs = self._cache
        t_len, H, n = tanh_cs.shape
        grad_output = self._grad_output(grad_output, (n, t_len, H))
        grad_h, grad_c = self._unpack_pair(grad_state, "grad_state", "(dL/dh_T, dL/dc_T)")
        grad_h = self._check_grad_state(grad_h, "grad_state[0]", (n, H))
        grad_c = self._check_grad_state(grad_c, "grad_state[1]", (n, H))
        d = self.input_size
        # block t: [dL/dh_{t-1} (H); dL/dx_t (D)], both from one product per step; block T
        # holds only dL/dh_T, where the loop starts (each step's dh is a view into grad_zs)
        grad_zs = np.zeros((t_len + 1, H + d, n), dtype=zs.dtype)
        dh = grad_zs[-1, :H]
        dc = np.zeros((H, n), dtype=zs.dtype)
        if grad_h is not None:
            dh += grad_h.T
        if grad_c is not None:
            dc += grad_c.T
        grad_hs = np.ascontiguousarray(grad_output.transpose(1, 2, 0))  # (T, H, N)
        gates = blocks[:-1, :4 * H]
        o, i, f = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H]
        # d(pre-activation) = d(gate) * gate', with every factor but dc and dh known already:
        # da_o = dh * tanh(c) o(1-o), da_i = dc * g i(1-i), da_f = dc * c_prev f(1-f), da_g = dc * i (1-g^2)
        factors = np.multiply(gates, gates)  # (T, 4H, N), rows o, i, f, g
        np.subtract(gates[:, :3 * H], factors[:, :3 * H], out=factors[:, :3 * H])  # s - s^2
        np.subtract(1.0, factors[:, 3 * H:], out=factors[:, 3 * H:])  # tanh' = 1 - g^2
        factors[:, :H] *= tanh_cs
        factors[:, H:3 * H] *= blocks[:-1, 3 * H:]  # rows (i, f) times rows (g, c_prev)
        factors[:, 3 * H:] *= i
        # dc += dh * o (1 - tanh(c)^2), and o (1 - tanh(c)^2) = o - h tanh(c)
        dc_from_h = np.multiply(zs[1:, :H], tanh_cs)
        np.subtract(o, dc_from_h, out=dc_from_h)
        da = factors  # overwritten step by step with the pre-activation gradients
        w_t = np.roll(np.concatenate([self.weight_hh.data.T, self.weight_ih.data.T]), H,
                      axis=1)  # [W_hh, W_ih].T (H + D, 4H), columns rolled to o, i, f, g
        multiply, add, matmul = np.multiply, np.add, np.matmul
        scratch = np.empty_like(dc)
        per_step = zip(grad_hs[::-1], dc_from_h[::-1], da[::-1, :H],
                       da[::-1, H:].reshape(t_len, 3, H, n), f[::-1], da[::-1], grad_zs[:0:-1, :H],
                       grad_zs[-2::-1])
        for grad_h_t, dc_from_h_t, da_o, da_ifg, f_t, da_t, dh, grad_z in per_step:
            add(dh, grad_h_t, out=dh)
            multiply(dh, dc_from_h_t, out=scratch)
            add(dc, scratch, out=dc)
            multiply(da_o, dh, out=da_o)
            multiply(da_ifg, dc, out=da_ifg)  # i, f, g all take dc
            multiply(dc, f_t, out=dc)
            matmul(w_t, da_t, out=grad_z)
        # gate-major copies, (4H, T * N) and (H + D + 1, T * N): one product over all steps
        # gives the gradient of W = [W_hh, W_ih, b], rolled back to PyTorch's gate order
        da = np.ascontiguousarray(da.transpose(1, 0, 2)).reshape(4 * H, t_len * n)
        z = np.ascontiguousarray(zs[:-1].transpose(1, 0, 2)).reshape(-1, t_len * n)
        grad = np.roll(da @ z.T, -H, axis=0)
        self.weight_hh.add_grad(grad[:, :H].copy())
        self.weight_ih.add_grad(grad[:, H:H + d].copy())
        self.bias_ih.add_grad(grad[:, H + d].copy())
        self.bias_hh.add_grad(grad[:, H + d].copy())
        dx = grad_zs[:-1, H:].transpose(2, 0, 1).copy()  # batch-first (N, T, D)
        return dx, (grad_zs[0, :H].T.copy(), dc.T.copy())


class GRU(_Recurrent):
    """Gated recurrent unit (PyTorch's formulation). Gates (order r, z, n):
    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr),  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz),
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h_t = (1 - z) * n + z * h_{t-1}.

    Speed: arrays are time-major (T, N, .), sigmoid(a) = (1 + tanh(a / 2)) / 2 (as in the
    LSTM) is computed in place, and every factor of the backward pass that does not depend on
    the incoming gradient is computed for all steps at once before the loop.
    """

    gates = 3
    cache_per_step = 5  # gates (3H), h, W_hn h + b_hn

    def forward(self, x, h0=None):
        """x: (N, T, D), h0: (N, H) or None -> output (N, T, H), final state (N, H)."""
        x, h = self._check_input(x, h0)
        n, t_len, _ = x.shape
        H = self.hidden_size
        pre, steps = self._project_steps(x, self.weight_ih.data, self.bias_ih.data)
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
        self._cache = (steps, hs, gates, hidden_n)
        return hs[1:].transpose(1, 0, 2).copy(), hs[-1].copy()  # new arrays, batch-first

    def backward(self, grad_output, grad_state=None):
        """grad_output: (N, T, H), grad_state: (N, H) or None -> dx (N, T, D), dh0 (N, H)."""
        self._require_cache("_cache")
        steps, hs, gates, hidden_n = self._cache
        t_len, n, H = hidden_n.shape
        grad_output = self._grad_output(grad_output, (n, t_len, H)).transpose(1, 0, 2)
        grad_state = self._check_grad_state(grad_state, "grad_state", (n, H))
        dh = np.zeros((n, H), dtype=hs.dtype) if grad_state is None else grad_state.copy()
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
        dx = self._accumulate(steps, hs[:-1], d_x_side, d_h_side)  # time-major
        return np.ascontiguousarray(dx.transpose(1, 0, 2)), dh


class Embedding(Module):
    """A lookup table: token ids (any integer shape S) -> vectors (S + (embedding_dim,)).

    weight: (num_embeddings, embedding_dim), initialised N(0, 1) as in PyTorch. Backward
    adds each output gradient into the row it came from (np.add.at handles repeated ids).
    The ids are copied in forward, so the caller may reuse their array before backward.
    """

    def __init__(self, num_embeddings, embedding_dim, *, rng=None, dtype=np.float64):
        self.num_embeddings = check_int(num_embeddings, "Embedding num_embeddings", low=1)
        self.embedding_dim = check_int(embedding_dim, "Embedding embedding_dim", low=1)
        dtype = check_float_dtype(dtype, "Embedding dtype")
        check_allocation((self.num_embeddings, self.embedding_dim), np.float64, "Embedding weight")
        w = initializers._rng(rng).standard_normal((self.num_embeddings, self.embedding_dim))
        self.weight = Parameter(w.astype(dtype))
        self._ids = None

    def forward(self, ids):
        """ids: non-empty integer array of shape S, values in [0, num_embeddings)
        -> (S + (embedding_dim,))."""
        ids = as_array(ids, "Embedding input")
        if ids.dtype.kind not in "iu":
            raise TypeError(f"Embedding input: expected integer token ids, got dtype {ids.dtype}")
        if ids.size == 0:
            raise ValueError(f"Embedding input: expected at least one token id, got shape {ids.shape}")
        check_allocation(ids.shape + (self.embedding_dim,), self.weight.data.dtype, "Embedding output")
        low, high = ids.min(), ids.max()
        if low < 0 or high >= self.num_embeddings:
            raise ValueError(f"Embedding input: expected ids in [0, {self.num_embeddings - 1}], "
                             f"got values in [{low}, {high}]")
        self._ids = ids.copy()
        return self.weight.data[ids]

    def backward(self, grad_out):
        """grad_out: S + (embedding_dim,). Accumulates dL/dweight; token ids have no gradient,
        so this returns None."""
        self._require_cache("_ids")
        grad_out = as_float_array(grad_out, "Embedding grad_out",
                                  shape=self._ids.shape + (self.embedding_dim,))
        d_weight = np.zeros_like(self.weight.data)
        np.add.at(d_weight, self._ids.reshape(-1), grad_out.reshape(-1, self.embedding_dim))
        self.weight.add_grad(d_weight)

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"


def _grad_params(params):
    """The list of Parameters in ``params`` (one Parameter or an iterable of them), checked."""
    if isinstance(params, Parameter):
        return [params]
    if isinstance(params, Module):
        raise TypeError(f"clip_grad_norm params: expected Parameters, got a {type(params).__name__} "
                        f"module; pass its .parameters()")
    if isinstance(params, (str, bytes, np.ndarray)) or not hasattr(params, "__iter__"):
        raise TypeError(f"clip_grad_norm params: expected a Parameter or an iterable of Parameters "
                        f"such as model.parameters(), got {type(params).__name__}")
    params = list(params)
    if not params:
        raise ValueError("clip_grad_norm params: expected at least one Parameter, got none")
    seen = {}
    for i, p in enumerate(params):
        if not isinstance(p, Parameter):
            raise TypeError(f"clip_grad_norm params: expected a Parameter at position {i}, "
                            f"got {type(p).__name__}")
        if id(p) in seen:
            raise ValueError(f"clip_grad_norm params: parameter {i} is parameter {seen[id(p)]} "
                             f"again ({p}); expected each Parameter once (it would be clipped twice)")
        seen[id(p)] = i
    return params


def _scaled_norm(grads, max_norm):
    """(norm, max_norm / (norm + 1e-6)) computed as peak * sqrt(sum((g / peak)^2)) with peak the
    largest |entry|, so neither the squares nor the scale overflow or underflow."""
    peak = max((float(np.max(np.abs(g))) for g in grads), default=0.0)
    if peak == 0.0:
        return 0.0, math.inf
    rel = math.sqrt(sum(float(np.sum(np.square(g.astype(np.float64) / peak))) for g in grads))
    with np.errstate(over="ignore"):
        total = float(np.float64(peak) * rel)  # inf only beyond float64's range
    return total, (max_norm / peak) / (rel + 1e-6 / peak)


def clip_grad_norm(params, max_norm):
    """Rescale the gradients of ``params`` so their global L2 norm is at most ``max_norm``.

    params: a Parameter or an iterable of distinct Parameters (e.g. ``model.parameters()``);
    max_norm: a number > 0 (``float('inf')`` only measures). Returns the norm before clipping.
    As torch.nn.utils.clip_grad_norm_: the scale factor is max_norm / (norm + 1e-6), applied
    only when it is below 1; parameters without a gradient yet count as zero. Unlike torch's
    default, a NaN or inf gradient raises ValueError (naming the parameter) and changes
    nothing, instead of turning every gradient into NaN. Huge finite gradients are measured
    without overflow (the sum of squares is rescaled by the largest entry when needed).
    """
    params = _grad_params(params)
    if not (isinstance(max_norm, numbers.Real) and not isinstance(max_norm, bool)
            and max_norm == math.inf):
        max_norm = check_number(max_norm, "clip_grad_norm max_norm", low=0, low_open=True)
    grads = [p._grad for p in params]  # None until a backward: no gradient to clip
    total_sq = 0.0
    for i, g in enumerate(grads):
        if g is None:
            continue
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            sq = float(np.sum(g.astype(np.float64) ** 2))
        if not math.isfinite(sq) and not np.all(np.isfinite(g)):
            bad = int(g.size - np.count_nonzero(np.isfinite(g)))
            raise ValueError(f"clip_grad_norm: expected finite gradients, got {bad} NaN or inf "
                             f"entries in the gradient of parameter {i} ({params[i]})")
        total_sq += sq
    if 1e-280 < total_sq < math.inf:
        total = math.sqrt(total_sq)
        scale = max_norm / (total + 1e-6)
    else:  # zero, or the squares overflowed or underflowed: measure relative to the largest entry
        total, scale = _scaled_norm([g for g in grads if g is not None], max_norm)
    if scale < 1.0:
        for g in grads:
            if g is not None:
                g *= scale
    return total
