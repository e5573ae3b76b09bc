"""Chapter 9 exercises: every checker accepts correct answers and rejects likely wrong ones.

The end of the file pins chapter 9's claims about the scalar engine that the exercises and
tests/test_autograd.py do not already cover.

IDS and SOLUTIONS feed the checks every exercise gets, in tests/test_exercises.py
(registered, reference and solutions pass).
"""

import math
from collections import deque

import numpy as np
import pytest
from exercise_helpers import rejected

import course_nn as nn
from course_nn.autograd import Value
from course_nn.lab.exercises import evaluate
from course_nn.lab.exercises.autograd import (
    EXPRESSIONS,
    NEURON_GRAPH,
    buggy_add,
    buggy_pow,
    run_backward,
    with_ops,
)

IDS = ["autograd.fix_closures", "autograd.div_backward", "autograd.topological_sort",
       "autograd.shared_node_grads"]


def dfs_sort(graph):
    order, done = [], set()

    def visit(node):
        if node in done:
            return
        done.add(node)
        for parent in graph[node]:
            visit(parent)
        order.append(node)

    for node in graph:
        visit(node)
    return order


def kahn_sort(graph):
    """A different correct order: repeatedly take a node whose parents are all placed."""
    remaining = {node: set(parents) for node, parents in graph.items()}
    ready = deque(sorted(node for node, parents in remaining.items() if not parents))
    order = []
    while ready:
        node = ready.popleft()
        order.append(node)
        for other, parents in remaining.items():
            if node in parents:
                parents.discard(node)
                if not parents and other not in order and other not in ready:
                    ready.append(other)
    return order


def fixed_add(p, q):
    out = Value(p.data + q.data, (p, q), "+")

    def _backward():
        p.grad += out.grad
        q.grad += out.grad

    out._backward = _backward
    return out


def fixed_mul(p, q):
    out = Value(p.data * q.data, (p, q), "*")

    def _backward():
        p.grad += q.data * out.grad
        q.grad += p.data * out.grad

    out._backward = _backward
    return out


def fixed_pow(p, n):
    out = Value(p.data**n, (p,), f"**{n:g}")

    def _backward():
        p.grad += n * p.data ** (n - 1) * out.grad

    out._backward = _backward
    return out


SOLUTIONS = {
    "autograd.fix_closures": with_ops(fixed_add, fixed_mul, fixed_pow),
    "autograd.div_backward": lambda a, b, g: (g / b, -g * a / b**2),
    "autograd.topological_sort": dfs_sort,
    "autograd.shared_node_grads": lambda a, b: (2 * (a + a * b) * (1 + b), 2 * (a + a * b) * a),
}


def test_a_different_correct_order_is_accepted():
    result = evaluate("autograd.topological_sort", kahn_sort)
    assert result.passed, result.message
    assert kahn_sort(NEURON_GRAPH) != dfs_sort(NEURON_GRAPH)


# --- the backward rules ----------------------------------------------------------------------

def _op(forward, local):
    """A recorded binary operation with the given local derivatives (d/dp, d/dq)."""
    def op(p, q):
        out = Value(forward(p.data, q.data), (p, q), "op")

        def _backward():
            dp, dq = local(p.data, q.data)
            p.grad += dp * out.grad
            q.grad += dq * out.grad

        out._backward = _backward
        return out
    return op


def _half_fixed_add(p, q):                    # += for p, still = for q
    out = Value(p.data + q.data, (p, q), "+")

    def _backward():
        p.grad += out.grad
        q.grad = out.grad

    out._backward = _backward
    return out


def _pow_without_n(p, n):
    out = Value(p.data**n, (p,), "**")

    def _backward():
        p.grad += p.data ** (n - 1) * out.grad

    out._backward = _backward
    return out


