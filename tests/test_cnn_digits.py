"""Chapter 14, independently of the notebook: the CNN recipe (course_nn.lab.exercises.cnn, the code
the chapter checks it builds identically) reaches at least 98 % test accuracy on the digits,
its shapes and parameter counts are as printed, and the split is chapter 11's."""

import time

import numpy as np
import pytest

import course_nn as nn
from course_nn.data import load_digits, train_val_test_split
from course_nn.lab.exercises import cnn as recipe
from course_nn.lab.exercises.training import digits_mlp
from course_nn.train import evaluate, fit, predict


@pytest.fixture(scope="module")
def trained():
    start = time.process_time()
    model, history, data = recipe.train_digits_cnn()
    return model, history, data, time.process_time() - start


def test_split_is_chapter_11s_split_of_the_same_images():
    train, val, test = recipe.digits_image_split()
    assert [p[0].shape for p in (train, val, test)] == [(1257, 1, 8, 8), (270, 1, 8, 8), (270, 1, 8, 8)]
    X, y = load_digits()
    flat = train_val_test_split(X, y, val=0.15, test=0.15, rng=np.random.default_rng(0))
    for a, b in zip((train, val, test), flat):
        np.testing.assert_array_equal(a[0].reshape(len(a[0]), -1), b[0])
        np.testing.assert_array_equal(a[1], b[1])


def test_recipe_architecture():
    model = recipe.digits_cnn(1)
    assert [type(m).__name__ for m in model] == ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU",
                                                 "MaxPool2d", "Flatten", "Linear", "ReLU", "Linear"]
    counts = [m.num_parameters() for m in model]
    assert counts == [160, 0, 0, 4640, 0, 0, 0, 8256, 0, 650]
    assert model.num_parameters() == 13706
    # weights are reproducible from the seed, and differ between seeds
    again = recipe.digits_cnn(1)
    assert all(np.array_equal(p.data, q.data) for p, q in zip(model.parameters(), again.parameters()))
    assert not np.array_equal(model[0].weight.data, recipe.digits_cnn(2)[0].weight.data)


def test_cnn_recipe_reaches_98_percent_test_accuracy(trained):
    model, history, (_, _, test), cpu_seconds = trained
    loss, acc = evaluate(model, nn.CrossEntropyLoss(), *test)
    assert history.epochs == 30
    assert acc >= 0.98, f"test accuracy {acc:.4f}"
    assert history.train_acc[-1] > 0.99 and history.val_acc[-1] >= 0.97
    assert loss < 0.1
    assert cpu_seconds < 60, f"training took {cpu_seconds:.0f} s of CPU time"


def test_cnn_is_robust_to_the_weight_seed():
    # a second seed (the chapter averages five): the 98 % is not one lucky initialization
    model, _, (_, _, test) = recipe.train_digits_cnn(seed=3)
    assert evaluate(model, nn.CrossEntropyLoss(), *test)[1] >= 0.98


def test_shuffled_pixels_mlp_equivalence():
    """The chapter's claim: an MLP trained on pixel-shuffled images, with its first-layer weight
    columns shuffled the same way, predicts exactly what the MLP on the original images does."""
    train, val, test = (tuple((X.reshape(len(X), -1), y)) for X, y in recipe.digits_image_split())
    perm = np.random.default_rng(4).permutation(64)

    def mlp():
        rng = np.random.default_rng(1)
        return nn.Sequential(nn.Linear(64, 32, rng=rng, init=nn.init.he_normal), nn.ReLU(),
                             nn.Linear(32, 10, rng=rng))

    plain, shuffled = mlp(), mlp()
    shuffled[0].weight.data[...] = shuffled[0].weight.data[:, perm]
    for net, p in ((plain, None), (shuffled, perm)):
        tr = train if p is None else (train[0][:, p], train[1])
        va = val if p is None else (val[0][:, p], val[1])
        with recipe.one_blas_thread():
            fit(net, nn.CrossEntropyLoss(), nn.optim.Adam(net.parameters(), lr=1e-3), tr, va, epochs=3,
                batch_size=32, rng=np.random.default_rng(2), progress=False)
    np.testing.assert_allclose(shuffled[0].weight.data, plain[0].weight.data[:, perm], atol=1e-10)
    np.testing.assert_array_equal(predict(shuffled, test[0][:, perm]).argmax(1),
                                  predict(plain, test[0]).argmax(1))


