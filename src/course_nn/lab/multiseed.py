"""Train several small networks at once, one per seed (and per data split), stacked.

A statement about training ("dropout helps with noisy labels", "this learning rate is
unstable") must hold over several seeds and data splits, which multiplies the number of runs.
The networks of one experiment share their architecture, so their parameters stack along a
new leading axis, W: (K, out, in), and one step of all K networks is a handful of batched
products, (K, B, in) @ (K, in, out), instead of K trips through the layer objects.

``fit_many`` runs the loop of ``course_nn.train.fit`` for K course_nn models at once, each with
its own data, mini-batch generator, dropout generator and optimizer, and writes the trained
parameters (and batch-norm statistics) back into the models, which stay ordinary course_nn
models for everything after training. Every operation is the one ``fit`` performs, in the same
order (the same mini-batches, dropout masks, penalty and optimizer updates, early stopping and
restoring), so a run agrees with ``fit`` to round-off (``tests/test_multiseed.py``).
``train_setups`` is ``generalization.train_setup`` for many (task, seed) pairs.

Supported: ``Sequential`` models made of ``Linear``, ``ReLU``, ``Tanh``, ``BatchNorm1d``,
``Dropout`` and ``Residual`` blocks of these (x + block(x), as ``course_nn.Residual``);
``CrossEntropyLoss`` (mean); ``SGD`` (with or without momentum) and ``Adam`` without
weight_decay, the same hyperparameters for all K; a penalty l1 * sum|w| + l2 * sum w^2 on the
weight matrices (``weights_only``), optionally as a proximal (soft-threshold) step for l1.
"""

import math
from dataclasses import dataclass

import numpy as np

from .._validate import check_bool, check_generator, check_number, check_positive_int
from ..activations import ReLU, Tanh
from ..batchnorm import BatchNorm1d, _training_input_grad
from ..dropout import Dropout
from ..init import _rng
from ..linear import Linear
from ..module import Sequential
from ..optim import SGD, Adam
from ..regularization import ElasticNet, L1Penalty, L2Penalty
from ..residual import Residual
from ..train import History
from .threads import one_blas_thread

_KINDS = {Linear: "linear", ReLU: "relu", Tanh: "tanh", BatchNorm1d: "bn", Dropout: "dropout"}


def _flat_layers(model):
    """The layers of a Sequential in order, nested Sequentials flattened and a Residual block's
    layers between two markers: [Linear, Tanh, "res_begin", Linear, Tanh, "res_end", Linear]
    for Sequential(Linear, Tanh, Residual(Sequential(Linear, Tanh)), Linear). The order of
    their parameters is model.parameters()'s."""
    out = []
    for layer in model.layers:
        if isinstance(layer, Sequential):
            out += _flat_layers(layer)
        elif isinstance(layer, Residual):
            block = layer.block
            out += ["res_begin", *(_flat_layers(block) if isinstance(block, Sequential) else [block]),
                    "res_end"]
        else:
            out.append(layer)
    return out


@dataclass
class ManyHistory(History):
    """``History`` of one model trained by ``fit_many``; ``epochs`` counts the epochs run also
    when the training metrics were not recorded (``record_train=False``)."""

    epochs_run: int = 0

    @property
    def epochs(self):
        return self.epochs_run


def _run_values(values, name):
    """Runs' values as a flat array, checked: numbers (integers stay integers, so ``fmt="d"``
    works for counts such as epochs), at least one, all finite."""
    try:
        arr = np.asarray(values).reshape(-1)
    except ValueError:  # ragged
        arr = np.asarray([None])
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.int64)
    else:
        try:
            arr = arr.astype(np.float64) if arr.dtype.kind in "f" else None
        except (TypeError, ValueError):
            arr = None
        if arr is None:
            raise TypeError(f"{name} values: expected a list or array of numbers, got {values!r}")
    if arr.size == 0:
        raise ValueError(f"{name} values: expected at least one run's value, got none")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} values: expected finite numbers, got {arr.tolist()}")
    return arr