def test_the_chapter_bugs_hide_on_the_chapter_f_only_partly():
    """The handed-over add's bug does not change f = (ab + a)^2; the power's does."""
    grads = {}
    for name, add in (("buggy", buggy_add), ("fixed", fixed_add)):
        a, b = Value(0.5), Value(1.5)
        fixed_pow(add(fixed_mul(a, b), a), 2).backward()
        grads[name] = (a.grad, b.grad)
    assert grads["buggy"] == grads["fixed"] == pytest.approx((6.25, 1.25))
    a, b = Value(0.5), Value(1.5)
    buggy_pow(fixed_add(fixed_mul(a, b), a), 2).backward()
    assert (a.grad, b.grad) != pytest.approx((6.25, 1.25))


@pytest.mark.parametrize("ops, fragments", [
    ((buggy_add, fixed_mul, buggy_pow), ("expression = 'a + a'", "add still assigns")),
    ((buggy_add, fixed_mul, fixed_pow), ("expression = 'a + a'", "add still assigns")),
    ((_half_fixed_add, fixed_mul, fixed_pow), ("add still assigns",)),
    ((fixed_add, fixed_mul, buggy_pow), ("expression = 'a ** 3'", "not n * p**n")),
    ((fixed_add, fixed_mul, _pow_without_n), ("lost its factor n",)),
])
def test_fix_closures_names_the_bug_left(ops, fragments):
    rejected("autograd.fix_closures", with_ops(*ops), "wrong answer", *fragments)


def test_fix_closures_names_the_bugs_on_a_mixed_expression_too():
    from course_nn.lab.exercises.autograd import _compare_fix, fix_closures_reference

    expected = fix_closures_reference("(a * b + a) ** 2", 0.5, 1.5)
    both = with_ops(buggy_add, fixed_mul, buggy_pow)("(a * b + a) ** 2", 0.5, 1.5)
    assert "pow's local derivative" in _compare_fix(expected, both)
    expected = fix_closures_reference("(a + b) * a", 1.5, 2.0)
    assert "add still assigns" in _compare_fix(expected, with_ops(buggy_add, fixed_mul, buggy_pow)(
        "(a + b) * a", 1.5, 2.0))


@pytest.mark.parametrize("ops", [
    (fixed_add, _op(lambda x, y: x * y, lambda x, y: (x, y)), fixed_pow),      # mul swapped
    (fixed_add, _op(lambda x, y: x * y, lambda x, y: (y, y)), fixed_pow),      # mul copy-paste
    (_op(lambda x, y: x + y, lambda x, y: (1.0, 0.0)), fixed_mul, fixed_pow),  # q forgotten
    (fixed_add, fixed_mul, lambda p, n: fixed_mul(p, p)),                      # every power a square
])
def test_fix_closures_rejects_other_broken_operations(ops):
    rejected("autograd.fix_closures", with_ops(*ops), "wrong answer")


def test_fix_closures_says_when_an_operation_returns_no_value():
    rejected("autograd.fix_closures", with_ops(lambda p, q: p.data + q.data, fixed_mul, fixed_pow),
             "not a Value")


def test_fix_closures_covers_every_expression_with_the_reference():
    for expression in EXPRESSIONS:
        got = with_ops(fixed_add, fixed_mul, fixed_pow)(expression, 0.7, 1.3)
        va, vb = Value(0.7), Value(1.3)
        EXPRESSIONS[expression](lambda p, q: p + q, lambda p, q: p * q, lambda p, n: p**n,
                                va, vb).backward()
        assert got == pytest.approx((va.grad, vb.grad), rel=1e-14)


@pytest.mark.parametrize("wrong", [
    lambda a, b, g: (g / b, g * a / b**2),   # sign of d/db
    lambda a, b, g: (g / b, -g * a / b),     # forgot the square
    lambda a, b, g: (1 / b, -a / b**2),      # forgot the upstream gradient
    lambda a, b, g: (g * b, -g * a / b**2),  # d/da = b, as for a product
])
def test_div_backward_rejects_wrong_rules(wrong):
    rejected("autograd.div_backward", wrong, "wrong answer")


