"""Issue 11, the helpers: metrics, sequences, gradient checks, data, augmentation, surfaces,
generalization, diagrams, autograd, the playground and the explorers fail loudly on bad
input (a clear error naming the argument), never hang, never allocate out of proportion, and
leave no state changed when they fail."""

import re

import numpy as np
import pytest

import course_nn as cn
from course_nn import augment as A
from course_nn import data, metrics
from course_nn._validate import ALLOCATION_LIMIT_BYTES, as_array, as_real_array, check_allocation
from course_nn.autograd import Value
from course_nn.gradcheck import (
    check_function_gradient,
    check_loss_gradient,
    check_module_gradients,
    gradient_report,
    numerical_gradient,
    numerical_vjp,
    rel_error,
)
from course_nn.lab import diagrams as D
from course_nn.lab import generalization as Gz
from course_nn.lab import sequences as S
from course_nn.lab import surfaces as Sf
from course_nn.lab.explorers import activations as Ax
from course_nn.lab.explorers import initialization as Ix
from course_nn.lab.explorers import kernels as Kx
from course_nn.lab.explorers import losses as Lx
from course_nn.lab.explorers import neuron as N
from course_nn.lab.explorers import optimizers as Ox
from course_nn.lab.explorers import rnn as Rx
from course_nn.lab.playground import Playground


def esc(text):
    return re.escape(text)


def rng(seed=0):
    return np.random.default_rng(seed)


# ------------------------------------------------------------------------- shared helpers

def test_check_allocation_refuses_before_allocating():
    assert check_allocation((10, 10), np.float64, "x") == 800
    with pytest.raises(ValueError, match=esc("one_hot: this would allocate 26.8 GiB for shape "
                                             "(60000, 60000) of float64; expected at most 2 GiB")):
        check_allocation((60000, 60000), np.float64, "one_hot")
    assert ALLOCATION_LIMIT_BYTES == 2 * 1024 ** 3


def test_ragged_lists_name_the_argument():
    with pytest.raises(ValueError, match="x: expected a rectangular array.*ragged"):
        as_array([[1.0, 2.0], [3.0]], "x")
    with pytest.raises(TypeError, match="x: expected real numbers, got dtype bool"):
        as_real_array([True], "x")
    assert as_real_array([1, 2], "x").dtype == np.float64


# -------------------------------------------------------------------------------- metrics

def test_one_hot_allocates_only_the_result():
    out = metrics.one_hot([0, 1], 60000)          # was np.eye(60000): 26.8 GiB
    assert out.shape == (2, 60000) and out.sum() == 2 and out[1, 1] == 1
    with pytest.raises(ValueError, match="one_hot: this would allocate"):
        metrics.one_hot(np.zeros(100_000, dtype=int), 10**5)
    with pytest.raises(ValueError, match="one_hot: this would allocate"):
        S.one_hot(np.zeros((1000, 1000), dtype=int), 10**3)


@pytest.mark.parametrize("labels,error,match", [
    (np.array([True, False]), TypeError, "integer class labels, got dtype bool"),
    (np.array([0.5, 1.0]), TypeError, "non-integer value 0.5"),
    (np.array([np.nan, 1.0]), ValueError, "expected finite class labels"),
    (np.array([1e300]), ValueError, "below 2\\*\\*53"),
    (np.array(["a"]), TypeError, "integer class labels, got dtype <U1"),
    ([[0, 1], [2]], ValueError, "labels: expected a rectangular array"),
    (np.array(3), ValueError, "1-D array of class labels, got shape ()"),
    (np.array([1 + 0j]), TypeError, "integer class labels, got dtype complex128"),
])
def test_one_hot_label_checks(labels, error, match):
    with pytest.raises(error, match=match):
        metrics.one_hot(labels, 3)


@pytest.mark.parametrize("n", [0, -1, 2.0, True, None])
def test_one_hot_n_classes_checks(n):
    with pytest.raises((TypeError, ValueError), match="n_classes"):
        metrics.one_hot([0], n)


def test_confusion_matrix_sizes_and_allocation():
    with pytest.raises(ValueError, match=r"confusion_matrix \(n_classes = 1 \+ the largest label "
                                         r"= 1000000001\): this would allocate"):
        metrics.confusion_matrix([0, 10**9], [0, 1])
    with pytest.raises(ValueError, match="this would allocate"):
        metrics.confusion_matrix([0], [0], n_classes=60000)
    with pytest.raises(ValueError, match="cannot be inferred from empty labels"):
        metrics.confusion_matrix([], [])
    assert metrics.confusion_matrix(np.array([], dtype=int), np.array([], dtype=int), 2).sum() == 0
    np.testing.assert_array_equal(metrics.confusion_matrix([1.0, 0.0], [1, 1]), [[0, 1], [0, 1]])


@pytest.mark.parametrize("cm,error,match", [
    (np.ones((2, 3), dtype=int), ValueError, "square"),
    (np.ones(3, dtype=int), ValueError, "square"),
    (np.zeros((0, 0), dtype=int), ValueError, "square"),
    (np.array([[1, -1], [0, 2]]), ValueError, "counts >= 0, got -1"),
    (np.array([[0.5, 0.5], [0.0, 1.0]]), TypeError, "integer counts.*non-integer value 0.5"),
    (np.array([[np.nan, 1.0], [0.0, 1.0]]), ValueError, "finite counts"),
    (np.array([[True, False], [False, True]]), TypeError, "integer counts, got dtype bool"),
    (np.array([["a", "b"], ["c", "d"]]), TypeError, "integer counts"),
])
@pytest.mark.parametrize("fn", [metrics.per_class_accuracy, metrics.per_class_precision,
                                metrics.accuracy_from_confusion, metrics.top_confusions])
def test_confusion_matrix_readers_check_the_matrix(fn, cm, error, match):
    with pytest.raises(error, match=match):
        fn(cm)


