"""Many training runs of the memory task at once (chapters 16 and 17).

``sequences.train_memory_task`` trains one ``SequenceClassifier`` at a time. Statements about
training outcomes need many runs (cells x initializations x seeds), and "how many steps does
each cell need" needs runs of thousands of steps: too slow one run at a time.
``memory_task_runs`` trains all the runs of such an experiment **in lockstep**: the parameters
of all runs of one cell type are stacked along a leading run axis M, so every time step is a
few batched matrix products ``(M, N, H) @ (M, H, H)`` instead of M times as many small ones.
Each run follows ``train_memory_task``'s recipe exactly (initial weights from
``default_rng(seed)``, ``memory_init``, the batches of ``default_rng(seed + 1)``, its own
gradient clipping, SGD or Adam with ``course_nn.optim``'s formulas, the test set of
``default_rng(seed + 2)``): the tests check that the losses of a run equal those of
``train_memory_task`` (or of the same loop written with course_nn's modules) step by step.
A run can stop when it has learned the task, so fast learners cost little.

"Learned" means: the accuracy over the last ``window`` training batches, each scored on fresh
sequences before the step that trains on it, is at least ``target``.

Shapes: inputs are time-major inside, x (T, M, N, D); hidden states (M, N, H); gate blocks
(G, M, N, H).
"""

from dataclasses import dataclass

import numpy as np

from .._validate import check_bool, check_int, check_number, check_positive_int
from .sequences import CELLS, MAX_STEPS, SequenceClassifier, make_memory_task, memory_init
from .threads import one_blas_thread

_PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "head_weight", "head_bias")
_TEST_CHUNK = 250
"""Test sequences per forward pass when the final accuracy is measured."""


def _sigmoid(a):
    return 0.5 + 0.5 * np.tanh(0.5 * a)


def _bmm_t(a, w):
    """a: (..., M, N, K) times w: (M, J, K) transposed -> (..., M, N, J)."""
    return a @ np.swapaxes(w, -1, -2)


def _runs_first(d):
    """d (T, G, M, N, H) -> (M, G*H, T*N): per run, one row per gate unit, one column per
    (time step, sample), the left factor of ``_sum_outer``."""
    t_len, g, m, n, h = d.shape
    return d.transpose(2, 1, 4, 0, 3).reshape(m, g * h, t_len * n)


def _sum_outer(d2, v):
    """Sum over time and batch of d^T v, per run: d2 = _runs_first(d), v (T, M, N, K) -> (M, G*H, K)."""
    m = d2.shape[0]
    v2 = v.transpose(1, 0, 2, 3).reshape(m, -1, v.shape[-1])
    return d2 @ v2


