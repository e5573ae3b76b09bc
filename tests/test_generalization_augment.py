"""generalization.train_augmented: chapter 12's runs with rotation, scaling and cropping."""

import numpy as np
import pytest

from course_nn.augment import random_augment
from course_nn.lab.generalization import (
    BASELINE,
    ROTATE_SCALE_CROP,
    digits_task,
    make_mlp,
    train_augmented,
)
from course_nn.lab.multiseed import train_setups
from course_nn.losses import CrossEntropyLoss
from course_nn.optim import SGD
from course_nn.train import evaluate, fit

SHORT = BASELINE.but(epochs=4)


@pytest.fixture(scope="module")
def tasks():
    return [digits_task(40, seed=s) for s in (0, 1)]


def _one_run_by_hand(task, seed, prob, epochs):
    """The definition for one run: fit one epoch at a time on freshly augmented images."""
    model = make_mlp(128, 2, rng=np.random.default_rng(seed))
    opt = SGD(model.parameters(), lr=0.05, momentum=0.9)
    shuffle, aug = np.random.default_rng([seed, 1]), np.random.default_rng([seed, 2])
    X, y = task.train
    for _ in range(epochs):
        moved = random_augment(X, rng=aug, **ROTATE_SCALE_CROP).images
        keep = aug.random(len(X)) >= prob
        moved[keep] = X[keep]
        fit(model, CrossEntropyLoss(), opt, (moved, y), epochs=1, batch_size=32, rng=shuffle,
            progress=False)
    return model


def test_each_run_is_the_one_run_definition(tasks):
    runs = train_augmented(SHORT, tasks, [0, 1], prob=0.5, **ROTATE_SCALE_CROP)
    for run, task, seed in zip(runs, tasks, (0, 1)):
        ref = _one_run_by_hand(task, seed, 0.5, SHORT.epochs)
        for p, q in zip(run.model.parameters(), ref.parameters()):
            np.testing.assert_allclose(p.data, q.data, rtol=1e-10, atol=1e-12)
        assert run.val == pytest.approx(evaluate(ref, CrossEntropyLoss(), *task.val), rel=1e-9)
        assert run.seed == seed and run.train[1] == evaluate(run.model, CrossEntropyLoss(), *task.train)[1]


def test_probability_zero_is_the_plain_recipe(tasks):
    plain = train_setups(SHORT, tasks, [0, 1], record_train=False, record_val=False)
    same = train_augmented(SHORT, tasks, [0, 1], prob=0.0, **ROTATE_SCALE_CROP)
    for a, b in zip(plain, same):
        for p, q in zip(a.model.parameters(), b.model.parameters()):
            np.testing.assert_array_equal(p.data, q.data)
    moved = train_augmented(SHORT, tasks, [0, 1], prob=1.0, **ROTATE_SCALE_CROP)
    assert not np.array_equal(moved[0].model[0].weight.data, plain[0].model[0].weight.data)
    again = train_augmented(SHORT, tasks, [0, 1], prob=1.0, **ROTATE_SCALE_CROP)
    np.testing.assert_array_equal(again[1].model[0].weight.data, moved[1].model[0].weight.data)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(setup=BASELINE.but(augment=0.5)), ValueError, "expected augment=0 and patience=None"),
    (dict(setup=BASELINE.but(patience=3)), ValueError, "expected augment=0 and patience=None"),
    (dict(setup="baseline"), TypeError, "expected a Setup"),
    (dict(seeds=[0]), ValueError, "one task per seed, got 2 tasks and 1 seeds"),
    (dict(prob=1.5), ValueError, "prob: expected a value <= 1"),
    (dict(prob=np.nan), ValueError, "prob: expected a finite number"),
    (dict(max_angle=-1.0), ValueError, "max_angle"),
    (dict(scale_range=(1.2, 0.8)), ValueError, "scale_range"),
    (dict(rotation=10), TypeError, "unexpected keyword argument 'rotation'"),
])
def test_errors_come_before_training(tasks, kwargs, error, match):
    args = dict(setup=SHORT, tasks=tasks, seeds=[0, 1], prob=0.5)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        train_augmented(args.pop("setup"), args.pop("tasks"), args.pop("seeds"), **args)
    with pytest.raises(TypeError, match="list of DigitsTask"):
        train_augmented(SHORT, tasks[0], [0], prob=0.5)