def spread(values, fmt=".4f"):
    """Several runs' values (one per seed or split) as ``"median [min, max]"``, each formatted
    with ``fmt`` (e.g. ``".1%"``): how a multi-seed claim prints its spread."""
    arr = _run_values(values, "spread")
    return f"{np.median(arr):{fmt}} [{arr.min():{fmt}}, {arr.max():{fmt}}]"


def value_range(values, fmt=".4f"):
    """Several runs' values as ``"min to max"``, formatted with ``fmt``."""
    arr = _run_values(values, "value_range")
    return f"{arr.min():{fmt}} to {arr.max():{fmt}}"


def _describe(models):
    """The layer kinds of the K models (checked identical) and their layers, per position."""
    if not isinstance(models, (list, tuple)) or not models:
        raise ValueError("fit_many models: expected a non-empty list of Sequential models")
    kinds = None
    for k, model in enumerate(models):
        if not isinstance(model, Sequential):
            raise TypeError(f"fit_many models[{k}]: expected a Sequential, got {type(model).__name__}")
        these = []
        for layer in _flat_layers(model):
            if isinstance(layer, str):             # a Residual block's begin or end
                these.append((layer,))
                continue
            kind = _KINDS.get(type(layer))
            if kind is None:
                raise TypeError(f"fit_many models[{k}]: {type(layer).__name__} is not supported "
                                f"(Linear, ReLU, Tanh, BatchNorm1d, Dropout, Residual)")
            spec = (kind,)
            if kind == "linear":
                if layer.bias is None:
                    raise ValueError(f"fit_many models[{k}]: Linear layers need a bias")
                spec += (layer.in_features, layer.out_features, layer.weight.data.dtype)
            elif kind == "bn":
                spec += (layer.num_features, layer.eps, layer.momentum)
            elif kind == "dropout":
                spec += (layer.p,)
            these.append(spec)
        if kinds is None:
            kinds = these
        elif these != kinds:
            raise ValueError(f"fit_many models[{k}]: expected the architecture of models[0]")
    if kinds[0][0] != "linear":
        raise ValueError("fit_many models: the first layer must be a Linear")
    if len({spec[3] for spec in kinds if spec[0] == "linear"}) != 1:
        raise ValueError("fit_many models: every Linear layer must have the same dtype")
    return kinds


def _optimizer_rule(optimizers, models):
    if not isinstance(optimizers, (list, tuple)) or len(optimizers) != len(models):
        raise ValueError(f"fit_many optimizers: expected one optimizer per model ({len(models)})")
    first = optimizers[0]
    if type(first) not in (SGD, Adam):
        raise TypeError(f"fit_many optimizers: SGD or Adam, got {type(first).__name__}")
    for k, (opt, model) in enumerate(zip(optimizers, models)):
        if type(opt) is not type(first):
            raise ValueError(f"fit_many optimizers[{k}]: expected a {type(first).__name__} like "
                             f"optimizers[0]")
        if opt.weight_decay:
            raise ValueError(f"fit_many optimizers[{k}]: weight_decay is not supported (use l2)")
        if [id(p) for p in opt.params] != [id(p) for p in model.parameters()]:
            raise ValueError(f"fit_many optimizers[{k}]: expected an optimizer built from "
                             f"models[{k}].parameters()")
        if any(state for state in opt.state) or opt.steps:
            raise ValueError(f"fit_many optimizers[{k}]: expected a fresh optimizer (no steps yet)")
        same = (opt.lr == first.lr and getattr(opt, "momentum", None) == getattr(first, "momentum", None)
                and getattr(opt, "betas", None) == getattr(first, "betas", None)
                and getattr(opt, "eps", None) == getattr(first, "eps", None))
        if not same:
            raise ValueError(f"fit_many optimizers[{k}]: expected the hyperparameters of "
                             f"optimizers[0]")
    if isinstance(first, SGD):
        return ("sgd", first.lr, first.momentum)
    return ("adam", first.lr, tuple(first.betas), first.eps)