# --- the chapter's comparison at the recipe's full budget -------------------------------------
# The notebook compares 15 runs per network (5 seeds x 3 train/validation splits of the 1527
# non-test images) on validation data after 10 epochs (5 for the shuffled-pixel CNN), to fit its
# time budget. Here the same runs train for the recipe's 30 epochs: the conclusions must hold
# there too, with a larger lead for the CNN.

SPLITS, SEEDS = (0, 1, 2), (1, 2, 3, 4, 5)


@pytest.fixture(scope="module")
def full_budget_errors():
    from course_nn.lab.stacked import fit_stacked, predict_stacked

    train, val, _ = recipe.digits_image_split()
    pool_X, pool_y = np.concatenate([train[0], val[0]]), np.concatenate([train[1], val[1]])
    parts = {}
    for k in SPLITS:
        order = np.arange(len(pool_y)) if k == 0 else np.random.default_rng(k).permutation(len(pool_y))
        tr, va = order[:1257], order[1257:]
        parts[k] = ((pool_X[tr], pool_y[tr]), (pool_X[va], pool_y[va]))
    runs = [(k, s) for k in SPLITS for s in SEEDS]
    perm = np.random.default_rng(4).permutation(64)
    transforms = {"cnn": lambda X: X, "shuffled": lambda X: X.reshape(len(X), -1)[:, perm].reshape(X.shape),
                  "mlp128": lambda X: X.reshape(len(X), -1), "mlp256": lambda X: X.reshape(len(X), -1)}
    makers = {"cnn": recipe.digits_cnn, "shuffled": recipe.digits_cnn,
              "mlp128": lambda s: digits_mlp(128, s), "mlp256": lambda s: digits_mlp(256, s)}
    labels = np.stack([parts[k][1][1] for k, s in runs])
    errors = {}
    with recipe.one_blas_thread():
        for name, make in makers.items():
            tf = transforms[name]
            models = [make(s) for k, s in runs]
            fit_stacked(models, [(tf(parts[k][0][0]), parts[k][0][1]) for k, s in runs], epochs=30,
                        batch_size=32, rngs=[np.random.default_rng([k, s]) for k, s in runs],
                        optimizer=lambda p: nn.optim.Adam(p, lr=1e-3))
            pred = predict_stacked(models, np.stack([tf(parts[k][1][0]) for k, s in runs]), per_model=True)
            errors[name] = (pred.argmax(axis=2) != labels).sum(axis=1).reshape(len(SPLITS), len(SEEDS))
    return errors


def test_after_30_epochs_the_cnn_beats_both_mlps_on_every_split(full_budget_errors):
    e = full_budget_errors
    for mlp in ("mlp128", "mlp256"):
        assert np.all(e["cnn"].mean(axis=1) < e[mlp].mean(axis=1)), (e["cnn"], e[mlp])
    assert e["cnn"].mean() < 0.7 * e["mlp128"].mean()          # a larger lead than after 10 epochs
    assert e["cnn"].mean() < 0.8 * e["mlp256"].mean()


def test_after_30_epochs_shuffled_pixels_cost_the_cnn_its_lead(full_budget_errors):
    e = full_budget_errors
    assert np.all(e["shuffled"].mean(axis=1) > e["cnn"].mean(axis=1))
    assert e["shuffled"].mean() > 0.9 * e["mlp128"].mean()     # no better than the MLP, roughly
