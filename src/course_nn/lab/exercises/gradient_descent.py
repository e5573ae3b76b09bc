"""Chapter 6 exercises: gradient descent.

gradient_descent.descend              debug: a gradient-descent loop with two bugs (it steps
                                      uphill, and it computes the gradient once, at the start);
                                      the learner writes the fixed loop, and the checker names
                                      the bugs it recognizes in a wrong answer
gradient_descent.train_regression    train: fit a linear model with the learner's own mini-batch
                                      gradient-descent loop until its mean squared error on
                                      held-out data is within 10 % of the least-squares fit's
gradient_descent.minibatch_indices    debug: the chapter's buggy epoch draws each batch with
                                      replacement and drops the last partial batch; the fixed one
                                      shuffles 0..n-1 with rng and cuts it into batches; checked by
                                      properties (a partition of 0..n-1, the right batch sizes,
                                      shuffled), since any permutation is a correct answer
gradient_descent.divergence_threshold experiment: find, by running training, the learning rate
                                      at which a run starts to diverge; the run is a black box
                                      (its Hessian is hidden), so the threshold must be measured

References are course_nn's: optim.SGD driving a Parameter, data.iterate_minibatches. Fixed cases
hold the traps (a last batch that is not full, a batch larger than the data set, a run whose loss
overflows to inf and nan, a start that barely touches the steep direction).
"""


import numpy as np

from ...data import iterate_minibatches
from ...module import Parameter
from ...optim import SGD
from . import Exercise, _describe, _one_number, _show, register


class _SeededGenerator(np.random.Generator):
    """A Generator that prints as the call that made it (a failing input is shown to learners)."""

    def __init__(self, seed):
        super().__init__(np.random.PCG64(seed))
        self._seed = seed

    def __repr__(self):
        return f"np.random.default_rng({self._seed})"


# --- descend (debug) -----------------------------------------------------------------------

class _Gradient:
    """The gradient of one loss, as a function of w; prints as the loss it belongs to.

    kind "quadratic": f(w) = 1/2 (w - c)^T H (w - c), gradient H (w - c);
    kind "quartic":   f(w) = sum((w - c)^4) / 4, gradient (w - c)^3 (not linear in w, so a
                      gradient computed once at the start is wrong in a different way).
    """

    def __init__(self, kind, H=None, c=None):
        self.kind = kind
        self.H = None if H is None else np.asarray(H, dtype=np.float64)
        self.c = np.asarray(c, dtype=np.float64)

    def __call__(self, w):
        e = np.asarray(w, dtype=np.float64) - self.c
        return self.H @ e if self.kind == "quadratic" else e ** 3

    def __repr__(self):
        c = np.array2string(self.c, precision=4, separator=", ")
        if self.kind == "quadratic":
            H = np.array2string(self.H, precision=4, separator=", ").replace("\n", "")
            return f"the gradient of 1/2 (w - c)^T H (w - c) with H = {H}, c = {c}"
        return f"the gradient of sum((w - c)^4) / 4 with c = {c}"


