"""course_nn.lab.multiseed: K models trained at once give, bit for bit, the runs that
``train.fit`` and ``generalization.train_setup`` give one at a time."""

import numpy as np
import pytest

import course_nn as nn
from course_nn.data import iterate_minibatches, load_digits, train_val_test_split
from course_nn.lab.generalization import BASELINE, digits_task, make_mlp, train_setup
from course_nn.lab.multiseed import ManyHistory, fit_many, train_setups
from course_nn.train import fit


@pytest.fixture(scope="module")
def tasks():
    return [digits_task(60, label_noise=0.2, seed=s) for s in (0, 1)]


def same_run(a, b):
    """Histories and parameters identical to the last bit."""
    for name in ("train_loss", "train_acc", "val_loss", "val_acc"):
        assert getattr(a.history, name) == getattr(b.history, name), name
    assert a.history.best_epoch == b.history.best_epoch
    assert a.history.stopped_early == b.history.stopped_early
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    assert a.train == b.train and a.val == b.val and a.test == b.test


@pytest.mark.parametrize("changes", [
    {}, {"l2": 1e-3}, {"l1": 1e-4, "l2": 1e-3}, {"dropout": 0.5}, {"batchnorm": True},
    {"augment": 0.5}, {"patience": 2, "epochs": 30}, {"momentum": 0.0, "lr": 0.2},
], ids=lambda c: ",".join(c) or "baseline")
def test_train_setups_is_train_setup_bit_for_bit(tasks, changes):
    setup = BASELINE.but(**{"epochs": 4, "width": 32, **changes})
    many = train_setups(setup, tasks, [0, 1])
    for run, task, seed in zip(many, tasks, (0, 1)):
        same_run(run, train_setup(setup, task, seed))


def test_early_stopping_models_stop_at_their_own_epochs(tasks):
    setup = BASELINE.but(width=32, epochs=40, patience=2)
    many = train_setups(setup, tasks, [0, 1])
    assert all(r.history.stopped_early for r in many)
    assert many[0].history.epochs == many[0].history.best_epoch + 1 + 2


def test_fit_many_with_adam_is_fit(tasks):
    X, y = load_digits()
    splits = [train_val_test_split(X[:400], y[:400], rng=np.random.default_rng(s)) for s in (0, 1)]

    def model(seed):
        rng = np.random.default_rng(seed)
        return nn.Sequential(nn.Linear(64, 16, rng=rng, init=nn.init.he_normal), nn.ReLU(),
                             nn.Linear(16, 10, rng=rng))

    alone = [model(s) for s in (1, 11)]
    hist_alone = [fit(m, nn.CrossEntropyLoss(), nn.optim.Adam(m.parameters(), lr=3e-3), sp[0], sp[1],
                      epochs=3, batch_size=32, rng=np.random.default_rng(s), progress=False)
                  for m, sp, s in zip(alone, splits, (2, 12))]
    together = [model(s) for s in (1, 11)]
    hist = fit_many(together, [nn.optim.Adam(m.parameters(), lr=3e-3) for m in together],
                    [sp[0] for sp in splits], [sp[1] for sp in splits], epochs=3, batch_size=32,
                    rngs=[np.random.default_rng(s) for s in (2, 12)])
    for a, b, h_a, h_b in zip(alone, together, hist_alone, hist):
        assert isinstance(h_b, ManyHistory) and h_b.epochs == 3
        assert h_a.val_loss == h_b.val_loss and h_a.train_acc == h_b.train_acc
        for p, q in zip(a.parameters(), b.parameters()):
            np.testing.assert_array_equal(p.data, q.data)