# --- topological_sort ------------------------------------------------------------------------

def test_topological_sort_rejects_root_first_orders():
    rejected("autograd.topological_sort", lambda g: dfs_sort(g)[::-1], "comes before",
             "which it is computed from")


def test_topological_sort_rejects_the_dictionary_order_and_name_order():
    rejected("autograd.topological_sort", lambda g: list(g), "comes before")
    rejected("autograd.topological_sort", lambda g: sorted(g), "comes before")


def test_topological_sort_rejects_the_reversed_dictionary_order_on_some_graph():
    rejected("autograd.topological_sort", lambda g: list(reversed(list(g))), "comes before")


def test_topological_sort_rejects_missing_and_repeated_nodes():
    rejected("autograd.topological_sort", lambda g: dfs_sort(g)[1:], "missing node(s)")
    rejected("autograd.topological_sort", lambda g: dfs_sort(g) + dfs_sort(g)[-1:],
             "appears more than once")
    rejected("autograd.topological_sort", lambda g: dfs_sort(g) + ["extra"],
             "'extra' is not a node of the graph")


def test_topological_sort_rejects_an_order_that_lists_a_twice_used_parent_twice():
    def every_edge(graph):                    # one entry per use: "x" twice for x * x
        order = []
        for node in dfs_sort(graph):
            order += [p for p in graph[node] if graph[node].count(p) > 1][:1]
            order.append(node)
        return order

    rejected("autograd.topological_sort", every_edge, "appears more than once")


def test_topological_sort_checker_does_not_trust_a_mutated_graph():
    def vandal(graph):
        order = dfs_sort(graph)
        graph.clear()                         # the checker judges against its own copy
        return order[::-1]

    rejected("autograd.topological_sort", vandal, "comes before")


# --- shared_node_grads (predict, then run) ---------------------------------------------------

def test_shared_node_grads_reference_agrees_with_numerical_gradient():
    from course_nn.lab.exercises.autograd import shared_node_grads_reference

    def e_of(p):
        d = p[0] + p[0] * p[1]
        return d * d

    for a, b in [(2.0, -3.0), (0.5, 1.5), (-1.0, 0.25), (1.5, 0.0), (-0.7, -1.8)]:
        engine = np.array(shared_node_grads_reference(a, b))
        numeric = nn.numerical_gradient(e_of, np.array([a, b]))
        assert nn.rel_error(engine, numeric) < 1e-9


@pytest.mark.parametrize("wrong, fragment", [
    (lambda a, b: (2 * (a + a * b) * b, 2 * (a + a * b) * a), "de/da misses a path"),
    (lambda a, b: ((a + a * b) * (1 + b), (a + a * b) * a), "de/dd is 2d, not d"),
    (lambda a, b: ((a + a * b) * b, (a + a * b) * a), "you missed both"),
    (lambda a, b: (2 * (a + a * b), 2 * (a + a * b) * a), "misses the path through c"),
])
def test_shared_node_grads_names_the_missed_path(wrong, fragment):
    rejected("autograd.shared_node_grads", wrong, "wrong answer", fragment)


@pytest.mark.parametrize("wrong", [
    lambda a, b: (2 * (a + a * b) * (1 + b), 2 * (a + a * b) * b),   # de/db with b for a
    lambda a, b: (2 * (a + a * b) * (1 + b), (a + a * b) * a),       # only de/da has the 2
    lambda a, b: (2 * (a + a * b) * (1 + b),),                        # one gradient
    lambda a, b: (a + a * b) ** 2,                                     # the value e, not grads
])
def test_shared_node_grads_rejects_other_wrong_answers(wrong):
    rejected("autograd.shared_node_grads", wrong)


# --- chapter 9's claims ----------------------------------------------------------------------