class _Stack:
    """The parameters and Adam state of M runs of one cell type; forward and backward of the
    recurrent layer and the read-out of the last state, batched over runs.

    Inside, the gate axis comes first, (G, M, N, H), so that every gate is one contiguous
    block: the recurrent weight is kept as w_hh (G, M, H, H) with w_hh[k, m] = W_hh[k-th gate
    block of run m].T, and h (M, N, H) @ w_hh gives all gates of all runs in one product.
    """

    def __init__(self, cell, models, dtype=np.float64):
        self.cell = cell
        self.hidden = models[0].recurrent.hidden_size
        self.gates = {"RNN": 1, "LSTM": 4, "GRU": 3}[cell]
        layers = [(m.recurrent, m.head) for m in models]
        self.p = {
            "weight_ih": np.stack([r.weight_ih.data for r, _ in layers]).astype(dtype),
            "weight_hh": np.stack([r.weight_hh.data for r, _ in layers]).astype(dtype),
            "bias_ih": np.stack([r.bias_ih.data for r, _ in layers]).astype(dtype),
            "bias_hh": np.stack([r.bias_hh.data for r, _ in layers]).astype(dtype),
            "head_weight": np.stack([h.weight.data for _, h in layers]).astype(dtype),
            "head_bias": np.stack([h.bias.data for _, h in layers]).astype(dtype),
        }
        self.m = {k: np.zeros_like(v) for k, v in self.p.items()}
        self.v = {k: np.zeros_like(v) for k, v in self.p.items()}

    def keep(self, rows):
        """Keep only the runs ``rows`` (an index array into the model axis)."""
        for d in (self.p, self.m, self.v):
            for k in d:
                d[k] = d[k][rows]

    def _split(self, w):
        """(M, G*H, K) -> (G, M, K, H): per gate, the transposed block, contiguous."""
        m, gh, k = w.shape
        return np.ascontiguousarray(w.reshape(m, self.gates, self.hidden, k).transpose(1, 0, 3, 2))

    def _bias(self, b):
        """(M, G*H) -> (G, M, 1, H)."""
        return np.ascontiguousarray(b.reshape(len(b), self.gates, 1, self.hidden).transpose(1, 0, 2, 3))

    # --- forward ------------------------------------------------------------------------------

    def forward(self, x):
        """x: (T, M, N, D) -> logits (M, N, C); keeps what backward needs."""
        p, H = self.p, self.hidden
        t_len, m, n, _ = x.shape
        w_hh = self._split(p["weight_hh"])
        hs = np.zeros((t_len + 1, m, n, H), dtype=x.dtype)
        # input projections of every step: one (T*N, D) @ (D, G*H) product per run, then
        # rearranged so that each gate is a contiguous (M, N, H) block: (T, G, M, N, H)
        xm = x.transpose(1, 0, 2, 3).reshape(m, t_len * n, x.shape[-1])
        proj = xm @ np.swapaxes(p["weight_ih"], 1, 2)                     # (M, T*N, G*H)
        pre = np.ascontiguousarray(
            proj.reshape(m, t_len, n, self.gates, H).transpose(1, 3, 0, 2, 4))
        if self.cell == "RNN":
            pre += self._bias(p["bias_ih"] + p["bias_hh"])
            for t in range(t_len):
                a = pre[t, 0]
                a += hs[t] @ w_hh[0]
                np.tanh(a, out=hs[t + 1])
            self._cache = (x, hs)
        elif self.cell == "LSTM":
            pre += self._bias(p["bias_ih"] + p["bias_hh"])
            pre[:, [0, 1, 3]] *= 0.5                               # sigmoid(a) = (1 + tanh(a/2)) / 2
            w_hh = w_hh.copy()
            w_hh[[0, 1, 3]] *= 0.5
            cs = np.zeros_like(hs)
            tanh_c = np.empty_like(hs[1:])
            for t in range(t_len):
                a = pre[t]
                a += hs[t] @ w_hh
                np.tanh(a, out=a)
                for k in (0, 1, 3):
                    a[k] *= 0.5
                    a[k] += 0.5
                np.multiply(a[1], cs[t], out=cs[t + 1])
                cs[t + 1] += a[0] * a[2]
                np.tanh(cs[t + 1], out=tanh_c[t])
                np.multiply(a[3], tanh_c[t], out=hs[t + 1])
            self._cache = (x, hs, cs, tanh_c, pre)
        else:  # GRU
            pre += self._bias(p["bias_ih"])
            b_hh = self._bias(p["bias_hh"])
            hidden_n = np.empty((t_len, m, n, H), dtype=x.dtype)
            for t in range(t_len):
                gh = hs[t] @ w_hh
                gh += b_hh
                a = pre[t]
                rz = a[:2]
                rz += gh[:2]
                rz *= 0.5
                np.tanh(rz, out=rz)
                rz *= 0.5
                rz += 0.5
                cand = a[2]
                cand += a[0] * gh[2]
                np.tanh(cand, out=cand)
                hidden_n[t] = gh[2]
                np.subtract(hs[t], cand, out=hs[t + 1])
                hs[t + 1] *= a[1]
                hs[t + 1] += cand
            self._cache = (x, hs, pre, hidden_n)
        self._last = hs[-1]
        return _bmm_t(hs[-1], p["head_weight"]) + p["head_bias"][:, None, :]

    # --- backward -----------------------------------------------------------------------------

    def backward(self, grad_logits):
        """grad_logits: (M, N, C) -> gradients of every parameter, a dict of (M, ...) arrays."""
        p, H, G = self.p, self.hidden, self.gates
        g = {"head_weight": np.swapaxes(grad_logits, -1, -2) @ self._last,
             "head_bias": grad_logits.sum(axis=1)}
        dh = grad_logits @ p["head_weight"]                       # (M, N, H)
        m = dh.shape[0]
        # w_back[m] = W_hh of run m, (G*H, H), so that d(gates) (M, N, G*H) @ w_back -> (M, N, H)
        w_back = p["weight_hh"]
        if self.cell == "RNN":
            x, hs = self._cache
            da = np.empty((len(hs) - 1, 1) + dh.shape, dtype=dh.dtype)
            for t in reversed(range(len(da))):
                np.multiply(dh, 1.0 - hs[t + 1] ** 2, out=da[t, 0])
                dh = da[t, 0] @ w_back
            d_x_side = d_h_side = da
        elif self.cell == "LSTM":
            x, hs, cs, tanh_c, gates = self._cache
            i, f, gg, o = gates[:, 0], gates[:, 1], gates[:, 2], gates[:, 3]
            da = gates * (1.0 - gates)                            # sigmoid' for i, f, o
            da[:, 2] = 1.0 - gg * gg                              # tanh' for g
            da[:, 0] *= gg
            da[:, 1] *= cs[:-1]
            da[:, 2] *= i
            da[:, 3] *= tanh_c
            dc_from_h = o * (1.0 - tanh_c * tanh_c)
            dc = np.zeros_like(dh)
            w_gate = np.ascontiguousarray(w_back.reshape(m, G, H, H).transpose(1, 0, 2, 3))
            for t in reversed(range(len(da))):
                dc += dh * dc_from_h[t]
                da[t, :3] *= dc
                da[t, 3] *= dh
                dc *= f[t]
                dh = da[t, 0] @ w_gate[0]
                for k in range(1, 4):
                    dh += da[t, k] @ w_gate[k]
            d_x_side = d_h_side = da
        else:  # GRU
            x, hs, gates, hidden_n = self._cache
            r, z, cand = gates[:, 0], gates[:, 1], gates[:, 2]
            to_cand = (1.0 - z) * (1.0 - cand * cand)
            to_r = hidden_n * r * (1.0 - r)
            to_z = (hs[:-1] - cand) * z * (1.0 - z)
            d_x_side = np.empty_like(gates)
            d_h_side = np.empty_like(gates)
            w_gate = np.ascontiguousarray(w_back.reshape(m, G, H, H).transpose(1, 0, 2, 3))
            for t in reversed(range(len(gates))):
                d_cand = d_x_side[t, 2]
                np.multiply(dh, to_cand[t], out=d_cand)
                np.multiply(d_cand, to_r[t], out=d_x_side[t, 0])
                np.multiply(dh, to_z[t], out=d_x_side[t, 1])
                d_h_side[t, :2] = d_x_side[t, :2]
                np.multiply(d_cand, r[t], out=d_h_side[t, 2])
                dh = dh * z[t]
                for k in range(3):
                    dh += d_h_side[t, k] @ w_gate[k]
        # the RNN and the LSTM use one gradient for both sides: rearranged and summed once
        same = d_h_side is d_x_side
        d_x2 = _runs_first(d_x_side)
        d_h2 = d_x2 if same else _runs_first(d_h_side)
        g["weight_ih"] = _sum_outer(d_x2, x)
        g["weight_hh"] = _sum_outer(d_h2, hs[:-1])
        g["bias_ih"] = d_x_side.sum(axis=(0, 3)).transpose(1, 0, 2).reshape(m, G * H)
        g["bias_hh"] = g["bias_ih"].copy() if same else \
            d_h_side.sum(axis=(0, 3)).transpose(1, 0, 2).reshape(m, G * H)
        return g

    # --- one training step ----------------------------------------------------------------------

    def step(self, grads, t, *, optimizer, lr, clip, betas=(0.9, 0.999), eps=1e-8):
        """Clip each run's global gradient norm to ``clip`` (None: no clipping), then one SGD or
        Adam step (step number t, as course_nn.optim). Returns the norms before clipping, (M,)."""
        total = sum(np.sum(gr.reshape(len(gr), -1) ** 2, axis=1) for gr in grads.values())
        norm = np.sqrt(total)
        scale = np.ones_like(norm) if clip is None else np.minimum(clip / (norm + 1e-6), 1.0)
        b1, b2 = betas
        for k, gr in grads.items():
            gr = gr * scale.reshape((-1,) + (1,) * (gr.ndim - 1))
            if optimizer == "sgd":
                self.p[k] = self.p[k] - lr * gr
                continue
            self.m[k] = b1 * self.m[k] + (1 - b1) * gr
            self.v[k] = b2 * self.v[k] + (1 - b2) * gr * gr
            denom = np.sqrt(self.v[k]) / np.sqrt(1 - b2**t) + eps
            self.p[k] = self.p[k] - (self.m[k] * (lr / (1 - b1**t))) / denom
        return norm


