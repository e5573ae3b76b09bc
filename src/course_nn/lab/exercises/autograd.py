"""Exercises of chapter 9, autograd (ids "autograd.<name>").

- ``autograd.fix_closures``: debug: the chapter hands over three operations of a scalar engine,
  add, mul and pow, two of them broken (add's closure assigns the gradient instead of adding
  it; pow's local derivative keeps the exponent n); the learner finds and fixes them. The
  checker builds small expressions with the learner's operations, compares the gradients with
  course_nn's ``Value`` operators, and names the bug an answer still shows.
- ``autograd.div_backward``: derive the one-step backward rule of out = a / b (recorded by the
  engine as a * b**-1), as a plain function of numbers: given a, b and the gradient
  ``grad_out`` that arrived at the output, return (grad_a, grad_b). The reference builds the
  operation with ``Value``, seeds the output's gradient with ``grad_out`` and runs the
  recorded closures, so it is the engine's own rule.
- ``autograd.topological_sort``: order the nodes of a graph so that every node comes after
  the nodes it is computed from; judged by that property, since many orders are correct.
- ``autograd.shared_node_grads``: predict, then run: de/da and de/db for c = a * b,
  d = a + c, e = d * d (a used twice, d both parents of one product), as formulas in a and b;
  a prediction that misses the direct path from a or the second use of d is named.
"""

import copy

from ...autograd import Value
from . import Exercise, _default_compare, register


def run_backward(out, grad_out):
    """Run the closures of ``out``'s graph from the output to the leaves, seeding ``out.grad``
    with ``grad_out`` instead of 1 (what ``Value.backward`` does, for an upstream gradient)."""
    order = out.topological_order()
    for node in order:
        node.grad = 0.0
    out.grad = float(grad_out)
    for node in reversed(order):
        node._backward()


def _floats(*values):
    return tuple(float(v) for v in values)


# ---------------------------------------------------------------------------------------------
# Debug: two broken closures
# ---------------------------------------------------------------------------------------------

def buggy_add(p, q):
    """The chapter's broken addition: the closure assigns (=) the gradient instead of adding."""
    out = Value(p.data + q.data, (p, q), "+")

    def _backward():
        p.grad = out.grad
        q.grad = out.grad

    out._backward = _backward
    return out


def buggy_pow(p, n):
    """The chapter's broken power: the local derivative keeps the exponent n, not n - 1."""
    out = Value(p.data**n, (p,), f"**{n:g}")

    def _backward():
        p.grad += n * p.data**n * out.grad

    out._backward = _backward
    return out


def _pow_without_n(p, n):
    """A typical incomplete fix: the exponent is n - 1, but the factor n is lost."""
    out = Value(p.data**n, (p,), f"**{n:g}")

    def _backward():
        p.grad += p.data ** (n - 1) * out.grad

    out._backward = _backward
    return out


def _mul(p, q):
    return p * q


def _add(p, q):
    return p + q


def _pow(p, n):
    return p**n


# expression -> how to build it from (add, mul, pow) and the two leaves a, b
EXPRESSIONS = {
    "a + b": lambda add, mul, pow_, a, b: add(a, b),
    "a + a": lambda add, mul, pow_, a, b: add(a, a),
    "(a + b) * a": lambda add, mul, pow_, a, b: mul(add(a, b), a),
    "a * b": lambda add, mul, pow_, a, b: mul(a, b),
    "a * a": lambda add, mul, pow_, a, b: mul(a, a),
    "a ** 3": lambda add, mul, pow_, a, b: pow_(a, 3),
    "b ** -1": lambda add, mul, pow_, a, b: pow_(b, -1),
    "b ** 0.5": lambda add, mul, pow_, a, b: pow_(b, 0.5),
    "(a * b + a) ** 2": lambda add, mul, pow_, a, b: pow_(add(mul(a, b), a), 2),
    "a * b ** 2 + b": lambda add, mul, pow_, a, b: add(mul(a, pow_(b, 2)), b),
}