def test_confusion_readers_edge_cases():
    cm = np.array([[3, 1], [2, 4]], dtype=np.uint8)
    assert metrics.top_confusions(cm, k=1) == [(1, 0, 2)]       # uint counts are not negated
    assert metrics.top_confusions(cm.astype(float), k=2) == [(1, 0, 2), (0, 1, 1)]
    with pytest.raises(ValueError, match="at least one sample"):
        metrics.accuracy_from_confusion(np.zeros((2, 2), dtype=int))
    for k, error in ((0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match="k: expected an integer"):
            metrics.top_confusions(cm, k=k)


# ------------------------------------------------------------------------------ sequences

@pytest.mark.parametrize("call,error,match", [
    (lambda: S.make_windows(np.zeros(10**5), 10**5 // 2), ValueError, "make_windows: this would allocate"),
    (lambda: S.make_windows(np.array(["a", "b"]), 1), TypeError, "expected numbers"),
    (lambda: S.pad_sequences([[1, 2]], 10**10), ValueError, "pad_sequences: this would allocate"),
    (lambda: S.pad_sequences([[1, 2], [[3]]], 3), ValueError, esc("seqs[1]: expected a 1-D sequence")),
    (lambda: S.pad_sequences([], 3), ValueError, "non-empty list"),
    (lambda: S.pad_sequences("abc", 3), ValueError, "non-empty list"),
    (lambda: S.pad_sequences([[1]], 3, value="x"), TypeError, "value: expected a real number"),
    (lambda: S.pad_sequences([np.array(["a"])], 3), TypeError, "expected numbers"),
    (lambda: S.padding_mask([1, 2], 2.5), ValueError, "length: expected a positive integer"),
    (lambda: S.padding_mask([1, -2], 3), ValueError, "lengths: expected values >= 0"),
    (lambda: S.padding_mask([[1]], 3), ValueError, esc("expected shape (N,)")),
    (lambda: S.padding_mask([1.0], 3), TypeError, "integer ids"),
    (lambda: S.char_batches(np.ones((2, 50), dtype=int), 2, 3), ValueError, "1-D stream"),
    (lambda: S.char_batches(-np.ones(50, dtype=int), 2, 3), ValueError, "ids >= 0"),
    (lambda: S.orthogonal(0, rng=rng()), ValueError, "n: expected a positive integer"),
    (lambda: S.orthogonal(10**5, rng=rng()), ValueError, "orthogonal: this would allocate"),
    (lambda: S.make_memory_task(10**6, 10**3, rng=rng()), ValueError,
     "make_memory_task: this would allocate"),
    (lambda: S.make_memory_task(100, 3, rng=rng(), noise=1e308), ValueError,
     "noise: expected a value <= 1e\\+300"),
    (lambda: S.pad_sequences([[1]], 3, value=np.nan), ValueError, "value: expected a finite number"),
    (lambda: S.detach_state(np.array([1, 2])), TypeError, "a float array"),
    (lambda: S.sample_chars(S.CharLM(3, 2, 3, "GRU", rng=rng()), S.Vocab.from_text("abc"), "a", 10**30,
                            rng=rng()), ValueError, "length: expected an integer <= 1000000"),
    (lambda: S.CharLM(3, 2, 3, ["GRU"], rng=rng()), KeyError, "unknown cell"),
    (lambda: S.detach_state([np.ones(2)]), TypeError, "detach_state: expected None, a float array"),
])
def test_sequence_helpers_check_their_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_vocab_checks():
    with pytest.raises(ValueError, match="each character once"):
        S.Vocab(["a", "b", "a"])
    with pytest.raises(TypeError, match="single characters"):
        S.Vocab(["ab"])
    with pytest.raises(ValueError, match="at least one character"):
        S.Vocab.from_text("")
    with pytest.raises(TypeError, match="from_text text: expected a str"):
        S.Vocab.from_text(["a", "b"])
    vocab = S.Vocab.from_text("abc")
    with pytest.raises(TypeError, match="encode text: expected a str"):
        vocab.encode(12)
    with pytest.raises(ValueError, match=esc("decode ids: expected values in [0, 2], got values in [-1, 0]")):
        vocab.decode([-1, 0])                     # used to read chars[-1] silently
    with pytest.raises(TypeError, match="decode ids: expected integer ids"):
        vocab.decode([1.0])


def test_train_memory_task_and_sampling_check_their_settings():
    for kwargs, error, match in [
        (dict(steps=0), ValueError, "steps: expected an integer >= 1"),
        (dict(steps=10**9), ValueError, "steps: expected an integer <= 1000000"),
        (dict(steps=2.5), TypeError, "steps: expected an integer"),
        (dict(seed=-1), ValueError, "seed: expected an integer >= 0"),
        (dict(clip=0), ValueError, "clip: expected a value > 0"),
        (dict(use_memory_init="no"), TypeError, "use_memory_init: expected True or False"),
        (dict(n_symbol=3), TypeError, "unknown task settings"),
        (dict(n_symbols="4"), ValueError, "n_symbols"),
    ]:
        with pytest.raises(error, match=match):
            S.train_memory_task("GRU", 4, **kwargs)
    with pytest.raises(ValueError, match="cell: expected one of RNN, LSTM, GRU"):
        S.train_memory_task("gru", 4)
    vocab = S.Vocab.from_text("abc")
    model = S.CharLM(3, 2, 3, "GRU", rng=rng())
    for length, error in ((None, TypeError), (-1, ValueError), (2.0, TypeError)):
        with pytest.raises(error, match="length"):
            S.sample_chars(model, vocab, "a", length, rng=rng())
    with pytest.raises(ValueError, match="the model scores 4 characters but the vocab has 3"):
        S.sample_chars(S.CharLM(4, 2, 3, "GRU", rng=rng()), vocab, "a", 2, rng=rng())
    ids = np.zeros((2, 3), dtype=int)
    with pytest.raises(ValueError, match=esc("targets: expected the shape of ids (2, 3), got (3, 2)")):
        model.loss(ids, ids.T)               # used to be flattened and misaligned silently
    with pytest.raises(TypeError, match="loss_fn: expected a CrossEntropyLoss"):
        model.loss(ids, ids, loss_fn=cn.MSELoss())
    # a temperature so small that logits / temperature overflows is greedy, not NaN
    greedy = S.sample_chars(model, vocab, "a", 5, rng=rng(), temperature=0.0)
    assert S.sample_chars(model, vocab, "a", 5, rng=rng(), temperature=1e-320) == greedy


# ----------------------------------------------------------------------- gradient checks

def test_numerical_gradient_perturbs_views_in_place():
    W = rng(1).standard_normal((3, 4))
    c = rng(2).standard_normal((3, 4))

    def f(_):
        return float(np.sum(c * W ** 2))

    # non-contiguous views of W: the old flat copy was perturbed instead, giving zeros
    np.testing.assert_allclose(numerical_gradient(f, W.T), (2 * c * W).T, rtol=1e-8)
    np.testing.assert_allclose(numerical_gradient(f, W[:, ::2]), (2 * c * W)[:, ::2], rtol=1e-8)


def test_numerical_gradient_restores_x_when_f_raises():
    x = rng(3).standard_normal((2, 3))
    before = x.copy()
    calls = []

    def f(z):
        calls.append(1)
        if len(calls) == 7:
            raise RuntimeError("boom")
        return float(np.sum(z))

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(f, x)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("f,error,match", [
    (lambda z: z * 2, ValueError, esc("expected f(x) to return a scalar, got an array of shape (3,)")),
    (lambda z: complex(z[0]), TypeError, "expected f\\(x\\) to return a real number, got complex"),
    (lambda z: "1.0", TypeError, "got str"),
    (lambda z: True, TypeError, "got bool"),
    (lambda z: np.nan, ValueError, esc("expected a finite value, got nan at x[0] -2h")),
    (lambda z: np.inf if z[1] > 0.5 else 0.0, ValueError, esc("at x[1] +1h")),
    (lambda z: None, TypeError, "got NoneType"),
])
def test_numerical_gradient_checks_what_f_returns(f, error, match):
    x = np.array([0.1, 0.5, 0.9])
    with pytest.raises(error, match=match):
        numerical_gradient(f, x)
    np.testing.assert_array_equal(x, [0.1, 0.5, 0.9])


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(h=0), ValueError, "h: expected a value > 0"),
    (dict(h=-1e-4), ValueError, "h: expected a value > 0"),
    (dict(h=np.nan), ValueError, "h: expected a finite number"),
    (dict(h="1e-4"), TypeError, "h: expected a real number"),
    (dict(x=np.array([1.0, np.nan])), ValueError, "x: expected finite values"),
    (dict(x=np.array([1, 2])), TypeError, "expected a float64 array, got int64"),
    (dict(f="sum"), TypeError, "f: expected a function"),
])
def test_numerical_gradient_checks_its_arguments(kwargs, error, match):
    args = dict(f=np.sum, x=np.array([1.0, 2.0]))
    args.update(kwargs)
    with pytest.raises(error, match=match):
        numerical_gradient(**args)
    read_only = np.ones(2)
    read_only.setflags(write=False)
    with pytest.raises(ValueError, match="writable"):
        numerical_gradient(np.sum, read_only)