def _penalty_terms(penalty):
    if penalty is None:
        return 0.0, 0.0
    if isinstance(penalty, ElasticNet):
        return penalty.l1, penalty.l2
    if isinstance(penalty, L2Penalty):
        return 0.0, penalty.lam
    if isinstance(penalty, L1Penalty):
        return penalty.lam, 0.0
    raise TypeError(f"fit_many penalty: expected L1Penalty, L2Penalty or ElasticNet, got "
                    f"{type(penalty).__name__}")


def _stack_data(sets, name, n_in, n_classes):
    if not isinstance(sets, (list, tuple)):
        raise ValueError(f"fit_many {name}: expected one (X, y) pair per model")
    X = np.stack([np.asarray(s[0]) for s in sets])
    y = np.stack([np.asarray(s[1]) for s in sets])
    if X.ndim != 3 or X.shape[2] != n_in or X.dtype.kind != "f":
        raise ValueError(f"fit_many {name}: expected float X of shape (N, {n_in}) for every "
                         f"model, got a stack of shape {X.shape}")
    if y.shape != X.shape[:2] or y.dtype.kind not in "iu":
        raise ValueError(f"fit_many {name}: expected integer labels of shape (N,) for every model")
    if not np.all(np.isfinite(X)) or y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"fit_many {name}: expected finite X and labels in [0, {n_classes - 1}]")
    return X, y