def _descend(w, grad_fn, lr, steps):
    """``steps`` steps of optim.SGD from w on the loss whose gradient is grad_fn: the final w."""
    p = Parameter(np.array(w, dtype=np.float64))
    opt = SGD([p], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        p.grad[...] = grad_fn(p.data)
        opt.step()
    return p.data


def _descend_variant(w, grad_fn, lr, steps, sign=-1.0, fresh=True):
    """The loop with the chapter's bugs switched on or off: sign +1 climbs, fresh False
    keeps the gradient of the starting point."""
    w = np.array(w, dtype=np.float64)
    g = grad_fn(w)
    for _ in range(steps):
        if fresh:
            g = grad_fn(w)
        w = w + sign * lr * g
    return w


class _FinalW(np.ndarray):
    """The reference's final w, carrying what each recognized bug would have returned."""

    variants = ()


_DESCEND_BUGS = (
    ("it steps uphill (w + lr * g) and uses the gradient of the starting point at every step",
     dict(sign=1.0, fresh=False)),
    ("it steps uphill: w + lr * g climbs the loss; descent subtracts the gradient",
     dict(sign=1.0)),
    ("it uses the gradient of the starting point at every step; gradient descent recomputes "
     "the gradient at each new w", dict(fresh=False)),
)


def _descend_reference(w, grad_fn, lr, steps):
    """_descend, with the results of the recognized bugs attached for the comparison."""
    final = np.asarray(_descend(w, grad_fn, lr, steps)).view(_FinalW)
    variants = []
    with np.errstate(all="ignore"):
        for reason, switches in _DESCEND_BUGS:
            variants.append((reason, _descend_variant(w, grad_fn, lr, steps, **switches)))
        for k in (steps - 1, steps + 1):
            if k >= 0:
                variants.append((f"that is {k} steps, not {steps}", _descend(w, grad_fn, lr, k)))
    final.variants = tuple(variants)
    return final


def _compare_descend(expected, got):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(expected).view(np.ndarray)
    if got.shape != want.shape:
        return f"expected the final w, shape {want.shape}, got shape {got.shape}"
    if np.allclose(got, want, rtol=1e-6, atol=1e-9):
        return None
    for reason, wrong in getattr(expected, "variants", ()):
        if np.all(np.isfinite(wrong)) and np.allclose(got, wrong, rtol=1e-6, atol=1e-9):
            return f"expected {_show(want)}, got {_show(got)}: {reason}"
    return f"expected {_show(want)}, got {_show(got)}"


_DESCEND_FIXED = [
    (np.array([1.0]), _Gradient("quadratic", [[2.0]], [0.0]), 0.1, 10),       # f = w^2
    (np.array([3.0, -1.0]), _Gradient("quadratic", [[5.75, -8.2272], [-8.2272, 15.25]],
                                      [1.0, 0.5]), 0.05, 25),
    (np.array([2.0, 0.5, -1.0]), _Gradient("quartic", c=[0.0, 1.0, -0.5]), 0.1, 30),
    (np.array([0.3]), _Gradient("quadratic", [[4.0]], [-2.0]), 0.2, 1),      # one step
    (np.array([[1.0, -2.0]]).ravel(), _Gradient("quartic", c=[0.5, 0.5]), 0.05, 0),  # 0 steps
]


def _random_descend(rng):
    d = int(rng.integers(1, 4))
    w = rng.standard_normal(d)
    if rng.random() < 0.5:
        A = rng.standard_normal((d, d))
        H = A @ A.T + 0.5 * np.eye(d)
        H = (H + H.T) / 2
        lr = float(rng.uniform(0.1, 0.9)) * 2 / np.linalg.eigvalsh(H).max()
        return w, _Gradient("quadratic", H, rng.standard_normal(d)), lr, int(rng.integers(2, 40))
    return w, _Gradient("quartic", c=rng.standard_normal(d)), float(rng.uniform(0.01, 0.1)), \
        int(rng.integers(2, 40))


register(Exercise(
    id="gradient_descent.descend",
    kind="debug",
    reference=_descend_reference,
    fixed=_DESCEND_FIXED,
    random=_random_descend,
    arg_names=("w", "grad_fn", "lr", "steps"),
    compare=_compare_descend,
))


# --- train_regression (train) ----------------------------------------------------------------

TRAIN_TARGET = 1.10
"""The learner's model passes when its held-out MSE is at most this multiple of the held-out MSE
of the least-squares fit to the same training data (the best a linear model can learn there)."""

_HELD_OUT = {}


def _fingerprint(X, y):
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(X).tobytes()
                          + np.ascontiguousarray(y).tobytes()).hexdigest()


def _regression_case(rng):
    """A regression task like the chapter's: 800 training samples of 5 features with different
    scales and a mean of 0.5, targets from a linear rule plus noise of standard deviation 0.5;
    400 more samples from the same rule are kept for judging. -> (X (800, 5), y (800, 1), seed)."""
    n, n_held, d = 800, 400, 5
    X = rng.standard_normal((n + n_held, d)) * rng.uniform(0.3, 2.0, size=d) + 0.5
    y = (X @ rng.standard_normal(d) + rng.normal() + 0.5 * rng.standard_normal(n + n_held))[:, None]
    _HELD_OUT[_fingerprint(X[:n], y[:n])] = (X[n:], y[n:], X[:n], y[:n])
    return X[:n], y[:n], int(rng.integers(2 ** 31))


def _train_loop(X, y, seed):
    """The reference: Linear(5, 1), optim.SGD lr 0.05 in batches of 32 for 20 epochs, then 10
    epochs at lr 0.005 (a smaller step at the end averages out the mini-batch noise)."""
    from ...linear import Linear
    from ...losses import MSELoss

    rng = np.random.default_rng(seed)
    model = Linear(X.shape[1], 1, rng=rng)
    loss_fn, opt = MSELoss(), SGD(model.parameters(), lr=0.05)
    for epoch in range(30):
        if epoch == 20:
            opt.lr = 0.005
        order = rng.permutation(len(X))
        for start in range(0, len(X), 32):
            idx = order[start:start + 32]
            opt.zero_grad()
            loss_fn(model(X[idx]), y[idx])
            model.backward(loss_fn.backward())
            opt.step()
    return model