def test_rel_error_and_report_check_their_input():
    with pytest.raises(ValueError, match="rel_error a: expected finite values"):
        rel_error(np.array([np.nan]), np.array([1.0]))
    with pytest.raises(TypeError, match="rel_error b: expected a float array, got dtype complex"):
        rel_error(np.array([1.0]), np.array([1j]))
    with pytest.raises(TypeError, match="rel_error b"):
        rel_error(np.ones(1), ["a"])
    assert rel_error(1, 1.0) == 0.0                      # scalars and ints are fine
    with pytest.raises(ValueError, match="threshold: expected a value > 0"):
        gradient_report({"w": 1e-9}, threshold=0)
    with pytest.raises(ValueError, match="non-empty dict"):
        gradient_report({})
    with pytest.raises(ValueError, match=esc("errors['w']: expected a value >= 0, got -1.0")):
        gradient_report({"w": -1.0})
    with pytest.raises(ValueError, match="errors\\['w'\\]: expected a finite number"):
        gradient_report({"w": np.nan})
    with pytest.raises(TypeError, match="str names"):
        gradient_report({1: 0.0})


def test_vjp_and_function_checks_need_matching_shapes():
    x = np.array([0.1, 0.2])
    with pytest.raises(ValueError, match=esc("f(x) has shape (2,) but grad_out has shape (3,)")):
        numerical_vjp(lambda z: z * 2, x, np.ones(3))
    with pytest.raises(ValueError, match="f\\(x\\): expected an array of x's shape \\(2,\\)"):
        check_function_gradient(np.sum, lambda z: np.ones_like(z), x)
    with pytest.raises(ValueError, match="df\\(x\\): expected an array of x's shape"):
        check_function_gradient(np.tanh, lambda z: 1.0, x)
    with pytest.raises(ValueError, match="df\\(x\\): expected finite values"):
        check_function_gradient(np.tanh, lambda z: np.full_like(z, np.inf), x)


def test_check_module_gradients_checks_before_touching_the_module():
    layer = cn.Linear(3, 2, rng=rng())
    x = rng(1).standard_normal((4, 3))
    layer(x)
    layer.backward(np.ones((4, 2)))
    grads = [p.grad.copy() for p in layer.parameters()]
    for kwargs, error, match in [
        (dict(grad_out=np.ones((4, 3))), ValueError,
         esc("grad_out: expected the module output's shape (4, 2)")),
        (dict(rng=0), TypeError, "rng: expected a numpy Generator"),
        (dict(h=0.0), ValueError, "h: expected a value > 0"),
    ]:
        with pytest.raises(error, match=match):
            check_module_gradients(layer, x, **kwargs)
        for p, g in zip(layer.parameters(), grads):
            np.testing.assert_array_equal(p.grad, g)
    with pytest.raises(TypeError, match="expected a course_nn Module"):
        check_module_gradients(np.tanh, x)
    with pytest.raises(ValueError, match="different outputs for the same input.*eval"):
        check_module_gradients(cn.Dropout(0.5, rng=rng()), x)
    with pytest.raises(TypeError, match="parameter weight is float32"):
        check_module_gradients(cn.Linear(3, 2, rng=rng(), dtype=np.float32), x)
    assert check_module_gradients(layer, x)["weight"] < 1e-7


def test_check_loss_gradient_checks_its_arguments():
    pred, target = rng(4).standard_normal((3, 2)), rng(5).standard_normal((3, 2))
    with pytest.raises(TypeError, match="expected a loss with a backward method"):
        check_loss_gradient(lambda p, t: 0.0, pred, target)
    with pytest.raises(ValueError, match="h: expected a value > 0"):
        check_loss_gradient(cn.MSELoss(), pred, target, h=0)
    assert check_loss_gradient(cn.MSELoss(), pred, target) < 1e-7


