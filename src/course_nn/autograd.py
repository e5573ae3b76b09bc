"""A scalar autograd engine: every operation records itself in a directed acyclic graph.

Each ``Value`` remembers the Values it was computed from (``parents``), the operation
(``op``) and a closure ``_backward`` that pushes its gradient to its parents with the local
derivative (the chain rule). ``backward()`` on the output sorts the graph topologically and
runs the closures from the output back to the leaves.

Every number is a finite real: NaN, inf, complex and non-numbers raise, and so does an
operation whose result does not exist (division by zero, log of a non-positive number, a
negative number to a fractional power) or overflows (exp(1000), 1e200 * 1e200), naming the
operation and its operands.
"""

import math
import numbers


def _real(value, what):
    """float(value) for a finite real number (int, float or a numpy scalar; not bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what}: expected a real number, got {type(value).__name__}")
    try:
        v = float(value)
    except OverflowError:
        raise ValueError(f"{what}: expected a finite number, got an int too large for a float") \
            from None
    if not math.isfinite(v):
        raise ValueError(f"{what}: expected a finite number, got {v}")
    return v


class Value:
    """A scalar that tracks how it was computed. ``data``: the number; ``grad``: d output / d self.

    data: a finite real number; parents: the Values it was computed from; op, label: str.
    """

    def __init__(self, data, parents=(), op="", label=""):
        if op and isinstance(data, float) and not math.isfinite(data):  # e.g. 1e200 * 1e200
            raise ValueError(f"Value {op}: the result is not a finite real number (got {data})")
        self.data = _real(data, "Value")
        self.grad = 0.0
        self.parents = tuple(parents)
        for p in self.parents:
            if not isinstance(p, Value):
                raise TypeError(f"Value parents: expected Values, got {type(p).__name__}")
        if not isinstance(op, str) or not isinstance(label, str):
            raise TypeError(f"Value: expected str op and label, got {op!r} and {label!r}")
        self.op = op
        self.label = label
        self._backward = lambda: None

    def __repr__(self):
        name = f"{self.label}=" if self.label else ""
        return f"Value({name}{self.data:.6g}, grad={self.grad:.6g})"

    @staticmethod
    def _lift(other, op):
        if isinstance(other, Value):
            return other
        if isinstance(other, bool) or not isinstance(other, numbers.Real):
            raise TypeError(f"Value {op}: expected a Value or a real number, got "
                            f"{type(other).__name__}")
        return Value(other)

    @staticmethod
    def _result(compute, parents, op, operands):
        """Value(compute()) with parents and op; an overflow names the operation."""
        try:
            data = compute()
        except OverflowError:
            data = math.inf
        if isinstance(data, complex) or not math.isfinite(data):
            raise ValueError(f"Value {op}: the result of {operands} is not a finite real number")
        return Value(data, parents, op)

    def __add__(self, other):
        other = self._lift(other, "+")
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = self._lift(other, "*")
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent):
        if isinstance(exponent, Value) or isinstance(exponent, bool) \
                or not isinstance(exponent, numbers.Real):
            raise TypeError("Value ** k: expected a constant int or float exponent, got "
                            f"{type(exponent).__name__}")
        exponent = _real(exponent, "Value ** k")
        if exponent == int(exponent) and abs(exponent) < 2**53:
            exponent = int(exponent)   # x ** 2.0 is x ** 2: defined for negative x too
        if self.data == 0 and exponent < 1:
            raise ValueError(f"Value ** {exponent}: undefined derivative at 0")
        if self.data < 0 and isinstance(exponent, float):
            raise ValueError(f"Value ** {exponent}: a negative number ({self.data:g}) to a "
                             f"fractional power is not real")
        out = self._result(lambda: self.data**exponent, (self,), f"**{exponent:g}",
                           f"{self.data:g} ** {exponent:g}")

        def _backward():
            self.grad += exponent * self.data ** (exponent - 1) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = self._result(lambda: math.exp(self.data), (self,), "exp", f"exp({self.data:g})")

        def _backward():
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self):
        if self.data <= 0:
            raise ValueError(f"log: expected a positive input, got {self.data}")
        out = Value(math.log(self.data), (self,), "log")

        def _backward():
            self.grad += out.grad / self.data

        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t * t) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self):
        x = self.data
        s = 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))
        out = Value(s, (self,), "sigmoid")

        def _backward():
            self.grad += s * (1 - s) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = Value(max(self.data, 0.0), (self,), "relu")

        def _backward():
            self.grad += (self.data > 0) * out.grad

        out._backward = _backward
        return out

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-self._lift(other, "-"))

    def __truediv__(self, other):
        other = self._lift(other, "/")
        if other.data == 0:
            raise ValueError(f"Value /: division by zero ({self.data:g} / 0)")
        return self * other ** -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return self._lift(other, "-") - self

    def __rtruediv__(self, other):
        return self._lift(other, "/") / self

    def topological_order(self):
        """Every node of the graph, each after all the nodes it was computed from."""
        order, seen = [], set()
        stack = [(self, False)]
        while stack:  # iterative depth-first search: deep graphs do not hit the recursion limit
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in node.parents if id(p) not in seen)
        return order

    def backward(self, grad=1.0):
        """Fill ``grad`` of every node with d self / d node, times ``grad`` (the upstream
        gradient, 1 for a loss). Safe to call again: every grad is reset first."""
        order = self.topological_order()
        saved = [node.grad for node in order]  # put back if a gradient overflows
        for node in order:
            node.grad = 0.0
        self.grad = _real(grad, "Value.backward grad")
        for node in reversed(order):
            node._backward()
        _check_finite_grads(order, saved)


def _check_finite_grads(order, saved):
    """After a backward pass: if a gradient overflowed to inf or NaN, give every node its
    ``saved`` grad back and raise ValueError naming the node."""
    bad = next((node for node in order if not math.isfinite(node.grad)), None)
    if bad is not None:
        name = f" {bad.label!r}" if bad.label else ""
        message = (f"Value.backward: the gradient of node{name} (data {bad.data:g}) "
                   f"overflowed to {bad.grad}; the graph's local derivatives are too large")
        for node, g in zip(order, saved):
            node.grad = g
        raise ValueError(message)


def draw_graph(root, ax=None):
    """Draw the graph that produced ``root`` with matplotlib: one box per Value (label, data,
    grad), one small circle per operation, arrows in the forward direction. Returns the axes.
    """
    import matplotlib.pyplot as plt

    if not isinstance(root, Value):
        raise TypeError(f"draw_graph root: expected a Value, got {type(root).__name__}")
    order = root.topological_order()
    depth = {}
    for node in order:  # every node one column right of its deepest parent
        depth[id(node)] = 1 + max((depth[id(p)] for p in node.parents), default=-1)
    for node in reversed(order):  # ...and every leaf just left of its nearest consumer
        for p in node.parents:
            if not p.parents:
                depth[id(p)] = depth[id(node)] - 1 if depth[id(p)] == 0 else \
                    min(depth[id(p)], depth[id(node)] - 1)
    columns = {}
    for node in order:
        columns.setdefault(depth[id(node)], []).append(node)
    pos = {}
    for col, nodes in columns.items():
        for row, node in enumerate(nodes):
            pos[id(node)] = (2.0 * col, -(row - (len(nodes) - 1) / 2) * 1.2)
    if ax is None:
        n_cols = max(columns) + 1
        _, ax = plt.subplots(figsize=(2.4 * n_cols + 1, 1.0 + 1.0 * max(map(len, columns.values()))))
    for node in order:
        x, y = pos[id(node)]
        if node.op:
            ox = x - 0.75
            ax.annotate("", xy=(x - 0.55, y), xytext=(ox + 0.18, y),
                        arrowprops=dict(arrowstyle="->", color="0.3"))
            ax.text(ox, y, node.op, ha="center", va="center", fontsize=7,
                    bbox=dict(boxstyle="round,pad=0.2", fc="#fde9c9", ec="0.4"))
            for p in node.parents:
                px, py = pos[id(p)]
                ax.annotate("", xy=(ox - 0.18, y), xytext=(px + 0.55, py),
                            arrowprops=dict(arrowstyle="->", color="0.3"))
        text = (f"{node.label}\n" if node.label else "") + f"data {node.data:.4f}\ngrad {node.grad:.4f}"
        ax.text(x, y, text, ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round", fc="#dcebf7", ec="0.4"))
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 1.0, max(xs) + 1.0)
    ax.set_ylim(min(ys) - 0.9, max(ys) + 0.9)
    ax.axis("off")
    return ax