@dataclass
class MemoryRuns:
    """The runs of ``memory_task_runs``, one entry per (config, seed), configs in the order
    given, seeds in order within each config."""

    labels: list          # (config label, seed) per run
    learned_at: list      # first step (1-based) at which the run had learned, or None
    accuracy: np.ndarray  # test accuracy with the final weights (at learned_at, or the last step)
    losses: list          # training loss of every step the run took, (steps,) arrays
    norms: list           # global gradient norm before clipping at every step, (steps,) arrays
    cells: list           # cell type of every run
    params: list          # final weights of every run: dict name -> array

    def select(self, label):
        """The indices of the runs of one config, in seed order."""
        return [k for k, (lab, _) in enumerate(self.labels) if lab == label]

    def model(self, k):
        """Run k as a course_nn SequenceClassifier holding its final weights."""
        p = self.params[k]
        hidden, n_inputs = p["weight_hh"].shape[1], p["weight_ih"].shape[1]
        model = SequenceClassifier(self.cells[k], n_inputs, hidden, p["head_bias"].shape[0],
                                   rng=np.random.default_rng(0))
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(model.recurrent, name).data[...] = p[name]
        model.head.weight.data[...] = p["head_weight"]
        model.head.bias.data[...] = p["head_bias"]
        return model


def _initialize(cell, init, seed, hidden_size, n_inputs, n_classes):
    """A SequenceClassifier built as train_memory_task builds it, then initialized."""
    rng = np.random.default_rng(seed)
    model = SequenceClassifier(cell, n_inputs, hidden_size, n_classes, rng=rng)
    if init == "memory":
        memory_init(model.recurrent, rng=rng)
    elif callable(init):
        init(model, rng)
    elif init != "default":
        raise ValueError(f"init: expected 'default', 'memory' or a function (model, rng), got {init!r}")
    return model