class _HeldOut:
    """What the learner's model is judged on, and the reference's own training run."""

    def __init__(self, X, y, seed):
        X_held, y_held, X_train, y_train = _HELD_OUT[_fingerprint(X, y)]
        self.X, self.y = X_held, y_held
        ones = np.ones((len(X_train), 1))
        theta = np.linalg.lstsq(np.c_[X_train, ones], y_train, rcond=None)[0]
        self.best = float(np.mean((np.c_[X_held, np.ones((len(X_held), 1))] @ theta - y_held) ** 2))
        self.train = lambda: _train_loop(X, y, seed)


def _train_regression_reference(X, y, seed):
    return _HeldOut(X, y, seed)


def _judge_regression(expected, got):
    from ...module import Module

    if isinstance(got, _HeldOut):  # the reference, judged by its own checker
        got = got.train()
    if not isinstance(got, Module):
        what = f"text, {_describe(got)}" if isinstance(got, str) else _describe(got)
        return (f"expected your function to return the trained course_nn model (a Module such as "
                f"cn.Linear(5, 1)), got {what}")
    try:
        with np.errstate(all="ignore"):
            pred = np.asarray(got(expected.X), dtype=np.float64)
    except Exception as err:  # a model that cannot take (N, 5) inputs
        return f"your model could not take inputs of shape (N, 5): {type(err).__name__}: {err}"
    if pred.shape != expected.y.shape:
        return f"expected one prediction per sample, shape {expected.y.shape}, got {pred.shape}"
    with np.errstate(all="ignore"):
        ratio = float(np.mean((pred - expected.y) ** 2)) / expected.best
    if ratio <= TRAIN_TARGET:
        return None
    if not np.isfinite(ratio) or ratio > 1e3:
        hint = ("the run diverged: is your learning rate below the threshold 2 / lambda_max of "
                "this task? Does your loop call zero_grad before each backward?")
    else:
        hint = ("it learned, but not enough: more epochs, or a smaller learning rate for the last "
                "ones, which averages out the mini-batch noise")
    return (f"your model's mean squared error on {len(expected.X)} held-out samples is "
            f"{ratio:.3f} times the least-squares fit's; the target is {TRAIN_TARGET}: {hint}")


register(Exercise(
    id="gradient_descent.train_regression",
    kind="train",
    reference=_train_regression_reference,
    random=_regression_case,
    n_random=20,
    arg_names=("X", "y", "seed"),
    compare=_judge_regression,
    time_limit=10.0,
))


# --- minibatch_indices ----------------------------------------------------------------------

def _minibatch_indices(n, batch_size, rng):
    idx = np.arange(n)
    return [batch for batch, _ in iterate_minibatches(idx, idx, batch_size, rng=rng)]


def _compare_batches(expected, got):
    if not isinstance(got, (list, tuple, np.ndarray)):
        return f"expected a list of index arrays, got {_describe(got)}"
    try:
        batches = [np.asarray(b) for b in got]
    except (TypeError, ValueError):
        return "expected a list of 1-D index arrays, got a batch numpy cannot read as one array"
    sizes = [len(b) for b in expected]
    n = sum(sizes)
    got_sizes = [b.size for b in batches]
    if got_sizes != sizes:
        return (f"expected {len(sizes)} batches of sizes {_show(sizes)}, got {len(got_sizes)} "
                f"of sizes {_show(got_sizes)}")
    if any(b.ndim != 1 or not np.issubdtype(b.dtype, np.integer) for b in batches):
        return "expected every batch to be a 1-D array of integer indices"
    order = np.concatenate(batches)
    if not np.array_equal(np.sort(order), np.arange(n)):
        return (f"expected every index 0..{n - 1} exactly once; got "
                f"{n - np.unique(order).size} repeats and indices in [{order.min()}, {order.max()}]")
    if n >= 8 and np.array_equal(order, np.arange(n)):
        return "the indices come in order 0, 1, 2, ...: shuffle them with rng first"
    return None


def _random_batches(rng):
    return int(rng.integers(1, 300)), int(rng.integers(1, 64)), _SeededGenerator(int(rng.integers(1000)))


register(Exercise(
    id="gradient_descent.minibatch_indices",
    kind="debug",
    reference=_minibatch_indices,
    fixed=[
        (10, 3, _SeededGenerator(0)),     # 3 + 3 + 3 + 1
        (12, 4, _SeededGenerator(1)),     # divides exactly
        (5, 8, _SeededGenerator(2)),      # one batch holding everything
        (100, 1, _SeededGenerator(3)),    # pure SGD
        (1000, 32, _SeededGenerator(4)),
    ],
    random=_random_batches,
    arg_names=("n", "batch_size", "rng"),
    compare=_compare_batches,
))


# --- divergence_threshold (experiment) -----------------------------------------------------