def _grads(expression, a, b, add, mul, pow_):
    """(d/da, d/db) of ``expression`` at (a, b), built with the given operations."""
    va, vb = Value(float(a)), Value(float(b))
    root = EXPRESSIONS[expression](add, mul, pow_, va, vb)
    if not isinstance(root, Value):
        raise TypeError(f"the expression {expression!r} built with your operations gave "
                        f"{type(root).__name__}, not a Value: each operation must return its "
                        "output Value")
    root.backward()
    return va.grad, vb.grad


def with_ops(add, mul, pow_):
    """The function the checker of ``autograd.fix_closures`` calls: (expression, a, b) ->
    (d/da, d/db), the expression built with the learner's add(p, q), mul(p, q) and pow_(p, n)."""

    def gradients(expression, a, b):
        return _grads(expression, a, b, add, mul, pow_)

    return gradients


_ADD_SLIP = ("add still assigns: its closure must add (+=) out.grad into p.grad and q.grad; "
             "with =, a node used twice (a + a), or used by another operation as well, keeps "
             "only the last contribution")
_POW_SLIP = ("pow's local derivative is n * p**(n - 1), not n * p**n: the power rule lowers "
             "the exponent by one")
_POW_N_SLIP = ("pow's local derivative lost its factor n: d(p**n)/dp = n * p**(n - 1)")
_SLIP_OPS = [  # (add, pow), what the answer still gets wrong; one bug first, then both
    ((buggy_add, _pow), _ADD_SLIP),
    ((_add, buggy_pow), _POW_SLIP),
    ((_add, _pow_without_n), _POW_N_SLIP),
    ((buggy_add, buggy_pow), f"both bugs are still there: {_ADD_SLIP}; and {_POW_SLIP}"),
    ((buggy_add, _pow_without_n), f"{_ADD_SLIP}; and {_POW_N_SLIP}"),
]


class _Grads(tuple):
    """(d/da, d/db) from the engine's own operations, carrying what each known bug gives."""

    def __new__(cls, grads, slips):
        out = super().__new__(cls, grads)
        out.slips = slips
        return out


def fix_closures_reference(expression, a, b):
    """(d/da, d/db) of ``expression`` built with course_nn's Value operators, with the values
    the known bugs would give on the same input."""
    slips = [(_grads(expression, a, b, add, _mul, pow_), why) for (add, pow_), why in _SLIP_OPS]
    return _Grads(_grads(expression, a, b, _add, _mul, _pow), slips)


def _compare_fix(expected, got):
    reason = _default_compare(tuple(expected), got, 1e-9, 1e-12)
    if reason is None:
        return None
    for values, slip in expected.slips:
        if (_default_compare(tuple(expected), values, 1e-9, 1e-12) is not None
                and _default_compare(values, got, 1e-9, 1e-12) is None):
            return f"{reason}\n  hint: {slip}"
    return reason


def _fix_random(rng):
    expression = str(rng.choice(list(EXPRESSIONS)))
    a = float(rng.uniform(-2.0, 2.0))
    b = float(rng.uniform(0.5, 2.0))       # b > 0: b ** 0.5 is real, b ** -1 defined
    return expression, a, b


register(Exercise(
    id="autograd.fix_closures",
    kind="debug",
    reference=fix_closures_reference,
    fixed=[
        ("a + b", 1.5, 2.0),              # fresh leaves: = and += agree here
        ("a * a", 3.0, 1.0),              # mul is not broken
        ("a + a", 3.0, 1.0),              # the overwrite bug: 1 instead of 2
        ("(a + b) * a", 1.5, 2.0),        # a used by two operations
        ("a ** 3", 2.0, 1.0),             # the exponent bug: 3 a^3 instead of 3 a^2
        ("b ** -1", 1.0, 0.5),
        ("b ** 0.5", 1.0, 4.0),
        ("(a * b + a) ** 2", 0.5, 1.5),
        ("a * b ** 2 + b", -1.0, 1.5),
    ],
    random=_fix_random,
    arg_names=("expression", "a", "b"),
    compare=_compare_fix,
))


