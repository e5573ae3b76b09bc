"""Chapter 12 (generalization and regularization): the chapter's claims, pinned independently
of book/12_generalization.ipynb but through the same code (course_nn.lab.generalization and
course_nn.lab.multiseed, the same five runs: split r and seed r, r = 0..4, and the same recipes)."""

import numpy as np
import pytest

import course_nn as nn
from course_nn.activations import softmax
from course_nn.lab.generalization import (
    BASELINE,
    Setup,
    corrupt_labels,
    cross_val_mse,
    digits_task,
    fit_polynomial,
    kfold_indices,
    make_curve_data,
    make_mlp,
    one_blas_thread,
    polynomial_features,
    polynomial_mse,
    train_setup,
)
from course_nn.lab.multiseed import train_setups
from course_nn.train import accuracy, evaluate, fit

RUNS = list(range(5))


@pytest.fixture(scope="module")
def tasks():
    return {"clean": digits_task(200), "noisy": digits_task(200, label_noise=0.2)}


@pytest.fixture(scope="module")
def runs():
    """The five runs of each recipe the chapter's claims rest on (a few seconds in all):
    {(task, recipe): [Run, ...]}, run r on split r with seed r."""
    recipes = {
        "none": BASELINE,
        "L2 clean": BASELINE.but(l2=1e-3),
        "L2 noisy": BASELINE.but(l2=1e-2),
        "dropout": BASELINE.but(dropout=0.5),
        "early stopping": BASELINE.but(patience=10),
    }
    out = {}
    for task, noise in (("clean", 0.0), ("noisy", 0.2)):
        split_tasks = [digits_task(200, label_noise=noise, seed=r) for r in RUNS]
        for name, setup in recipes.items():
            if name.startswith("L2") and not name.endswith(task):
                continue
            record = name in ("none", "dropout", "early stopping")
            out[task, name.split()[0]] = train_setups(setup, split_tasks, RUNS, record_train=record,
                                                      record_val=record)
    return out


def val_mean(rs):
    return np.mean([r.val[1] for r in rs])


# --- the L2 update ------------------------------------------------------------------------

def test_l2_step_multiplies_weights_by_one_minus_two_eta_lambda():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 5)), rng.integers(0, 3, 8)
    eta, lam = 0.1, 0.05
    results = []
    for penalty, wd in ((nn.L2Penalty(lam), 0.0), (None, 2 * lam)):
        layer = nn.Linear(5, 3, rng=np.random.default_rng(1))
        opt = nn.optim.SGD(layer.parameters(), lr=eta, weight_decay=wd)
        w0 = layer.weight.data.copy()
        ce = nn.CrossEntropyLoss()
        ce(layer(x), y)
        layer.backward(ce.backward())
        g = layer.weight.grad.copy()
        if penalty is not None:
            penalty.backward([layer.weight])
        opt.step()
        results.append(layer.weight.data.copy())
        np.testing.assert_allclose(layer.weight.data, (1 - 2 * eta * lam) * w0 - eta * g, rtol=1e-14, atol=0)
    assert np.array_equal(*results)          # L2Penalty(lam) is SGD's weight_decay = 2 lam


def test_weights_of_blank_pixels_decay_geometrically(tasks):
    X, y = tasks["clean"].train
    dead = np.flatnonzero(np.all(X == 0, axis=0))
    assert dead.tolist() == [0, 8, 16, 24, 32, 39, 56]
    net = make_mlp(rng=np.random.default_rng(0))
    w0 = net[0].weight.data[:, dead].copy()
    eta, lam = 0.05, 1e-3
    with one_blas_thread():
        fit(net, nn.CrossEntropyLoss(), nn.optim.SGD(net.parameters(), lr=eta), (X, y), epochs=10,
            batch_size=32, rng=np.random.default_rng(1), penalty=nn.L2Penalty(lam),
            penalty_params=nn.weights_only(net), progress=False)
    steps = 10 * 7
    np.testing.assert_allclose(net[0].weight.data[:, dead] / w0, (1 - 2 * eta * lam) ** steps, rtol=1e-12)


def test_penalties_skip_biases():
    net = make_mlp(batchnorm=True, rng=np.random.default_rng(0))
    shapes = [p.shape for p in nn.weights_only(net)]
    assert shapes == [(128, 64), (128, 128), (10, 128)]