def test_proximal_l1_is_the_hand_written_soft_threshold_step(tasks):
    eta, lam = 0.5, 3e-3
    runs = train_setups(BASELINE.but(width=32, epochs=5, lr=eta, momentum=0.0), tasks, [0, 1],
                        record_train=False, record_val=False, prox_l1=lam)
    net = make_mlp(32, rng=np.random.default_rng(0))
    ce, opt = nn.CrossEntropyLoss(), nn.optim.SGD(net.parameters(), lr=eta)
    rng = np.random.default_rng([0, 1])
    for _ in range(5):
        for xb, yb in iterate_minibatches(*tasks[0].train, 32, rng=rng):
            opt.zero_grad()
            ce(net(xb), yb)
            net.backward(ce.backward())
            opt.step()
            for p in nn.weights_only(net):
                p.data[...] = np.sign(p.data) * np.maximum(np.abs(p.data) - eta * lam, 0.0)
    for p, q in zip(net.parameters(), runs[0].model.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    for r in runs:
        assert np.mean(np.concatenate([p.data.ravel() for p in nn.weights_only(r.model)]) == 0) > 0.05
        assert r.history.epochs == 5 and r.history.train_loss == [] and r.history.val_loss == []


def test_fit_many_refuses_what_it_cannot_train(tasks):
    a, b = make_mlp(32, rng=np.random.default_rng(0)), make_mlp(16, rng=np.random.default_rng(1))
    common = dict(epochs=1, batch_size=32, rngs=[np.random.default_rng(0)] * 2)
    trains = [tasks[0].train] * 2
    with pytest.raises(ValueError, match="architecture"):
        fit_many([a, b], [nn.optim.SGD(m.parameters(), lr=0.1) for m in (a, b)], trains, **common)
    c = make_mlp(32, rng=np.random.default_rng(2))
    with pytest.raises(ValueError, match="hyperparameters"):
        fit_many([a, c], [nn.optim.SGD(a.parameters(), lr=0.1), nn.optim.SGD(c.parameters(), lr=0.2)],
                 trains, **common)
    with pytest.raises(ValueError, match="weight_decay"):
        fit_many([a, c], [nn.optim.SGD(m.parameters(), lr=0.1, weight_decay=1e-3) for m in (a, c)],
                 trains, **common)
    with pytest.raises(TypeError, match="SGD or Adam"):
        fit_many([a, c], [nn.optim.RMSProp(m.parameters(), lr=0.1) for m in (a, c)], trains, **common)
    conv = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    with pytest.raises(TypeError, match="not supported"):
        fit_many([conv], [nn.optim.SGD(conv.parameters(), lr=0.1)], trains[:1], epochs=1,
                 batch_size=32, rngs=[np.random.default_rng(0)])
    with pytest.raises(ValueError, match="patience"):
        fit_many([a, c], [nn.optim.SGD(m.parameters(), lr=0.1) for m in (a, c)], trains, patience=2,
                 **common)


@pytest.mark.parametrize("batchnorm", [False, True])
def test_fit_many_with_tanh_and_residual_blocks_is_fit(batchnorm):
    """Tanh layers, nested Sequentials and Residual blocks (x + block(x); backward g +
    block.backward(g)) train bit for bit as fit trains each model, batch-norm statistics too."""
    X, y = load_digits()
    splits = [train_val_test_split(X[:500], y[:500], rng=np.random.default_rng(s))[:2] for s in (0, 1)]

    def model(seed):
        r = np.random.default_rng(seed)
        blocks = [nn.Residual(nn.Sequential(nn.Linear(16, 16, rng=r), nn.Tanh())) for _ in range(3)]
        inner = [nn.Linear(16, 16, rng=r)]
        if batchnorm:
            inner += [nn.BatchNorm1d(16), nn.ReLU()]
        return nn.Sequential(nn.Linear(64, 16, rng=r), nn.Tanh(), *blocks,
                             nn.Sequential(nn.Linear(16, 16, rng=r), nn.Tanh()),   # a plain nested block
                             nn.Residual(nn.Sequential(*inner)), nn.Linear(16, 10, rng=r))

    alone = [model(s) for s in (3, 4)]
    hist_alone = [fit(m, nn.CrossEntropyLoss(), nn.optim.SGD(m.parameters(), lr=0.05, momentum=0.9),
                      sp[0], sp[1], epochs=3, batch_size=32, rng=np.random.default_rng(s), progress=False)
                  for m, sp, s in zip(alone, splits, (5, 6))]
    together = [model(s) for s in (3, 4)]
    hist = fit_many(together, [nn.optim.SGD(m.parameters(), lr=0.05, momentum=0.9) for m in together],
                    [sp[0] for sp in splits], [sp[1] for sp in splits], epochs=3, batch_size=32,
                    rngs=[np.random.default_rng(s) for s in (5, 6)])
    for a, b, h_a, h_b in zip(alone, together, hist_alone, hist):
        assert h_a.val_loss == h_b.val_loss and h_a.train_loss == h_b.train_loss
        for p, q in zip(a.parameters(), b.parameters()):
            np.testing.assert_array_equal(p.data, q.data)
        if batchnorm:
            bn_a, bn_b = a.layers[-2].block[1], b.layers[-2].block[1]
            np.testing.assert_array_equal(bn_a.running_mean, bn_b.running_mean)
            np.testing.assert_array_equal(bn_a.running_var, bn_b.running_var)
