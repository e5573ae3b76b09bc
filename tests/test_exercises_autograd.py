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
from course_nn.lab.exercises.autograd import NEURON_GRAPH, run_backward

IDS = ["autograd.mul_backward", "autograd.tanh_backward", "autograd.div_backward",
       "autograd.topological_sort", "autograd.shared_node_grads"]


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


SOLUTIONS = {
    "autograd.mul_backward": lambda a, b, g: (b * g, a * g),
    "autograd.tanh_backward": lambda x, g: (1 - math.tanh(x) ** 2) * g,
    "autograd.div_backward": lambda a, b, g: (g / b, -g * a / b**2),
    "autograd.topological_sort": dfs_sort,
    "autograd.shared_node_grads": lambda a, b: (2 * (a + a * b) * (1 + b), 2 * (a + a * b) * a),
}


def test_a_different_correct_order_is_accepted():
    result = evaluate("autograd.topological_sort", kahn_sort)
    assert result.passed, result.message
    assert kahn_sort(NEURON_GRAPH) != dfs_sort(NEURON_GRAPH)


# --- the backward rules ----------------------------------------------------------------------

@pytest.mark.parametrize("wrong", [
    lambda a, b, g: (a * g, b * g),          # swapped
    lambda a, b, g: (b, a),                  # forgot the upstream gradient
    lambda a, b, g: (b * g, b * g),          # copy-paste
    lambda a, b, g: [b * g, a * g][0],       # only one gradient
])
def test_mul_backward_rejects_wrong_rules(wrong):
    rejected("autograd.mul_backward", wrong, "wrong answer", "on input: a = ")


@pytest.mark.parametrize("wrong", [
    lambda x, g: (1 - x**2) * g,             # derivative in terms of the input, not tanh(x)
    lambda x, g: 1 - math.tanh(x) ** 2,      # forgot the upstream gradient
    lambda x, g: (1 - math.tanh(x)) * g,     # forgot the square
    lambda x, g: math.tanh(x) * g,           # the forward value
])
def test_tanh_backward_rejects_wrong_rules(wrong):
    rejected("autograd.tanh_backward", wrong, "wrong answer")


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