# --- the overfitting experiment -------------------------------------------------------------

def test_tasks(tasks):
    clean, noisy = tasks["clean"], tasks["noisy"]
    assert [len(s[0]) for s in (clean.train, clean.val, clean.test)] == [200, 359, 359]
    assert np.array_equal(clean.train[0], noisy.train[0]) and np.array_equal(clean.val[1], noisy.val[1])
    assert np.sum(clean.train[1] != noisy.train[1]) == 40


def test_unregularized_network_overfits(runs):
    for clean, noisy in zip(runs["clean", "none"], runs["noisy", "none"]):
        assert clean.train[1] == 1.0 and noisy.train[1] == 1.0
        assert clean.train[1] - clean.val[1] > 0.05          # a clear gap even with clean labels
        assert noisy.train[1] - noisy.val[1] > 0.15          # a large one with 20% wrong labels
        assert clean.val[0] > 50 * clean.train[0]
        h = clean.history
        assert h.val_loss[-1] > 1.05 * min(h.val_loss)      # validation loss turns upward
        h = noisy.history
        assert h.val_acc[h.best_epoch] - h.val_acc[-1] > 0.02   # memorizing wrong labels costs accuracy


def test_run_zero_is_train_setup(runs, tasks):
    one = train_setup(BASELINE, tasks["noisy"], seed=0)
    assert one.history.val_loss == runs["noisy", "none"][0].history.val_loss


@pytest.mark.parametrize("name", ["L2", "dropout", "early"])
def test_regularizers_help_on_noisy_labels(runs, name):
    base, reg = runs["noisy", "none"], runs["noisy", name]
    assert val_mean(reg) > val_mean(base)
    gap = np.mean([r.train[1] - r.val[1] for r in reg])
    assert gap < np.mean([r.train[1] - r.val[1] for r in base]) / 3
    assert np.mean([r.val[0] for r in reg]) < np.mean([r.val[0] for r in base])


def test_clean_labels_small_effects(runs):
    base = runs["clean", "none"]
    for name in ("L2", "dropout", "early"):
        assert abs(val_mean(runs["clean", name]) - val_mean(base)) < 0.03
    assert all(reg.val[0] < b.val[0] for reg, b in zip(runs["clean", "L2"], base))


def test_early_stopping_restores_the_best_epoch(runs):
    for run, base, task in zip(runs["clean", "early"], runs["clean", "none"], RUNS):
        h = run.history
        assert h.stopped_early and h.epochs == h.best_epoch + 1 + 10
        restored = evaluate(run.model, nn.CrossEntropyLoss(), *digits_task(200, seed=task).val)[0]
        assert restored == pytest.approx(h.val_loss[h.best_epoch])
        # the first epochs are the baseline's: same seed, same code path
        assert h.val_loss == base.history.val_loss[:h.epochs]


def test_dropout_fits_more_slowly_and_the_full_network_approximates_the_ensemble(runs):
    def epochs_to(history, threshold=0.05):
        return next((i + 1 for i, v in enumerate(history.train_loss) if v < threshold), 101)

    for drop, base, r in zip(runs["clean", "dropout"], runs["clean", "none"], RUNS):
        assert epochs_to(drop.history) > epochs_to(base.history)
        net = drop.model
        X, y = digits_task(200, seed=r).val
        with one_blas_thread():
            net.eval()
            p_full = softmax(net(X))
            net.train()
            subs = [softmax(net(X)) for _ in range(30)]
            net.eval()
        sub_acc = [accuracy(p, y) for p in subs]
        p_avg = np.mean(subs, axis=0)
        assert accuracy(p_full, y) > max(sub_acc) and accuracy(p_avg, y) > max(sub_acc)
        assert np.mean(p_full.argmax(1) == p_avg.argmax(1)) > 0.9


def test_setup_defaults_are_the_chapter_recipe():
    assert BASELINE == Setup(name="no regularization", width=128, hidden_layers=2, epochs=100, lr=0.05,
                             momentum=0.9, batch_size=32)
    with pytest.raises(ValueError, match="not combined"):
        train_setup(BASELINE.but(augment=0.5, patience=3, epochs=1), digits_task(20), 0)


def test_augmented_training_runs_and_records(tasks):
    run = train_setup(BASELINE.but(augment=0.5, epochs=3), tasks["clean"], seed=0)
    assert run.history.epochs == 3 and len(run.history.val_acc) == 3
    assert run.history.best_epoch == int(np.argmin(run.history.val_loss))