# ------------------------------------------------------------------------------------ data

@pytest.mark.parametrize("call,error,match", [
    (lambda: data.make_xor(10**9, rng=rng()), ValueError, "make_xor: this would allocate"),
    (lambda: data.make_spirals(3, classes=5, rng=rng()), ValueError, "n >= 5"),
    (lambda: data.make_spirals(10, turns=np.nan, rng=rng()), ValueError, "turns: expected a finite"),
    (lambda: data.make_moons(1000, noise=1e308, rng=rng()), ValueError, "noise: expected a value <= 1e"),
    (lambda: data.make_spirals(10, turns=1e308, rng=rng()), ValueError, "turns: expected a value <= 1e"),
    (lambda: data.make_blobs(1, rng=rng()), ValueError, "n >= 2"),
    (lambda: data.make_blobs(10, centers=[[1.7e308, 0.0], [0.0, 0.0]], std=1e300, rng=rng()),
     ValueError, "could overflow to inf"),
    (lambda: data.load_digits(as_images="yes"), TypeError, "as_images: expected True or False"),
])
def test_dataset_generators_check_their_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_generators_leave_rng_untouched_on_failure():
    g = rng(7)
    state = g.bit_generator.state
    with pytest.raises(ValueError):
        data.make_spirals(10, noise=-1, rng=g)
    assert g.bit_generator.state == state


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(X=np.ones((0, 2)), y=np.ones(0)), ValueError, "non-empty dataset"),
    (dict(X=np.ones((5, 2)), y=np.ones(4)), ValueError, "X has 5 samples but y has 4"),
    (dict(X=np.float64(1.0), y=np.ones(1)), ValueError, "X: expected an array of samples"),
    (dict(val=0.1), ValueError, "val: 0.1 of 5 samples rounds to no sample"),
    (dict(val=1.5), ValueError, "val: expected a value <= 1"),
    (dict(test=-0.1), ValueError, "test: expected a value >= 0"),
    (dict(val=np.nan), ValueError, "val: expected a finite number"),
    (dict(val=0.6, test=0.4), ValueError, "leaves no training data"),
    (dict(X=[[1.0], [2.0, 3.0]], y=[0, 1]), ValueError, "X: expected a rectangular array"),
])
def test_split_checks(kwargs, error, match):
    args = dict(X=np.ones((5, 2)), y=np.arange(5), val=0.2, test=0.2, rng=rng())
    args.update(kwargs)
    with pytest.raises(error, match=match):
        data.train_val_test_split(**args)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(batch_size=0), ValueError, "batch_size: expected a positive integer"),
    (dict(batch_size=2.0), ValueError, "batch_size: expected a positive integer"),
    (dict(rng=None), TypeError, "rng: expected a numpy Generator"),
    (dict(rng=np.random.RandomState(0)), TypeError, "got RandomState"),
    (dict(shuffle="no"), TypeError, "shuffle: expected True or False"),
    (dict(X=np.ones((0, 2)), y=np.ones(0)), ValueError, "non-empty dataset"),
    (dict(y=np.ones(4)), ValueError, "X has 5 samples but y has 4"),
])
def test_minibatches_check_their_arguments_at_the_call(kwargs, error, match):
    args = dict(X=np.ones((5, 2)), y=np.arange(5), batch_size=2, rng=rng())
    args.update(kwargs)
    with pytest.raises(error, match=match):
        data.iterate_minibatches(**args)            # no next(): checked at once


def test_minibatches_draw_the_order_when_iteration_starts():
    X, y = np.arange(10.0)[:, None], np.arange(10)
    g1, g2 = rng(3), rng(3)
    batches = data.iterate_minibatches(X, y, 4, rng=g1)
    assert g1.bit_generator.state == g2.bit_generator.state   # nothing drawn yet
    first = next(batches)[1]
    np.testing.assert_array_equal(first, g2.permutation(10)[:4])


# ---------------------------------------------------------------------------- augmentation

@pytest.mark.parametrize("kwargs,error,match", [
    (dict(X=[[[1.0]], [[1.0, 2.0]]]), ValueError, "X: expected a rectangular array"),
    (dict(X=np.zeros((2, 8, 8), dtype=int)), TypeError, "expected a float array"),
    (dict(X=np.full((2, 64), np.nan)), ValueError, "expected finite values"),
    (dict(X=np.zeros(64)), ValueError, "expected 2 or 3 dimensions"),
    (dict(dx=np.array([1, 2, 3])), ValueError, esc("one shift or an array of shape (2,)")),
    (dict(dx=np.ones((2, 1), dtype=int)), ValueError, "one shift or an array"),
    (dict(dx=np.nan), ValueError, "finite whole-pixel shifts"),
    (dict(dy=True), TypeError, "whole-pixel .integer. shifts, got dtype bool"),
    (dict(dy="1"), TypeError, "got dtype <U1"),
])
def test_shift_images_checks(kwargs, error, match):
    args = dict(X=np.ones((2, 64)), dx=1, dy=0)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        A.shift_images(**args)


def test_shifts_beyond_the_image_are_blank_and_do_not_overflow():
    X = np.ones((2, 8, 8))
    for d in (8, 10**18, -(2**63), 1e300):
        assert A.shift_images(X, d, 0).sum() == 0.0


def test_random_shifts_check_the_images_before_drawing():
    g = rng(1)
    state = g.bit_generator.state
    with pytest.raises(ValueError, match="square"):
        A.random_shifts(np.ones((3, 10)), rng=g)
    with pytest.raises(ValueError, match="samples but y has shape"):
        A.augment_with_shifts(np.ones((3, 64)), np.ones(2), 1, rng=g)
    with pytest.raises(ValueError, match="augment_with_shifts: this would allocate"):
        A.augment_with_shifts(np.ones((1000, 64)), np.ones(1000), 10**6, rng=g)
    assert g.bit_generator.state == state
    Xa, ya = A.augment_with_shifts(np.ones((3, 64)), np.eye(3), 2, rng=g)   # (N, C) targets
    assert Xa.shape == (9, 64) and ya.shape == (9, 3)