# ---------------------------------------------------------------------------------------------
# Division
# ---------------------------------------------------------------------------------------------

def div_backward_reference(a, b, grad_out):
    """out = a / b: returns (grad_out / b, -grad_out * a / b^2)."""
    va, vb = Value(float(a)), Value(float(b))
    run_backward(va / vb, grad_out)
    return va.grad, vb.grad


def _div_random(rng):
    b = rng.uniform(0.5, 3.0) * (1 if rng.random() < 0.5 else -1)
    return _floats(rng.uniform(-3.0, 3.0), b, rng.uniform(-2.0, 2.0))


register(Exercise(
    id="autograd.div_backward",
    kind="derive",
    reference=div_backward_reference,
    fixed=[
        (3.0, 2.0, 1.0),
        (1.0, -0.5, 2.0),      # negative denominator: the sign of d/db is caught
        (-2.0, 4.0, -1.5),
        (0.0, 3.0, 1.0),       # a = 0: the denominator gets no gradient
    ],
    random=_div_random,
    arg_names=("a", "b", "grad_out"),
))


# ---------------------------------------------------------------------------------------------
# Topological sort
# ---------------------------------------------------------------------------------------------

class Order(list):
    """A reference order that also remembers the graph, so the checker can judge any order."""

    def __init__(self, names, graph):
        super().__init__(names)
        self.graph = graph


def topological_sort_reference(graph):
    """graph: {node: [the nodes it is computed from]} (leaves map to []) -> a list of every
    node, each after all of its parents. Built as Values and ordered by course_nn's
    ``Value.topological_order``."""
    graph = copy.deepcopy(graph)
    nodes = {}

    def make(name):  # create the parents' Values before the node's own
        if name not in nodes:
            nodes[name] = Value(0.0, tuple(make(p) for p in graph[name]), label=name)
        return nodes[name]

    for name in graph:
        make(name)
    root = Value(0.0, tuple(nodes[name] for name in graph), label="(root)")  # needs all nodes
    return Order([v.label for v in root.topological_order() if v is not root], graph)


def _compare_order(expected, got):
    graph = expected.graph
    if not isinstance(got, (list, tuple)):
        return f"expected a list of node names, got {type(got).__name__}"
    got = list(got)
    seen = set()
    for name in got:
        if not isinstance(name, str) or name not in graph:
            return f"{name!r} is not a node of the graph"
        if name in seen:
            return f"node {name!r} appears more than once"
        seen.add(name)
    missing = [name for name in graph if name not in seen]
    if missing:
        return f"missing node(s) {missing}"
    position = {name: i for i, name in enumerate(got)}
    for name in got:
        for parent in graph[name]:
            if position[parent] > position[name]:
                return (f"node {name!r} comes before {parent!r}, which it is computed from "
                        f"(your order: {got})")
    return None


NEURON_GRAPH = {  # note 002 4.3: x -> z = w x + b -> a = sigmoid(z) -> L, listed root first
    "L": ["a", "y"], "a": ["z"], "z": ["wx", "b"], "wx": ["w", "x"],
    "w": [], "x": [], "b": [], "y": [],
}
NOTE001_GRAPH = {  # note 001's 2-2-1 network, one node per neuron and weight
    "x1": [], "x2": [], "w1_11": [], "w1_12": [], "w1_21": [], "w1_22": [],
    "h_out1": ["h_in1"], "h_out2": ["h_in2"],
    "h_in1": ["w1_11", "x1", "w1_12", "x2"], "h_in2": ["w1_21", "x1", "w1_22", "x2"],
    "o": ["w2_1", "h_out1", "w2_2", "h_out2"], "w2_1": [], "w2_2": [],
    "loss": ["o", "y"], "y": [],
}
SHARED_GRAPH = {  # f = x * x + x: x is used three times, and "sq" lists it twice
    "f": ["sq", "x"], "sq": ["x", "x"], "x": [],
}