class _Stack:
    """The parameters, optimizer state and forward/backward of K same-shaped MLPs."""

    def __init__(self, models, kinds, rule, l1, l2, prox_l1):
        self.models, self.kinds, self.rule = models, kinds, rule
        self.l1, self.l2, self.prox_l1 = l1, l2, prox_l1
        self.active = np.arange(len(models))
        self.params = []          # per parameter: (K, ...) array
        self.is_weight = []       # Linear weight matrices (penalized)
        self.slots = []           # per layer: indices into params (or None)
        self.bn_stats = {}        # layer index -> [running_mean (K, C), running_var (K, C)]
        self.drop_rngs = {}       # layer index -> list of K generators
        self.layers = [_flat_layers(m) for m in models]     # per model, indexed like kinds
        for i, spec in enumerate(kinds):
            layers = [flat[i] for flat in self.layers]
            if spec[0] in ("linear", "bn"):
                start = len(self.params)
                for attr in ("weight", "bias"):
                    self.params.append(np.stack([getattr(l, attr).data for l in layers]))
                    self.is_weight.append(spec[0] == "linear" and attr == "weight")
                self.slots.append((start, start + 1))
                if spec[0] == "bn":
                    self.bn_stats[i] = [np.stack([l.running_mean for l in layers]),
                                        np.stack([l.running_var for l in layers])]
            else:
                self.slots.append(None)
                if spec[0] == "dropout":
                    self.drop_rngs[i] = [_rng(l.rng) for l in layers]
        self.state = [{} for _ in self.params]
        self.steps = 0

    def keep(self, index):
        """Keep only the networks at positions ``index`` of the current stack."""
        self.active = self.active[index]
        self.params = [p[index] for p in self.params]
        self.state = [{key: v[index] for key, v in s.items() if key != "tmp"} for s in self.state]
        self.bn_stats = {i: [s[index] for s in stats] for i, stats in self.bn_stats.items()}
        self.drop_rngs = {i: [rngs[j] for j in index] for i, rngs in self.drop_rngs.items()}

    def forward(self, x, training):
        """x: (K, B, in) -> scores (K, B, C); in training, caches what backward needs."""
        cache, skips = [], []
        for i, spec in enumerate(self.kinds):
            kind = spec[0]
            if kind == "res_begin":
                cache.append(None)
                skips.append(x)
            elif kind == "res_end":
                cache.append(None)
                x = skips.pop() + x                        # x + block(x)
            elif kind == "tanh":
                cache.append(x)
                x = np.tanh(x)
            elif kind == "linear":
                w, b = (self.params[j] for j in self.slots[i])
                cache.append(x)
                x = np.matmul(x, w.transpose(0, 2, 1))
                x += b[:, None, :]
            elif kind == "relu":
                cache.append(x)
                x = np.maximum(x, x.dtype.type(0))
            elif kind == "dropout":
                p = spec[1]
                if not training or p == 0:
                    cache.append(None)
                    continue
                if p == 1:
                    mask = np.zeros_like(x)
                else:
                    keep = np.stack([rng.random(x.shape[1:]) >= p for rng in self.drop_rngs[i]])
                    mask = keep.astype(x.dtype) / (1.0 - p)
                cache.append(mask)
                x = x * mask
            else:  # batch norm
                gamma, beta = (self.params[j] for j in self.slots[i])
                running_mean, running_var = self.bn_stats[i]
                eps, m = spec[2], spec[3]
                if training:
                    n = x.shape[1]
                    mean, var = x.mean(axis=1), x.var(axis=1)
                    self.bn_stats[i] = [(1 - m) * running_mean + m * mean,
                                        (1 - m) * running_var + m * var * n / (n - 1)]
                else:
                    mean, var = running_mean, running_var
                inv_std = 1.0 / np.sqrt(var + eps)
                x_hat = (x - mean[:, None, :]) * inv_std[:, None, :]
                cache.append((x_hat, inv_std))
                x = gamma[:, None, :] * x_hat + beta[:, None, :]
        self.cache = cache
        return x

    def backward(self, grad):
        """grad: dL/dscores (K, B, C) -> the gradients of every parameter (a list)."""
        grads = [None] * len(self.params)
        skips = []
        for i in range(len(self.kinds) - 1, -1, -1):
            kind, cached = self.kinds[i][0], self.cache[i]
            if kind == "res_end":
                skips.append(grad)                         # the identity path's share
            elif kind == "res_begin":
                grad = skips.pop() + grad                  # g + block.backward(g)
            elif kind == "tanh":
                grad = grad * (1.0 - np.tanh(cached) ** 2)
            elif kind == "linear":
                jw, jb = self.slots[i]
                grads[jw] = np.matmul(grad.transpose(0, 2, 1), cached)
                grads[jb] = grad.sum(axis=1)
                if i == 0:
                    break
                grad = np.matmul(grad, self.params[jw])
            elif kind == "relu":
                grad = grad * (cached > 0).astype(cached.dtype)
            elif kind == "dropout":
                if cached is not None:
                    grad = grad * cached
            else:
                x_hat, inv_std = cached
                jg, jb = self.slots[i]
                grads[jg] = np.sum(grad * x_hat, axis=1)
                grads[jb] = grad.sum(axis=1)
                grad = _training_input_grad(grad, x_hat, grads[jg], grads[jb],
                                            (self.params[jg] * inv_std)[:, None, :], axis=1)
        return grads

    def step(self, grads):
        """One optimizer update of every parameter (the penalty added to the weights first).

        The arithmetic is the optimizers' (same operations, same order, so the same bits), done
        in place in kept buffers: fresh arrays of this size cost more than the arithmetic."""
        self.steps += 1
        for j, (p, g) in enumerate(zip(self.params, grads)):
            state = self.state[j]
            if "tmp" not in state:
                state["tmp"] = np.empty_like(p)
            tmp = state["tmp"]
            if self.is_weight[j] and (self.l1 or self.l2):
                np.multiply(p, 2.0 * self.l2, out=tmp)         # l1 sign(w) + 2 l2 w, added to g
                if self.l1:
                    tmp += self.l1 * np.sign(p)
                g += tmp
            if self.rule[0] == "sgd":
                lr, momentum = self.rule[1], self.rule[2]
                if momentum:
                    if "velocity" not in state:
                        state["velocity"] = g.copy()
                    else:
                        state["velocity"] *= momentum
                        state["velocity"] += g
                    g = state["velocity"]
                np.multiply(g, lr, out=tmp)
            else:
                lr, (b1, b2), eps = self.rule[1], self.rule[2], self.rule[3]
                t = self.steps
                if "m" not in state:
                    state["m"] = np.multiply(g, 1 - b1)
                    np.multiply(g, 1 - b2, out=tmp)
                    tmp *= g
                    state["v"] = tmp.copy()
                else:
                    m, v = state["m"], state["v"]
                    np.multiply(g, 1 - b1, out=tmp)
                    m *= b1
                    m += tmp
                    np.multiply(g, 1 - b2, out=tmp)
                    tmp *= g
                    v *= b2
                    v += tmp
                denom = np.sqrt(state["v"], out=tmp)
                denom /= math.sqrt(1 - b2**t)
                denom += eps
                update = np.multiply(state["m"], lr / (1 - b1**t))
                np.divide(update, denom, out=tmp)
            p -= tmp
            if self.is_weight[j] and self.prox_l1:
                shrink = self.rule[1] * self.prox_l1
                p[...] = np.sign(p) * np.maximum(np.abs(p) - shrink, 0.0)

    def evaluate(self, X, y):
        """Mean cross-entropy and accuracy of every network in evaluation mode: two (K,) arrays.

        X: (K, N, in), y: (K, N); rows are taken 1024 at a time, as ``train.predict`` does."""
        scores = np.concatenate([self.forward(X[:, s:s + 1024], training=False)
                                 for s in range(0, X.shape[1], 1024)], axis=1)
        losses, _ = _cross_entropy(scores, y)
        acc = np.mean(np.argmax(scores, axis=2) == y, axis=1)
        return losses, acc

    def write_back(self, models=None):
        """Copy the parameters and batch-norm statistics into the active networks' models."""
        for pos, k in enumerate(self.active):
            model = self.models[k]
            params = model.parameters()
            for p, stacked in zip(params, self.params):
                p.data[...] = stacked[pos]
            for i, (mean, var) in self.bn_stats.items():
                self.layers[k][i].running_mean = mean[pos].copy()
                self.layers[k][i].running_var = var[pos].copy()