# -------------------------------------------------------------------------------- surfaces

def test_surface_points_are_checked():
    rb = Sf.Rosenbrock()
    for p, error, match in [
        (np.array([np.nan, 1.0]), ValueError, "expected finite points"),
        (np.array([1 + 1j, 1.0]), TypeError, "real-valued points, got dtype complex"),
        (["a", "b"], TypeError, "real-valued points"),
        (np.zeros(3), ValueError, esc("points of shape (..., 2)")),
        ([[1.0], [1.0, 2.0]], ValueError, "rectangular"),
    ]:
        with pytest.raises(error, match=match):
            rb.value(p)
    assert rb.value([1, 1]) == 0.0                         # int points are fine
    with pytest.raises(ValueError, match=esc("one point of shape (2,), got shape (2, 2)")):
        rb.hessian(np.ones((2, 2)))                        # used to unpack the two rows
    with pytest.raises(ValueError, match=esc("one point of shape (1,)")):
        Sf.DoubleWell().hessian(np.ones((3, 1)))
    with pytest.raises(ValueError, match="Saddle.hessian: expected finite points"):
        Sf.Saddle().hessian([np.nan, 0.0])
    with pytest.raises(ValueError, match="n: expected an integer >= 2"):
        rb.grid(1)
    with pytest.raises(ValueError, match="grid: this would allocate"):
        rb.grid(10**5)


def test_surface_constructors_and_class_attributes():
    with pytest.raises(ValueError, match="lam_max: expected a value >= 5.0"):
        Sf.ill_conditioned(5.0, 1.0)
    with pytest.raises(ValueError, match="lam_min: expected a value > 0"):
        Sf.ill_conditioned(0.0, 1.0)
    with pytest.raises(ValueError, match="a: expected .a. <= 1e100"):
        Sf.Rosenbrock(a=1e200)
    with pytest.raises(ValueError, match="tilt: expected a value <= 1e\\+100"):
        Sf.DoubleWell(1e308)
    indefinite = Sf.Quadratic([[1, 0], [0, -1]])            # ints are fine
    for method in ("condition_number", "max_stable_lr", "best_lr"):
        with pytest.raises(ValueError, match=f"Quadratic.{method}: expected a positive definite H"):
            getattr(indefinite, method)()
    with pytest.raises(ValueError):          # shared by every Saddle: read-only
        Sf.Saddle.start[0] = 5.0
    with pytest.raises(ValueError, match="surface: expected one of"):
        Sf.make_surface(["saddle"])


def test_run_optimizer_checks_its_arguments():
    q = Sf.ill_conditioned()
    for kwargs, error, match in [
        (dict(steps=2.5), TypeError, "steps: expected an integer"),
        (dict(steps=10**8), ValueError, "steps: expected an integer <= 10000000"),
        (dict(start=[1.0, 2.0, 3.0]), ValueError, esc("start: expected shape (2)")),
        (dict(start=[[1.0, 2.0]]), ValueError, "start: expected shape"),
        (dict(start=[np.nan, 0.0]), ValueError, "start: expected finite values"),
        (dict(blowup=0), ValueError, "blowup: expected a value > 0"),
        (dict(stop=1), TypeError, "stop: expected None or a function"),
        (dict(surface="rosenbrock"), TypeError, "surface: expected a Surface or a gradient function"),
        (dict(surface=lambda w: 1.0), ValueError, esc("point's shape (2,), got shape ()")),
        (dict(surface=lambda w: w * 1j), ValueError, "dtype complex128"),
        (dict(surface=lambda w: w * np.nan), ValueError, "returned NaN or inf at step 0"),
    ]:
        args = dict(opt_class=cn.optim.SGD, start=[1.0, 1.0], steps=3, surface=q, lr=0.1)
        args.update(kwargs)
        with pytest.raises(error, match=match):
            Sf.run_optimizer(**args)
    with pytest.raises(ValueError, match="tol: expected a finite number"):
        Sf.steps_to_reach([1.0, 0.5], np.nan)
    with pytest.raises(ValueError, match="values: expected numbers, got NaN"):
        Sf.steps_to_reach([1.0, np.nan], 0.5)
    assert Sf.steps_to_reach([np.inf, 1.0, 0.1], 0.5) == 2       # chapter 6's "no change yet"
    with pytest.raises(TypeError, match="values: expected real numbers"):
        Sf.steps_to_reach(["a"], 0.5)
    with pytest.raises(ValueError, match="coord: expected an integer <= 1"):
        Sf.escape_step(np.ones((3, 2)), coord=2)
    with pytest.raises(TypeError, match="coord: expected an integer"):
        Sf.escape_step(np.ones((3, 2)), coord=0.5)
    with pytest.raises(ValueError, match="radius: expected a value >= 0"):
        Sf.escape_step(np.ones((3, 2)), radius=-1)


# -------------------------------------------------------------------------- generalization