def test_closures_in_a_non_topological_order_lose_a_contribution():
    x = Value(0.5)
    u = x.tanh()
    v = u * Value(3.0)
    q = u**2
    f = v + q
    run_backward(f, 1.0)
    right = x.grad
    for node in f.topological_order():
        node.grad = 0.0
    f.grad = 1.0
    for node in (f, v, u, q):                 # u runs before q has added its share
        node._backward()
    t = math.tanh(0.5)
    assert right == pytest.approx((3 + 2 * t) * (1 - t * t), rel=1e-14)
    assert x.grad == pytest.approx(3 * (1 - t * t), rel=1e-14)


def test_assigning_instead_of_adding_halves_the_gradient_of_x_times_x():
    x = Value(3.0)
    out = Value(x.data * x.data, (x, x), "*")

    def _backward():
        x.grad = x.data * out.grad            # "=" twice: only one contribution survives
        x.grad = x.data * out.grad

    out._backward = _backward
    out.backward()
    assert x.grad == 3.0
    y = Value(3.0)
    (y * y).backward()
    assert y.grad == 6.0


def test_value_backward_resets_but_module_backward_accumulates():
    w = Value(0.8)
    loss = 0.5 * (1.0 - (w * 1.5 - 0.5).sigmoid()) ** 2
    loss.backward()
    first = w.grad
    loss.backward()
    assert w.grad == first
    layer = nn.Linear(1, 1, init=lambda shape, rng: np.array([[0.8]]))
    layer.bias.data[:] = -0.5
    act, mse = nn.Sigmoid(), nn.MSELoss(half=True)
    for _ in range(2):  # two forward/backward passes accumulate
        mse(act(layer(np.array([[1.5]]))), np.array([[1.0]]))
        layer.backward(act.backward(mse.backward()))
    assert layer.weight.grad[0, 0] == pytest.approx(2 * first, rel=1e-14)
    with pytest.raises(RuntimeError, match="Linear.backward called twice after one forward"):
        layer.backward(np.ones((1, 1)))  # a second backward after one forward
    assert layer.weight.grad[0, 0] == pytest.approx(2 * first, rel=1e-14)


def test_scalar_mlp_on_a_batch_equals_the_modules_and_node_count_formula():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((5, 2)), rng.integers(0, 2, size=5)
    mlp = nn.Sequential(nn.Linear(2, 3, rng=rng), nn.Tanh(), nn.Linear(3, 1, rng=rng))
    W = [[[Value(float(v)) for v in row] for row in lin.weight.data] for lin in (mlp[0], mlp[2])]
    b = [[Value(float(v)) for v in lin.bias.data] for lin in (mlp[0], mlp[2])]
    scores = []
    for row in X:
        acts = [Value(float(v)) for v in row]
        for l in range(2):
            zs = []
            for w_row, b_j in zip(W[l], b[l]):
                acc = b_j
                for w_ji, a_i in zip(w_row, acts):
                    acc = acc + w_ji * a_i
                zs.append(acc)
            acts = [z.tanh() for z in zs] if l == 0 else zs
        scores.append(acts[0])
    nodes = {id(n): n for s in scores for n in s.topological_order()}
    assert sum(1 for n in nodes.values() if n.parents) == 5 * (3 * (2 * 2 + 1) + 1 * (2 * 3))
    terms = [-(float(t) * s.sigmoid().log() + (1.0 - float(t)) * (1.0 - s.sigmoid()).log())
             for s, t in zip(scores, y)]
    loss = sum(terms[1:], terms[0]) * (1.0 / len(terms))
    loss.backward()
    bce = nn.BCEWithLogitsLoss()
    assert loss.data == pytest.approx(bce(mlp(X), y.reshape(-1, 1)), rel=1e-13)
    mlp.backward(bce.backward())
    for l, lin in enumerate((mlp[0], mlp[2])):
        assert nn.rel_error(np.array([[v.grad for v in row] for row in W[l]]), lin.weight.grad) < 1e-12
        assert nn.rel_error(np.array([v.grad for v in b[l]]), lin.bias.grad) < 1e-12