def _cross_entropy(scores, y):
    """Mean cross-entropy per network (K,) and its gradient dL/dscores (K, B, C), computed as
    ``CrossEntropyLoss`` does."""
    K, n, _ = scores.shape
    kk, rows = np.arange(K)[:, None], np.arange(n)[None, :]
    shifted = scores - scores.max(axis=2, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=2, keepdims=True)
    per_sample = np.log(total[:, :, 0]) - shifted[kk, rows, y]
    grad = exp / total
    grad[kk, rows, y] -= 1.0
    scale = 1.0 / n
    return per_sample.sum(axis=1) * scale, grad * scale


def fit_many(models, optimizers, trains, vals=None, *, epochs, batch_size, rngs, penalty=None,
             prox_l1=0.0, patience=None, record_train=True, record_val=True, epoch_data=None):
    """Train K course_nn models at once, as ``fit`` trains each (CrossEntropyLoss); return
    their ``ManyHistory`` objects, one per model.

    models: K Sequential models of one architecture (Linear, ReLU, Tanh, BatchNorm1d, Dropout,
    Residual blocks of these);
    optimizers: one fresh SGD or Adam per model, built from its parameters, with the same
    hyperparameters; trains, vals: one (X (N, in), y (N,)) pair per model, the same N for all;
    rngs: one generator per model for the mini-batch order. ``penalty`` (L1Penalty, L2Penalty or
    ElasticNet) is added to the gradients of the Linear weights; ``prox_l1`` > 0 applies
    w <- sign(w) max(|w| - lr * prox_l1, 0) to them after each step instead. ``patience``: early
    stopping on each model's validation loss, then its best parameters are restored (as fit).
    ``record_train=False`` / ``record_val=False`` skip the per-epoch measurement on the
    training / validation set (it costs more than the training steps on small training sets;
    early stopping always measures the validation set).
    ``epoch_data(epoch)``: optional, returns the (K, N, in) training images of that epoch
    (augmentation); the training metrics are then measured on those, as fit would.
    After training, the parameters and batch-norm statistics are written into the models.
    """
    kinds = _describe(models)
    rule = _optimizer_rule(optimizers, models)
    l1, l2 = _penalty_terms(penalty)
    prox_l1 = check_number(prox_l1, "fit_many prox_l1", low=0)
    epochs = check_positive_int(epochs, "fit_many epochs")
    batch_size = check_positive_int(batch_size, "fit_many batch_size")
    record_train = check_bool(record_train, "fit_many record_train")
    record_val = check_bool(record_val, "fit_many record_val") or patience is not None
    if patience is not None:
        patience = check_positive_int(patience, "fit_many patience")
        if vals is None:
            raise ValueError("fit_many: early stopping (patience) needs validation sets")
    if not isinstance(rngs, (list, tuple)) or len(rngs) != len(models):
        raise ValueError(f"fit_many rngs: expected one generator per model ({len(models)})")
    rngs = [check_generator(r, f"fit_many rngs[{k}]") for k, r in enumerate(rngs)]
    n_in, n_classes = kinds[0][1], [s for s in kinds if s[0] == "linear"][-1][2]
    X, y = _stack_data(trains, "trains", n_in, n_classes)
    dtype = kinds[0][3]
    X = X.astype(dtype, copy=False)
    if vals is not None:
        Xv, yv = _stack_data(vals, "vals", n_in, n_classes)
        Xv = Xv.astype(dtype, copy=False)
    n = X.shape[1]
    if any(s[0] == "bn" for s in kinds) and (n % batch_size or batch_size) == 1:
        raise ValueError("fit_many batch_size: leaves a batch of 1 sample for BatchNorm1d")

    histories = [ManyHistory() for _ in models]
    stack = _Stack(list(models), kinds, rule, l1, l2, prox_l1)
    best = {k: (np.inf, None, 0) for k in range(len(models))}  # best loss, state, waited
    with one_blas_thread():
        for epoch in range(epochs):
            if epoch_data is not None:
                X = np.asarray(epoch_data(epoch), dtype=dtype)
            active = stack.active
            orders = np.stack([rngs[k].permutation(n) for k in active])
            Xa, ya = X[active], y[active]
            kk = np.arange(len(active))[:, None]
            for start in range(0, n, batch_size):
                idx = orders[:, start:start + batch_size]
                scores = stack.forward(Xa[kk, idx], training=True)
                _, grad = _cross_entropy(scores, ya[kk, idx])
                stack.step(stack.backward(grad))
            if record_train:
                losses, accs = stack.evaluate(Xa, ya)
                for pos, k in enumerate(active):
                    histories[k].train_loss.append(float(losses[pos]))
                    histories[k].train_acc.append(float(accs[pos]))
            for k in active:
                histories[k].epochs_run += 1
            if vals is None or not record_val:
                continue
            losses, accs = stack.evaluate(Xv[active], yv[active])
            keep = []
            for pos, k in enumerate(active):
                h = histories[k]
                h.val_loss.append(float(losses[pos]))
                h.val_acc.append(float(accs[pos]))
                best_loss, state, waited = best[k]
                if h.val_loss[-1] < best_loss:
                    state = [p[pos].copy() for p in stack.params]
                    best[k] = (h.val_loss[-1], state, 0)
                    h.best_epoch = epoch
                else:
                    best[k] = (best_loss, state, waited + 1)
                if patience is not None and best[k][2] >= patience:
                    h.stopped_early = True
                    # this network is done: its parameters (the best ones) go back now
                    for p, data in zip(models[k].parameters(), state):
                        p.data[...] = data
                    for i, (mean, var) in stack.bn_stats.items():
                        stack.layers[k][i].running_mean = mean[pos].copy()
                        stack.layers[k][i].running_var = var[pos].copy()
                else:
                    keep.append(pos)
            if len(keep) < len(active):
                if not keep:
                    break
                stack.keep(np.array(keep))
        stack.write_back()
        if patience is not None:
            for k in stack.active:
                state = best[k][1]
                if state is not None:
                    for p, data in zip(models[k].parameters(), state):
                        p.data[...] = data
    return histories