def test_generalization_helpers_check_their_arguments():
    x, y = np.linspace(-1, 1, 10), np.zeros(10)
    for call, error, match in [
        (lambda: Gz.fit_polynomial(x, y[:5], 2), ValueError, "x has 10 points but y has 5"),
        (lambda: Gz.fit_polynomial(x, y, 2, lam=1e308), ValueError, "solution is not finite"),
        (lambda: Gz.polynomial_features(np.zeros(10), 10**8), ValueError, "this would allocate"),
        (lambda: Gz.polynomial_mse(cn.Linear(2, 3), x, y), TypeError, "Linear\\(degree, 1\\)"),
        (lambda: Gz.true_curve(1e308), ValueError, "true_curve x: expected .x. <= 1e300"),
        (lambda: Gz.true_curve("a"), TypeError, "true_curve x"),
        (lambda: Gz.make_curve_data(5, noise=1e308, rng=rng()), ValueError, "noise: expected a value <="),
        (lambda: Gz.cross_val_mse(x, y, 2, 0.0, []), ValueError, "non-empty list"),
        (lambda: Gz.cross_val_mse(x, y, 2, 0.0, [(np.arange(5), np.arange(5, 11))]), ValueError,
         esc("val_idx: expected indices in [0, 9]")),
        (lambda: Gz.cross_val_mse(x, y, 2, 0.0, [(np.arange(5), np.array([], dtype=int))]),
         ValueError, "val_idx: expected a non-empty 1-D array"),
        (lambda: Gz.corrupt_labels(np.arange(5), 0.5, rng=rng(), num_classes=1), ValueError,
         "num_classes: expected an integer >= 2"),
        (lambda: Gz.corrupt_labels(np.arange(12), 0.5, rng=rng()), ValueError, "labels < n_classes = 10"),
        (lambda: Gz.corrupt_labels(np.ones(3) * 0.5, 0.5, rng=rng()), TypeError, "integer class labels"),
        (lambda: Gz.digits_task(20, seed=-1), ValueError, "seed: expected an integer >= 0"),
        (lambda: Gz.digits_task(20, label_noise=2), ValueError, "label_noise: expected a value <= 1"),
        (lambda: Gz.make_mlp(4, 10**30, rng=rng()), ValueError, "make_mlp: this would allocate"),
        (lambda: Gz.make_mlp(4, 1, dropout=None, rng=rng()), TypeError, "dropout: expected a real number"),
        (lambda: Gz.Setup(augment=2.0), ValueError, "augment: expected a value <= 1"),
        (lambda: Gz.BASELINE.but(epochs=0), ValueError, "epochs: expected a positive integer"),
        (lambda: Gz.BASELINE.but(batchnorm="yes"), TypeError, "batchnorm: expected True or False"),
        (lambda: Gz.BASELINE.but(patience=0), ValueError, "patience: expected a positive integer"),
        (lambda: Gz.train_setup(Gz.BASELINE, (np.ones((2, 64)), np.ones(2))), TypeError,
         "task: expected a DigitsTask"),
        (lambda: Gz.DigitsTask((np.ones((2, 64)), np.ones(3)), (), ()), ValueError, "DigitsTask train"),
    ]:
        with pytest.raises(error, match=match):
            call()
    g = rng(2)
    state = g.bit_generator.state
    with pytest.raises(ValueError):
        Gz.corrupt_labels(np.arange(12), 0.5, rng=g)
    assert g.bit_generator.state == state


# -------------------------------------------------------------------------------- diagrams

def test_draw_architecture_leaves_the_models_forward_cache_alone():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model = cn.Sequential(cn.Linear(3, 4, rng=rng()), cn.ReLU(), cn.Linear(4, 2, rng=rng()))
    x, g = rng(1).standard_normal((1, 3)), rng(2).standard_normal((1, 2))
    model(x)
    model.backward(g)
    expected = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    model(x)
    fig, ax = plt.subplots()
    D.draw_architecture(ax, model, (3,))       # used to run its zero batch through the model
    model.backward(g)
    for p, e in zip(model.parameters(), expected):
        np.testing.assert_array_equal(p.grad, e)
    with pytest.raises(ValueError, match="draw_architecture input_shape: this would allocate"):
        D.draw_architecture(ax, model, (10**5, 10**5))
    with pytest.raises(TypeError, match="ax: expected a matplotlib Axes"):
        D.draw_architecture(None, model, (3,))
    with pytest.raises(ValueError, match="the model has no layers"):
        D.draw_architecture(ax, cn.Sequential(), (3,))
    plt.close(fig)


# -------------------------------------------------------------------------------- autograd