class TrainingRun:
    """A training run whose only knob is the learning rate: ``run(lr)`` trains from the same
    start for ``steps`` full-batch gradient-descent steps (w <- w - lr H w) on a quadratic loss
    1/2 w^T H w and returns the losses, shape (steps + 1,): before the first step, then after
    each. H is kept out of sight (its repr does not show it): the threshold must be measured.

    For such a run the final loss is a convex function of lr, so above the first learning
    rate where it exceeds the first loss every larger one does too (up to the interval's end):
    the threshold between lo and hi is unique, and bisection finds it.
    """

    def __init__(self, H, w0, steps, name):
        self._H = np.asarray(H, dtype=np.float64)
        self._w0 = np.asarray(w0, dtype=np.float64)
        self.steps = int(steps)
        self._name = name

    def _loss(self, w):
        with np.errstate(all="ignore"):
            return float(0.5 * w @ self._H @ w)

    def __call__(self, lr):
        w = self._w0.copy()
        losses = [self._loss(w)]
        with np.errstate(all="ignore"):      # far above the threshold w overflows: inf, nan
            for _ in range(self.steps):
                w = w - float(lr) * (self._H @ w)
                losses.append(self._loss(w))
        return np.array(losses)

    def __repr__(self):
        return f"TrainingRun({self._name}, {self.steps} steps)"


def _diverged(losses):
    """The rule the exercise states: the last loss is not finite, or larger than the first."""
    return not np.isfinite(losses[-1]) or losses[-1] > losses[0]


def _threshold(run, lo, hi, tol):
    """The threshold between lo (converges) and hi (diverges), by bisection to tol / 1000."""
    for _ in range(200):
        if hi - lo <= tol / 1000:
            break
        mid = (lo + hi) / 2
        if _diverged(run(mid)):
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


class _Threshold(np.ndarray):
    """The measured threshold (a 0-d array), carrying the case's tol, lo and hi."""

    tol = lo = hi = None


def _compare_threshold(expected, got):
    threshold = float(expected)
    tol, lo, hi = expected.tol, expected.lo, expected.hi
    value = _one_number(got)
    if value is None:
        return f"expected one learning rate, got {_show(got)}"
    if abs(value - threshold) <= tol:
        return None
    reason = (f"expected a learning rate within tol = {tol:.3g} of the threshold "
              f"{threshold:.6g}, got {value:.6g}")
    if np.isclose(value, lo) or np.isclose(value, hi):
        return reason + ": that is an end of the interval; did your search move at all?"
    if not np.isfinite(value) or not lo <= value <= hi:
        return reason + ": the threshold lies between lo and hi"
    if value < threshold:
        return reason + (": runs a little above your answer still converge by the rule (their "
                         "last loss is not larger than the first)")
    return reason + (": runs a little below your answer already diverge by the rule (their last "
                     "loss is larger than the first, or inf or nan)")


def _threshold_reference(run, lo, hi, tol):
    found = np.array(_threshold(run, lo, hi, tol)).view(_Threshold)
    found.tol, found.lo, found.hi = tol, lo, hi
    return found


def _rot(lam, angle):
    c, s = np.cos(angle), np.sin(angle)
    R = np.array([[c, -s], [s, c]])
    H = R @ np.diag(lam) @ R.T
    return (H + H.T) / 2


def _threshold_case(rng):
    d = int(rng.integers(1, 5))
    A = rng.standard_normal((d, d))
    H = A @ A.T + 0.2 * np.eye(d)
    H = (H + H.T) / 2
    edge = 2 / np.linalg.eigvalsh(H).max()
    run = TrainingRun(H, rng.standard_normal(d), int(rng.integers(20, 80)),
                      f"hidden quadratic, seed-drawn, d = {d}")
    lo, hi = float(0.3 * edge), float(rng.uniform(1.5, 4.0) * edge)
    return run, lo, hi, float((hi - lo) * 1e-4)


_VALLEY = _rot([1.0, 20.0], np.pi / 6)      # the chapter's valley: 2 / lam_max = 0.1

register(Exercise(
    id="gradient_descent.divergence_threshold",
    kind="experiment",
    reference=_threshold_reference,
    fixed=[
        (TrainingRun([[4.0]], [1.0], 50, "one weight"), 0.1, 1.0, 1e-4),
        (TrainingRun(_VALLEY, [-1.5, 1.0], 40, "the valley"), 0.01, 0.2, 1e-5),
        # a start that barely touches the steep direction: the run needs a learning rate
        # well above 2 / lam_max before its loss at the end exceeds the first
        (TrainingRun(np.diag([1.0, 20.0]), [1.0, 1e-3], 30, "a start on the flat axis"),
         0.01, 0.3, 1e-5),
        # runs far above the threshold overflow: losses end in inf or nan, which count as
        # diverged
        (TrainingRun(_VALLEY, [-1.5, 1.0], 300, "the valley, long"), 0.01, 50.0, 1e-5),
    ],
    random=_threshold_case,
    arg_names=("run", "lo", "hi", "tol"),
    compare=_compare_threshold,
))