def _random_graph(rng):
    n = int(rng.integers(3, 10))
    names = [f"v{int(k)}" for k in rng.choice(100, size=n, replace=False)]
    graph = {}
    for i, name in enumerate(names):
        k = int(rng.integers(0, min(i, 3) + 1))
        graph[name] = [names[int(j)] for j in rng.choice(i, size=k, replace=False)] if k else []
    keys = list(graph)
    rng.shuffle(keys)
    return ({key: graph[key] for key in keys},)


register(Exercise(
    id="autograd.topological_sort",
    kind="transcribe",
    reference=topological_sort_reference,
    fixed=[
        (NEURON_GRAPH,),
        (NOTE001_GRAPH,),
        (SHARED_GRAPH,),
        ({"c": ["b"], "b": ["a"], "a": []},),       # a chain listed root first
        ({"only": []},),                             # a single leaf
    ],
    random=_random_graph,
    arg_names=("graph",),
    compare=_compare_order,
))


# ---------------------------------------------------------------------------------------------
# Predict, then run: a node used twice, twice
# ---------------------------------------------------------------------------------------------

class SharedGrads(tuple):
    """(de/da, de/db) from the engine, carrying the values that typical slips give, so the
    checker can name the slip."""

    def __new__(cls, grads, slips):
        out = super().__new__(cls, grads)
        out.slips = slips
        return out


def shared_node_grads_reference(a, b):
    """c = a * b, d = a + c, e = d * d: returns (de/da, de/db) = (2d (1 + b), 2d a), by the
    engine: built with Values and ``backward``."""
    va, vb = Value(float(a)), Value(float(b))
    c = va * vb
    d = va + c
    e = d * d
    e.backward()
    dd = d.data
    slips = [  # (values, what was missed), most specific first
        ((dd * vb.data, dd * va.data),
         "you missed both the direct path from a (d = a + c: a reaches d without going through "
         "c) and the second use of d (e = d * d: d is both factors)"),
        ((2 * dd * vb.data, 2 * dd * va.data),
         "de/da misses a path: a reaches d twice, through c = a * b (local derivative b) and "
         "directly in d = a + c (local derivative 1); add both contributions"),
        ((dd * (1 + vb.data), dd * va.data),
         "de/dd is 2d, not d: e = d * d uses d as both factors, and each use sends d back to d; "
         "the two contributions add"),
        ((2 * dd, 2 * dd * va.data),
         "de/da misses the path through c = a * b (local derivative b); it has only the direct "
         "path of d = a + c"),
    ]
    return SharedGrads((va.grad, vb.grad), slips)


def _compare_shared(expected, got):
    reason = _default_compare(tuple(expected), got, 1e-6, 1e-9)
    if reason is None:
        return None
    for values, slip in expected.slips:
        if values != tuple(expected) and _default_compare(values, got, 1e-6, 1e-9) is None:
            return f"{reason}\n  {slip}"
    return reason


def _shared_random(rng):
    a = rng.uniform(0.3, 2.0) * (1 if rng.random() < 0.5 else -1)
    b = rng.uniform(-2.0, 2.0)
    while abs(1 + b) < 0.2 or abs(b) < 0.2:  # keep the paths' contributions apart
        b = rng.uniform(-2.0, 2.0)
    return _floats(a, b)


register(Exercise(
    id="autograd.shared_node_grads",
    kind="predict",
    reference=shared_node_grads_reference,
    fixed=[
        (3.0, 0.5),            # the chapter's numbers
        (2.0, -3.0),
        (0.5, 1.5),
        (-1.0, 0.25),
        (1.5, 0.0),            # b = 0: c = 0, only the direct path carries gradient to a
    ],
    random=_shared_random,
    arg_names=("a", "b"),
    compare=_compare_shared,
))