@pytest.mark.parametrize("call,error,match", [
    (lambda: Value(1 + 2j), TypeError, "Value: expected a real number, got complex"),
    (lambda: Value(np.inf), ValueError, "Value: expected a finite number, got inf"),
    (lambda: Value(10**400), ValueError, "int too large for a float"),
    (lambda: Value(True), TypeError, "got bool"),
    (lambda: Value(None), TypeError, "got NoneType"),
    (lambda: Value(1.0, parents=(1.0,)), TypeError, "parents: expected Values"),
    (lambda: Value(1.0) + "a", TypeError, "Value \\+: expected a Value or a real number, got str"),
    (lambda: "a" * Value(1.0), TypeError, "Value \\*: expected a Value or a real number"),
    (lambda: Value(1.0) - None, TypeError, "Value -: expected a Value or a real number"),
    (lambda: Value(1.0) / 0, ValueError, esc("Value /: division by zero (1 / 0)")),
    (lambda: 2.0 / Value(0.0), ValueError, "division by zero"),
    (lambda: Value(1e200) * 1e200, ValueError, esc("Value *: the result is not a finite real number")),
    (lambda: Value(1e308) + 1e308, ValueError, "Value \\+: the result"),
    (lambda: Value(1000.0).exp(), ValueError, esc("Value exp: the result of exp(1000)")),
    (lambda: Value(1e200) ** 2, ValueError, "the result of 1e\\+200 \\*\\* 2"),
    (lambda: Value(-8.0) ** 0.5, ValueError, "negative number .-8. to a fractional power"),
    (lambda: Value(2.0) ** "2", TypeError, "constant int or float exponent, got str"),
    (lambda: Value(2.0) ** np.nan, ValueError, "expected a finite number"),
    (lambda: Value(0.0).log(), ValueError, "log: expected a positive input"),
    (lambda: Value(2.0).backward(np.nan), ValueError, "backward grad: expected a finite number"),
    (lambda: Value(2.0).backward("1"), TypeError, "backward grad: expected a real number"),
])
def test_value_rejects_what_has_no_real_answer(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_value_accepts_numpy_numbers_and_whole_float_exponents():
    assert Value(np.float32(2.0)).data == 2.0 and Value(np.int64(3)).data == 3.0
    assert (Value(-2.0) ** 2.0).data == 4.0                  # a whole float exponent
    assert (Value(2.0) * np.float64(3.0)).data == 6.0


def test_value_backward_overflow_restores_the_gradients():
    a = Value(1e100, label="a")
    out = a * a                             # d out / d a = 2e100: finite
    out.backward()
    before = {id(v): v.grad for v in out.topological_order()}
    with pytest.raises(ValueError, match="gradient of node 'a' .data 1e\\+100. overflowed to inf"):
        out.backward(1e300)
    assert {id(v): v.grad for v in out.topological_order()} == before


# ------------------------------------------------------------------------------ playground

def test_playground_python_api_checks_its_arguments():
    pg = Playground(dataset="xor", n_samples=40, hidden=(np.int64(3),))
    assert pg.config.hidden == (3,)
    for call, error, match in [
        (lambda: Playground(hidden=(True,)), ValueError, "hidden: expected one or more positive"),
        (lambda: Playground(hidden=[4, 2.0]), ValueError, "hidden"),
        (lambda: Playground(hidden=(10**6, 10**6)), ValueError, "hidden: this would allocate"),
        (lambda: Playground(dataset=["xor"]), ValueError, "dataset: expected one of"),
        (lambda: Playground(n_samples=3, val_fraction=0.1), ValueError, "val: 0.1 of 3 samples"),
        (lambda: pg.step(0), ValueError, "epochs: expected an integer >= 1"),
        (lambda: pg.step(10**9), ValueError, "epochs: expected an integer <= 10000"),
        (lambda: pg.step(2.0), TypeError, "epochs: expected an integer"),
        (lambda: pg.grid(1), ValueError, "resolution: expected an integer >= 2"),
        (lambda: pg.grid(10**5), ValueError, "Playground.grid: this would allocate"),
        (lambda: pg.grid(5, margin=1e308), ValueError, "margin: 1e\\+308 makes the grid"),
        (lambda: pg.grid(5, margin=-1), ValueError, "margin: expected a value >= 0"),
        (lambda: pg.hidden_outputs(np.zeros((2, 3))), ValueError, esc("points: expected shape (N, 2)")),
        (lambda: pg.hidden_outputs(5.0), ValueError, "points: expected shape"),
        (lambda: pg.hidden_outputs(np.zeros((2, 2)), layer=0.0), TypeError, "layer: expected an integer"),
        (lambda: pg.draw(resolution=1), ValueError, "resolution"),
        (lambda: pg.draw(max_units=0), ValueError, "max_units"),
        (lambda: pg.accuracy(["train"]), ValueError, "split: expected 'train' or 'val'"),
    ]:
        with pytest.raises(error, match=match):
            call()
    assert pg.epoch == 0 and pg.history.train_loss == []
    config, model = pg.config, pg.model
    with pytest.raises(ValueError):
        pg.configure(lr=-1.0)
    with pytest.raises(ValueError, match="val: 0.25 of 2 samples rounds to no sample"):
        pg.configure(n_samples=2)            # valid alone, fails when the data is split
    assert pg.config is config and pg.model is model


# ------------------------------------------------------------------------------- explorers

def test_fit_constant_is_bounded():
    y = np.array([1.0, 2.0, 4.0])
    for tol, error, match in [(0, ValueError, "tol: expected a value >= 1e-15"),
                              (-1.0, ValueError, "tol"), (np.nan, ValueError, "tol"),
                              ("1e-9", TypeError, "tol")]:
        with pytest.raises(error, match=match):
            Lx.fit_constant(y, cn.MSELoss(), tol=tol)              # tol=0 used to loop forever
    with pytest.raises(ValueError, match="still .* wide after max_iter = 3 steps"):
        Lx.fit_constant(y, cn.MSELoss(), max_iter=3)
    with pytest.raises(ValueError, match="max_iter: expected an integer <= 10000"):
        Lx.fit_constant(y, cn.MSELoss(), max_iter=10**9)
    with pytest.raises(ValueError, match="expected a non-empty array"):
        Lx.fit_constant([], cn.MSELoss())
    with pytest.raises(ValueError, match="expected finite values"):
        Lx.fit_constant([1.0, np.nan], cn.MSELoss())
    with pytest.raises(ValueError, match="expected function to return a finite real number, got nan"):
        Lx.fit_constant(y, lambda p, t: np.nan)
    assert Lx.fit_constant([1e308], cn.MSELoss()) == 1e308          # (lo + hi) / 2 overflowed


def test_loss_explorer_helpers_check_their_arguments():
    y = Lx.make_outlier_data()
    for call, error, match in [
        (lambda: Lx.make_outlier_data(n_clean=0), ValueError, "n_clean: expected an integer >= 1"),
        (lambda: Lx.make_outlier_data(n_clean=10**10), ValueError, "this would allocate"),
        (lambda: Lx.make_outlier_data(seed=-1), ValueError, "seed"),
        (lambda: Lx.make_outlier_data(spread=np.inf), ValueError, "spread"),
        (lambda: Lx.gradient_descent_constant(y, cn.MSELoss(), lr=0), ValueError, "lr: expected a value > 0"),
        (lambda: Lx.gradient_descent_constant(y, cn.MSELoss(), steps=10**9), ValueError, "steps"),
        (lambda: Lx.gradient_descent_constant(y, cn.MSELoss(), lr=1e200, steps=5), ValueError,
         "overflow"),
        (lambda: Lx.gradient_descent_constant(y, np.sum), TypeError, "expected a course_nn loss"),
        (lambda: Lx.softmax_ce_state([1.0, 2.0], 2), ValueError, "label: expected an integer <= 1"),
        (lambda: Lx.softmax_ce_state([1.0, 2.0], 1.0), TypeError, "label: expected an integer"),
        (lambda: Lx.softmax_ce_state([[1.0, 2.0]], 0), ValueError, "logits: expected 1 dimensions"),
        (lambda: Lx.softmax_ce_state([1.0, np.nan], 0), ValueError, "logits: expected finite values"),
        (lambda: Lx.outlier_view_limits(Lx.outlier_state(), pad=-1), ValueError, "pad"),
    ]:
        with pytest.raises(error, match=match):
            call()


def test_explorers_refuse_starting_values_their_sliders_would_clamp():
    pytest.importorskip("ipywidgets")
    for call, match in [
        (lambda: Lx.loss_explorer(outlier=100.0), "outlier: expected a value <= 30.0"),
        (lambda: Lx.softmax_explorer(logits=(2.0, 20.0, 0.0)), esc("logits[1]: expected a value <= 10.0")),
        (lambda: Lx.softmax_explorer(logits=(2.0, 1.0)), "logits: expected 3 values"),
        (lambda: Lx.softmax_explorer(label=3), "label: expected an integer <= 2"),
        (lambda: Ax.activation_explorer(shift=9.0), "shift: expected a value <= 5.0"),
        (lambda: Ax.activation_explorer("elu", param=7.0), "param: expected a value <= 3.0"),
        (lambda: Ix.init_explorer(depth=100), "depth: expected an integer <= 30"),
        (lambda: Ix.init_explorer(scheme=Ix.SCHEMES["zeros"]), "scheme: expected one of"),
        (lambda: Kx.kernel_explorer(stride=5), "stride: expected an integer <= 3"),
        (lambda: Kx.kernel_explorer(kernel="blurry"), "unknown kernel"),
        (lambda: Ox.optimizer_explorer(lr=10.0), "lr: expected a value <= 3.16"),
        (lambda: Ox.optimizer_explorer(steps=5000), "steps: expected an integer <= 3000"),
        (lambda: Ox.optimizer_explorer(optimizers=()), "optimizers: expected one or more names"),
        (lambda: Rx.rnn_gradient_explorer(rho=5.0), "rho: expected a value <= 2.0"),
        (lambda: Rx.rnn_gradient_explorer(length=1), "length: expected an integer >= 2"),
        (lambda: Rx.rnn_gradient_explorer(input_scale=1e-6), "input_scale: expected a value >= 0.001"),
    ]:
        with pytest.raises(ValueError, match=match):
            call()
    with pytest.raises(TypeError, match="show_derivative: expected True or False"):
        Ax.activation_explorer(show_derivative="no")


def test_explorer_functions_check_their_arguments():
    for call, error, match in [
        (lambda: Ax.activation_curves("elu", param=np.nan), ValueError, "param: expected a finite"),
        (lambda: Ax.activation_curves("elu", shift=1e300), ValueError, "shift: expected a value <= 1e\\+100"),
        (lambda: Ax.activation_curves("elu", x=[1.0, np.inf]), ValueError, "x: expected finite values"),
        (lambda: Ax.activation_curves("elu", x=[]), ValueError, "x: expected a non-empty array"),
        (lambda: Ax.activation_curves(["elu"]), KeyError, "unknown activation"),
        (lambda: Ix.init_state(width=10**5, depth=30), ValueError, "init_state: this would allocate"),
        (lambda: Ix.init_state(seed=-1), ValueError, "seed: expected an integer >= 0"),
        (lambda: Ix.deep_network(10**4, 10**4, rng=rng()), ValueError, "deep_network: this would allocate"),
        (lambda: Ix.forward_layers(cn.Sequential(cn.ReLU()), np.ones((2, 2))), TypeError, "deep_network"),
        (lambda: Ix.shown_layers(10, max_panels=10**6), ValueError, "max_panels: expected an integer <= 50"),
        (lambda: Ix.histogram_range(Ix.init_state(depth=2, width=16, n_samples=4), 2), ValueError,
         "layer: expected an integer <= 1"),
        (lambda: Kx.make_image("digit", 1.5), TypeError, "digit: expected an integer"),
        (lambda: Kx.make_image(["digit"]), ValueError, "unknown image"),
        (lambda: Kx.kernel_state("square", np.ones((3, 3)), stride=1.5), TypeError,
         "stride: expected an integer"),
        (lambda: Kx.kernel_state("square", [[1.0, np.nan, 0.0]] * 3), ValueError, "kernel: expected finite"),
        (lambda: Kx.feature_map(np.ones((4, 4)), np.ones((2, 2)), padding=-1), ValueError, "padding"),
        (lambda: Kx.feature_map(np.ones(4), np.ones((2, 2))), ValueError, "image: expected 2 dimensions"),
        (lambda: Ox.trajectory_state("saddle", ("GD", "GD")), ValueError, "each name once"),
        (lambda: Ox.trajectory_state("saddle", 3), TypeError, "optimizers: expected names"),
        (lambda: Ox.trajectory_state("saddle", ("GD", "Adam"), lr={"GD": 0.1}), ValueError,
         esc("missing ['Adam']")),
        (lambda: Ox.trajectory_state("saddle", steps=2.5), TypeError, "steps: expected an integer"),
        (lambda: Ox.trajectory_state("saddle", start=[0.0, np.nan]), ValueError, "start: expected finite"),
        (lambda: Rx.gradient_flow_setup(-1.0, 5), ValueError, "rho: expected a value >= 0"),
        (lambda: Rx.gradient_flow_setup(1.0, 2.5), TypeError, "length: expected an integer"),
        (lambda: Rx.hidden_gradient_norms(1.0, 10**7), ValueError, "length: expected an integer <= 100000"),
        (lambda: Rx.draw_gradient_norms(None, []), ValueError, "rhos: expected at least one"),
        (lambda: Rx.draw_unrolled_rnn(None, steps=10**6), ValueError, "steps: expected an integer <= 20"),
        (lambda: N.neuron_surface(1.0, 1.0, 0.0, grid_size=10**5), ValueError, "this would allocate"),
        (lambda: N.neuron_surface(1e308, 1.0, 0.0), ValueError, "w1: expected a value <= 1e\\+100"),
    ]:
        with pytest.raises(error, match=match):
            call()


def test_layer_gradient_norms_checks_lags_and_work():
    layer = cn.GRU(2, 3, rng=rng())
    x, v = rng(1).standard_normal((1, 6, 2)), np.ones(3)
    for kwargs, error, match in [
        (dict(lags=[0]), ValueError, esc("lags: expected values in [1, 6]")),
        (dict(lags=[-2]), ValueError, "lags: expected values in"),          # used to slice silently
        (dict(lags=[1.0]), TypeError, "lags: expected a non-empty 1-D list of ints"),
        (dict(v=np.ones(4)), ValueError, esc("v: expected shape (3)")),
        (dict(x=np.ones((2, 6, 2))), ValueError, "one sequence"),
        (dict(layer=cn.Linear(2, 3)), TypeError, "expected an RNN, LSTM or GRU"),
        (dict(x=np.ones((1, 2000, 2)), lags=np.arange(1, 1001)), ValueError, "T \\* len\\(lags\\)"),
    ]:
        args = dict(layer=layer, x=x, v=v)
        args.update(kwargs)
        with pytest.raises(error, match=match):
            Rx.layer_gradient_norms(**args)


def test_the_digits_cache_is_read_only():
    images, labels = Kx._digits()
    for arr in (images, labels):
        with pytest.raises(ValueError):
            arr[0] = 0