def memory_task_runs(configs, length, seeds, *, steps, batch_size=64, optimizer="adam", lr=0.01,
                     clip=1.0, hidden_size=16, stop_when_learned=False, window=20, target=0.95,
                     n_test=1000):
    """Train ``SequenceClassifier`` runs on ``make_memory_task`` in lockstep, one per config and seed.

    seeds: the seeds of every config (an iterable of ints >= 0), or {label: seeds} to give
    each config its own (a config with chaotic outcomes may need more seeds than the others;
    the runs of one cell type still share one stack, so extra configs cost little).
    configs: {label: (cell, init)} with cell "RNN", "LSTM" or "GRU" and init "default"
    (PyTorch's initialization), "memory" (``memory_init``, as ``train_memory_task``'s default)
    or a function ``init(model, rng)`` called with the model's generator after construction.
    Run (config, seed) is ``train_memory_task``'s recipe: weights from ``default_rng(seed)``,
    a fresh batch per step from ``default_rng(seed + 1)`` (the same batches for every config),
    cross-entropy of the last step's scores, BPTT, the global gradient norm clipped to ``clip``
    (None: no clipping), then an ``optimizer`` step ("adam" or "sgd", as ``course_nn.optim``);
    the test set of ``n_test`` sequences comes from ``default_rng(seed + 2)``.
    With ``stop_when_learned``, a run stops at the first step where its accuracy over the last
    ``window`` batches (each scored before the step that trains on it) is >= ``target``.
    At most ``steps`` steps (<= MAX_STEPS). BLAS runs on one thread. Returns ``MemoryRuns``.
    """
    if not isinstance(configs, dict) or not configs:
        raise TypeError("configs: expected a non-empty dict {label: (cell, init)}")
    for label, (cell, _) in configs.items():
        if cell not in CELLS:
            raise ValueError(f"configs[{label!r}]: cell: expected one of {', '.join(CELLS)}, got {cell!r}")
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer: expected 'adam' or 'sgd', got {optimizer!r}")
    if isinstance(seeds, dict):
        missing = [label for label in configs if label not in seeds]
        if missing:
            raise ValueError(f"seeds: no seeds for the config {missing[0]!r}")
        per_config = {label: [check_int(s, "seed", low=0) for s in seeds[label]] for label in configs}
    else:
        common = [check_int(s, "seed", low=0) for s in seeds]
        per_config = {label: common for label in configs}
    seeds = sorted(set().union(*per_config.values()))
    length = check_positive_int(length, "length")
    steps = check_int(steps, "steps", low=1, high=MAX_STEPS)
    batch_size = check_positive_int(batch_size, "batch_size")
    window = check_positive_int(window, "window")
    target = check_number(target, "target", low=0, high=1)
    lr = check_number(lr, "lr", low=0, low_open=True)
    clip = None if clip is None else check_number(clip, "clip", low=0, low_open=True)
    stop_when_learned = check_bool(stop_when_learned, "stop_when_learned")
    n_inputs, n_classes = 8, 4
    labels = [(label, s) for label in configs for s in per_config[label]]
    groups = {}
    for k, (label, s) in enumerate(labels):
        cell, init = configs[label]
        ids, models = groups.setdefault(cell, ([], []))
        ids.append(k)
        models.append(_initialize(cell, init, s, hidden_size, n_inputs, n_classes))
    active = {c: (_Stack(c, models), np.array(ids)) for c, (ids, models) in groups.items()}
    data_rngs = [np.random.default_rng(s + 1) for s in seeds]
    seed_pos = {s: i for i, s in enumerate(seeds)}
    learned_at = [None] * len(labels)
    losses = [[] for _ in labels]
    norms = [[] for _ in labels]
    hits = [[] for _ in labels]
    final = {}
    rows = np.arange(batch_size)
    with one_blas_thread():
        for t in range(1, steps + 1):
            batches = [make_memory_task(batch_size, length, rng=r) for r in data_rngs]
            xs = np.stack([b[0] for b in batches]).transpose(2, 0, 1, 3)   # (T, S, N, D)
            ys = np.stack([b[1] for b in batches])                        # (S, N)
            for cell in list(active):
                stack, ids = active[cell]
                pos = np.array([seed_pos[labels[k][1]] for k in ids])
                y = ys[pos]
                logits = stack.forward(xs[:, pos])
                shifted = logits - logits.max(axis=-1, keepdims=True)
                e = np.exp(shifted)
                total = e.sum(axis=-1, keepdims=True)
                picked = np.take_along_axis(shifted, y[..., None], axis=-1)[..., 0]
                loss = (np.log(total[..., 0]) - picked).mean(axis=1)
                correct = (logits.argmax(axis=-1) == y).mean(axis=1)
                grad = e / total
                grad[np.arange(len(ids))[:, None], rows[None, :], y] -= 1.0
                grad /= batch_size
                norm = stack.step(stack.backward(grad), t, optimizer=optimizer, lr=lr, clip=clip)
                done = []
                for j, k in enumerate(ids):
                    losses[k].append(float(loss[j]))
                    norms[k].append(float(norm[j]))
                    hits[k].append(float(correct[j]))
                    if stop_when_learned and len(hits[k]) >= window \
                            and np.mean(hits[k][-window:]) >= target:
                        learned_at[k] = t
                        done.append(j)
                    elif t == steps:
                        done.append(j)
                if done:
                    for j in done:
                        final[ids[j]] = {n: v[j].copy() for n, v in stack.p.items()}
                    keep = np.setdiff1d(np.arange(len(ids)), done)
                    if keep.size:
                        stack.keep(keep)
                        active[cell] = (stack, ids[keep])
                    else:
                        del active[cell]
            if not active:
                break
        accuracy = np.empty(len(labels))
        tests = {s: make_memory_task(n_test, length, rng=np.random.default_rng(s + 2)) for s in seeds}
        for cell, (ids, models) in groups.items():
            stack = _Stack(cell, models)
            stack.p = {n: np.stack([final[k][n] for k in ids]) for n in _PARAMS}
            x = np.stack([tests[labels[k][1]][0] for k in ids]).transpose(2, 0, 1, 3)
            y = np.stack([tests[labels[k][1]][1] for k in ids])
            correct = np.zeros(len(ids))
            for lo in range(0, n_test, _TEST_CHUNK):      # in chunks: a smaller cache to fill
                part = slice(lo, lo + _TEST_CHUNK)
                correct += (stack.forward(x[:, :, part]).argmax(axis=-1) == y[:, part]).sum(axis=1)
            accuracy[ids] = correct / n_test
    return MemoryRuns(labels, learned_at, accuracy, [np.array(v) for v in losses],
                      [np.array(v) for v in norms], [configs[lab][0] for lab, _ in labels],
                      [final[k] for k in range(len(labels))])
