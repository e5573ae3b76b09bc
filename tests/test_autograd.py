"""The scalar autograd engine: local derivatives, the chain rule, repeated backward, drawing."""

import math

import matplotlib
import numpy as np
import pytest

import course_nn as cn
from course_nn.autograd import Value, draw_graph

matplotlib.use("Agg")

UNARY = {
    "exp": (lambda v: v.exp(), math.exp),
    "log": (lambda v: v.log(), math.log),
    "tanh": (lambda v: v.tanh(), math.tanh),
    "sigmoid": (lambda v: v.sigmoid(), lambda x: 1 / (1 + math.exp(-x))),
    "relu": (lambda v: v.relu(), lambda x: max(x, 0.0)),
    "pow3": (lambda v: v**3, lambda x: x**3),
    "pow-0.5": (lambda v: v**-0.5, lambda x: x**-0.5),
    "neg": (lambda v: -v, lambda x: -x),
    "rdiv": (lambda v: 2.0 / v, lambda x: 2.0 / x),
    "rsub": (lambda v: 3.0 - v, lambda x: 3.0 - x),
}


def numeric_derivative(f, x, h=1e-5):
    return (f(x - 2 * h) - 8 * f(x - h) + 8 * f(x + h) - f(x + 2 * h)) / (12 * h)


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("x", [0.7, 1.9])
def test_unary_derivatives(name, x):
    op, f = UNARY[name]
    v = Value(x)
    out = op(v)
    out.backward()
    assert out.data == pytest.approx(f(x), rel=1e-15)
    assert cn.rel_error(v.grad, numeric_derivative(f, x)) < 1e-8


def test_binary_ops_and_a_shared_node():
    a, b = Value(1.5, label="a"), Value(-0.8, label="b")
    c = a * b + a / b - (a - b) ** 2  # a is used three times: its gradients must add up
    c.backward()

    def f(x, y):
        return x * y + x / y - (x - y) ** 2

    assert c.data == pytest.approx(f(1.5, -0.8))
    assert a.grad == pytest.approx(numeric_derivative(lambda x: f(x, -0.8), 1.5), rel=1e-8)
    assert b.grad == pytest.approx(numeric_derivative(lambda y: f(1.5, y), -0.8), rel=1e-8)


def test_backward_twice_gives_the_same_gradients():
    x = Value(0.3)
    y = (x * x).tanh() + x.exp()
    y.backward()
    first = x.grad
    y.backward()
    assert x.grad == first


def test_sigmoid_worked_example_matches_the_module_backward():
    """Note 001's 2-2-1 sigmoid network: autograd and the hand-written Modules agree."""
    x, w1, w2 = [0.5, 0.8], [[0.1, 0.2], [0.3, 0.4]], [0.5, 0.6]
    xs = [Value(v) for v in x]
    W1 = [[Value(v) for v in row] for row in w1]
    W2 = [Value(v) for v in w2]
    hidden = [sum((w * xi for w, xi in zip(row, xs)), Value(0.0)).sigmoid() for row in W1]
    out = sum((w * h for w, h in zip(W2, hidden)), Value(0.0))
    loss = 0.5 * (1.0 - out) ** 2
    loss.backward()

    l1, l2 = cn.Linear(2, 2, bias=False), cn.Linear(2, 1, bias=False)
    l1.weight.data[:], l2.weight.data[:] = w1, [w2]
    model = cn.Sequential(l1, cn.Sigmoid(), l2)
    mse = cn.MSELoss(half=True)
    assert loss.data == pytest.approx(mse(model(np.array([x])), np.array([[1.0]])), abs=1e-15)
    model.backward(mse.backward())
    np.testing.assert_allclose([[w.grad for w in row] for row in W1], l1.weight.grad, atol=1e-15)
    np.testing.assert_allclose([[w.grad for w in W2]], l2.weight.grad, atol=1e-15)


def test_topological_order_puts_parents_first_and_handles_deep_graphs():
    x = Value(0.5)
    y = x
    for _ in range(5000):  # deeper than Python's recursion limit
        y = y * 1.0001
    order = y.topological_order()
    index = {id(node): i for i, node in enumerate(order)}
    assert order[-1] is y and len(order) == 1 + 2 * 5000  # x, 5000 constants, 5000 products
    assert all(index[id(p)] < index[id(node)] for node in order for p in node.parents)
    y.backward()
    assert x.grad == pytest.approx(1.0001**5000, rel=1e-9)


def test_bad_values_are_rejected():
    with pytest.raises(TypeError, match="expected a real number, got str"):
        Value("1")
    with pytest.raises(ValueError, match="expected a finite number, got nan"):
        Value(float("nan"))
    with pytest.raises(ValueError, match="log: expected a positive input, got -1.0"):
        Value(-1.0).log()
    with pytest.raises(TypeError, match="constant int or float exponent"):
        Value(2.0) ** Value(3.0)


def test_draw_graph_shows_every_node():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = (a * b).tanh()
    c.label = "c"
    c.backward()
    ax = draw_graph(c)
    texts = [t.get_text() for t in ax.texts if t.get_text()]
    assert any(t.startswith("a\ndata 2.0000") for t in texts)
    assert any(t.startswith("c\n") for t in texts)
    assert "*" in texts and "tanh" in texts
    assert len(texts) == 4 + 2  # a, b, a*b, c and the two operations
