"""The digits recipe of book/11_training_digits.ipynb, re-run here independently of the notebook:
same seeds, same code path (train_val_test_split, a 64-128-10 ReLU network, Adam through
course_nn.train.fit). It must reach at least 97 % test accuracy, and the numbers the chapter
states about it (parameter count, iterations, the untrained loss, the confusion matrix's
bookkeeping) are pinned by arithmetic."""

import math

import numpy as np
import pytest

import course_nn as nn
from course_nn import metrics
from course_nn.data import iterate_minibatches, load_digits, train_val_test_split
from course_nn.lab.exercises.training import digits_mlp
from course_nn.train import accuracy, evaluate, fit, predict

SPLIT_SEED, WEIGHT_SEED, SHUFFLE_SEED = 0, 1, 2


@pytest.fixture(scope="module")
def data():
    X, y = load_digits()
    return train_val_test_split(X, y, val=0.15, test=0.15, rng=np.random.default_rng(SPLIT_SEED))


@pytest.fixture(scope="module")
def trained(data):
    train, val, _ = data
    model = digits_mlp()
    history = fit(model, nn.CrossEntropyLoss(), nn.optim.Adam(model.parameters(), lr=1e-3),
                  train, val, epochs=30, batch_size=32, rng=np.random.default_rng(SHUFFLE_SEED),
                  progress=False)
    return model, history


def test_split_sizes(data):
    assert [len(part[1]) for part in data] == [1257, 270, 270]
    X, y = load_digits()
    all_y = np.concatenate([part[1] for part in data])
    np.testing.assert_array_equal(np.bincount(all_y), np.bincount(y))  # every image used once
    all_X = np.concatenate([part[0] for part in data])
    assert np.isclose(all_X.sum(), X.sum())


def test_recipe_reaches_97_percent_on_the_test_set(data, trained):
    model, history = trained
    test = data[2]
    test_acc = accuracy(predict(model, test[0]), test[1])
    assert test_acc >= 0.97, f"test accuracy {test_acc:.4f}"
    assert history.epochs == 30
    assert history.train_loss[-1] < history.train_loss[0] / 10
    assert history.val_acc[-1] >= 0.95


def test_recipe_is_reproducible(data, trained):
    model, _ = trained
    train, val, _ = data
    again = digits_mlp()
    fit(again, nn.CrossEntropyLoss(), nn.optim.Adam(again.parameters(), lr=1e-3), train, val,
        epochs=30, batch_size=32, rng=np.random.default_rng(SHUFFLE_SEED), progress=False)
    for p, q in zip(model.parameters(), again.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_confusion_matrix_of_the_recipe(data, trained):
    model, _ = trained
    test = data[2]
    pred = predict(model, test[0]).argmax(axis=1)
    cm = metrics.confusion_matrix(test[1], pred, 10)
    assert cm.sum() == 270
    np.testing.assert_array_equal(cm.sum(axis=1), np.bincount(test[1], minlength=10))
    assert np.trace(cm) == np.sum(pred == test[1])
    assert metrics.accuracy_from_confusion(cm) == pytest.approx(accuracy(predict(model, test[0]), test[1]))


def test_parameter_counts():
    assert digits_mlp().num_parameters() == 64 * 128 + 128 + 128 * 10 + 10 == 9610
    note_002 = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    assert note_002.num_parameters() == 784 * 128 + 128 + 128 * 10 + 10 == 101770


def test_iterations_per_epoch(data):
    train = data[0]
    sizes = [len(b) for _, b in iterate_minibatches(*train, 32, rng=np.random.default_rng(0))]
    assert len(sizes) == math.ceil(1257 / 32) == 40
    assert sizes[-1] == 1257 - 39 * 32 == 9


def test_untrained_loss_is_close_to_ln_10(data):
    loss, acc = evaluate(digits_mlp(), nn.CrossEntropyLoss(), *data[0])
    assert abs(loss - math.log(10)) < 0.1
    assert acc < 0.25


def test_fit_is_the_hand_written_loop(data):
    train, val, _ = data
    loss_fn = nn.CrossEntropyLoss()
    by_hand, by_fit = digits_mlp(), digits_mlp()
    opt = nn.optim.Adam(by_hand.parameters(), lr=1e-3)
    for xb, yb in iterate_minibatches(*train, 32, rng=np.random.default_rng(SHUFFLE_SEED)):
        opt.zero_grad()
        loss_fn(by_hand(xb), yb)
        by_hand.backward(loss_fn.backward())
        opt.step()
    fit(by_fit, loss_fn, nn.optim.Adam(by_fit.parameters(), lr=1e-3), train, val, epochs=1,
        batch_size=32, rng=np.random.default_rng(SHUFFLE_SEED), progress=False)
    for p, q in zip(by_hand.parameters(), by_fit.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_cross_entropy_equals_one_hot_formula(data):
    from course_nn.activations import log_softmax

    train = data[0]
    scores = predict(digits_mlp(), train[0])
    expected = -(metrics.one_hot(train[1], 10) * log_softmax(scores, axis=1)).sum(axis=1).mean()
    assert nn.CrossEntropyLoss()(scores, train[1]) == pytest.approx(expected, rel=1e-12)


# --- the chapter's five runs (split r, weight seed 10 r + 1, shuffle seed 10 r + 2) ---------

RUNS = range(5)


@pytest.fixture(scope="module")
def five_runs():
    from course_nn.lab.multiseed import fit_many

    X, y = load_digits()
    splits = [train_val_test_split(X, y, val=0.15, test=0.15, rng=np.random.default_rng(r)) for r in RUNS]

    def train(lr):
        models = [digits_mlp(seed=10 * r + WEIGHT_SEED) for r in RUNS]
        histories = fit_many(models, [nn.optim.Adam(m.parameters(), lr=lr) for m in models],
                             [s[0] for s in splits], [s[1] for s in splits], epochs=30, batch_size=32,
                             rngs=[np.random.default_rng(10 * r + SHUFFLE_SEED) for r in RUNS])
        return models, histories

    return splits, {lr: train(lr) for lr in (1e-4, 3e-4, 1e-3)}


def test_run_zero_is_the_recipe(five_runs, trained):
    _, runs = five_runs
    assert runs[1e-3][1][0].val_loss == trained[1].val_loss


def test_recipe_over_five_runs(five_runs):
    splits, runs = five_runs
    models, histories = runs[1e-3]
    for model, history, split in zip(models, histories, splits):
        assert accuracy(predict(model, split[2][0]), split[2][1]) >= 0.95   # each test set once
        assert history.best_epoch + 1 >= 25                                  # mild overfitting
        gap = [history.val_loss[e] - history.train_loss[e] for e in (9, 29)]
        assert gap[1] > gap[0]


def test_small_learning_rates_are_behind_in_every_run(five_runs):
    _, runs = five_runs
    acc = {lr: np.array([h.val_acc[-1] for h in runs[lr][1]]) for lr in runs}
    assert np.all(acc[1e-4] < acc[3e-4]) and np.all(acc[3e-4] < acc[1e-3])