def train_setups(setup, tasks, seeds, *, record_train=True, record_val=True, prox_l1=0.0,
                 augmentation=None):
    """``generalization.train_setup(setup, task, seed)`` for every (task, seed) pair at once.

    tasks: one DigitsTask per run (or a single task for all), seeds: ints. augmentation: None
    for the setup's own (a one-pixel shift of each training image with probability
    ``setup.augment``), or ``(prob, transform)``: each epoch, each training image is replaced
    with probability ``prob`` by its image in ``transform(X, rng)`` (X: (N, 64); rng: the run's
    augmentation generator, ``default_rng([seed, 2])``). Returns the list of
    ``generalization.Run``: trained model, history and final (loss, accuracy) on the training
    images (as given), the validation and the test set, in evaluation mode.
    """
    from ..augment import random_shifts
    from ..losses import CrossEntropyLoss
    from ..train import evaluate
    from .generalization import DigitsTask, Run, Setup, make_mlp

    if not isinstance(setup, Setup):
        raise TypeError(f"train_setups setup: expected a Setup, got {type(setup).__name__}")
    seeds = [int(s) for s in seeds]
    if isinstance(tasks, DigitsTask):
        tasks = [tasks] * len(seeds)
    if len(tasks) != len(seeds) or not seeds:
        raise ValueError("train_setups: expected one task per seed")
    if augmentation is None:
        prob, transform = setup.augment, (lambda X, rng: random_shifts(X, rng=rng)[0])
    else:
        prob, transform = augmentation
    if prob and setup.patience is not None:
        raise ValueError("train_setups: augmentation and early stopping are not combined here")
    models, opts = [], []
    for seed in seeds:
        model = make_mlp(setup.width, setup.hidden_layers, setup.dropout, setup.batchnorm,
                         rng=np.random.default_rng(seed))
        models.append(model)
        opts.append(SGD(model.parameters(), lr=setup.lr, momentum=setup.momentum))
    penalty = ElasticNet(l1=setup.l1, l2=setup.l2) if (setup.l1 or setup.l2) else None
    epoch_data = None
    if prob:
        aug_rngs = [np.random.default_rng([seed, 2]) for seed in seeds]

        def epoch_data(epoch):
            out = []
            for task, rng in zip(tasks, aug_rngs):
                X = task.train[0]
                moved = transform(X, rng)
                keep = rng.random(len(X)) >= prob                 # these images stay as they are
                moved[keep] = X[keep]
                out.append(moved)
            return np.stack(out)

    histories = fit_many(models, opts, [t.train for t in tasks], [t.val for t in tasks],
                         epochs=setup.epochs, batch_size=setup.batch_size,
                         rngs=[np.random.default_rng([seed, 1]) for seed in seeds],
                         penalty=penalty, prox_l1=prox_l1, patience=setup.patience,
                         record_train=record_train, record_val=record_val,
                         epoch_data=epoch_data)
    loss_fn = CrossEntropyLoss()
    runs = []
    with one_blas_thread():
        for model, history, task, seed in zip(models, histories, tasks, seeds):
            results = [evaluate(model, loss_fn, *split) for split in (task.train, task.val, task.test)]
            runs.append(Run(setup, seed, model, history, *results))
    return runs