# --- the polynomial testbed --------------------------------------------------------------

@pytest.fixture(scope="module")
def curve():
    rng = np.random.default_rng(3)
    return make_curve_data(20, rng=rng), make_curve_data(500, rng=rng)


def test_capacity_sweep_is_u_shaped(curve):
    (x, y), (xv, yv) = curve
    errs = np.array([[polynomial_mse(p, x, y), polynomial_mse(p, xv, yv)]
                     for p in (fit_polynomial(x, y, d) for d in range(1, 15))])
    assert np.all(np.diff(errs[:, 0]) <= 1e-12)
    best = int(np.argmin(errs[:, 1])) + 1
    assert best == 3
    assert errs[0, 1] > 2 * errs[best - 1, 1] and errs[11, 1] > 1e4 * errs[best - 1, 1]


def test_cross_validated_ridge(curve):
    (x, y), (xv, yv) = curve
    folds = kfold_indices(20, 5, rng=np.random.default_rng(0))
    assert sorted(np.concatenate([va for _, va in folds]).tolist()) == list(range(20))
    lambdas = np.logspace(-7, 1, 17)
    lam = lambdas[np.argmin([cross_val_mse(x, y, 12, lam, folds) for lam in lambdas])]
    assert lam == pytest.approx(10 ** -1.5)
    ridge = fit_polynomial(x, y, 12, lam)
    assert polynomial_mse(ridge, xv, yv) < polynomial_mse(fit_polynomial(x, y, 12), xv, yv) / 1000
    # the closed form is the minimizer of course_nn's penalized loss: zero gradient
    mse = nn.MSELoss()
    mse(ridge(polynomial_features(x, 12)), y.reshape(-1, 1))
    ridge.zero_grad()
    ridge.backward(mse.backward())
    nn.L2Penalty(lam).backward([ridge.weight])
    assert np.abs(ridge.weight.grad).max() < 1e-8 and np.abs(ridge.bias.grad).max() < 1e-8


def test_helpers_validate():
    with pytest.raises(ValueError, match="k <= n"):
        kfold_indices(3, 5, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="exceeds"):
        digits_task(5000)
    y = np.arange(50) % 10
    z = corrupt_labels(y, 0.3, rng=np.random.default_rng(0))
    assert np.sum(z != y) == 15 and z.min() >= 0 and z.max() <= 9


# --- layers as the chapter shows them -------------------------------------------------------

def test_inverted_dropout_keeps_the_mean():
    x = np.full((1000, 100), 3.0)
    for p in (0.2, 0.5, 0.8):
        y = nn.Dropout(p, rng=np.random.default_rng(0))(x)
        assert abs(np.mean(y == 0) - p) < 0.01 and abs(y.mean() - 3) < 0.05
        np.testing.assert_allclose(y[y != 0], 3 / (1 - p))
    layer = nn.Dropout(0.5, rng=np.random.default_rng(0)).eval()
    assert np.array_equal(layer(x), x)


def test_batchnorm_formula_and_modes():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)) * [1, 2, 3, 4, 5] + [0, 1, -1, 2, 5]
    bn = nn.BatchNorm1d(5)
    out = bn(x)
    np.testing.assert_allclose(out, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-12, atol=1e-12)
    a = bn(np.concatenate([x[:1], x[1:32]]))[0]
    b = bn(np.concatenate([x[:1], x[32:63]]))[0]
    assert not np.allclose(a, b)
    bn.eval()
    assert np.array_equal(bn(np.concatenate([x[:1], x[1:32]]))[0], bn(x[:1])[0])


def test_selecting_the_best_of_many_random_classifiers_is_luck():
    rng = np.random.default_rng(11)
    X_small, y_small = rng.standard_normal((50, 10)), rng.integers(0, 2, 50)
    X_fresh, y_fresh = rng.standard_normal((5000, 10)), rng.integers(0, 2, 5000)
    models = [nn.Linear(10, 1, rng=rng) for _ in range(300)]
    acc = [accuracy(m(X_small), y_small) for m in models]
    best = models[int(np.argmax(acc))]
    assert max(acc) > 0.65 and abs(accuracy(best(X_fresh), y_fresh) - 0.5) < 0.03
