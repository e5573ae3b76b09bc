"""Chapter 8's claims about note 003's matrix-form backpropagation, pinned without the notebook.

Note 003 writes the backward pass in column layout (one column per sample):
    dz^(L) = y_hat - y,   dz^(l) = (W^(l+1))^T dz^(l+1) * g'(z^(l)),
    db^(l) = (1/m) sum_i dz_i^(l),   dW^(l) = (1/m) dz^(l) (a^(l-1))^T.
The functions below implement exactly that, independently of course_nn, and the tests compare
them with course_nn's batch-first Linear/Sequential backward and with numerical gradients.
"""

import itertools

import numpy as np
import pytest

import course_nn as nn
from course_nn.activations import relu, relu_grad, sigmoid, sigmoid_grad, softmax, tanh, tanh_grad

HIDDEN = {"tanh": (tanh, tanh_grad, nn.Tanh), "sigmoid": (sigmoid, sigmoid_grad, nn.Sigmoid),
          "relu": (relu, relu_grad, nn.ReLU)}


def column_forward(Ws, bs, hidden, output, X):
    """Ws[l], bs[l] for l = 1..L (dicts), X: (n0, m). Returns Z, A dicts (A[0] = X)."""
    g = HIDDEN[hidden][0]
    A, Z = {0: X}, {}
    L = len(Ws)
    for l in range(1, L + 1):
        Z[l] = Ws[l] @ A[l - 1] + bs[l]
        A[l] = g(Z[l]) if l < L else output(Z[l])
    return Z, A


def column_backward(Ws, hidden, Z, A, Y, mean=True):
    """Note 003's equations, starting from dz^(L) = y_hat - y."""
    dg = HIDDEN[hidden][1]
    L, m = len(Ws), Y.shape[1]
    scale = 1.0 / m if mean else 1.0
    dz, dW, db = {L: A[L] - Y}, {}, {}
    for l in range(L, 0, -1):
        dW[l] = scale * dz[l] @ A[l - 1].T
        db[l] = scale * dz[l].sum(axis=1, keepdims=True)
        if l > 1:
            dz[l - 1] = (Ws[l].T @ dz[l]) * dg(Z[l - 1])
    return dz, dW, db


def make_case(sizes, m, hidden, seed):
    rng = np.random.default_rng(seed)
    layers = []
    for k, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out, rng=rng))
        if k < len(sizes) - 2:
            layers.append(HIDDEN[hidden][2]())
    model = nn.Sequential(*layers)
    linears = [lay for lay in model if isinstance(lay, nn.Linear)]
    Ws = {l: lin.weight.data.copy() for l, lin in enumerate(linears, 1)}
    bs = {l: lin.bias.data.reshape(-1, 1).copy() for l, lin in enumerate(linears, 1)}
    X = rng.standard_normal((sizes[0], m))
    return model, linears, Ws, bs, X, rng


# --- the three matched output/loss pairs: the note's backward equals course_nn's ------------

def _softmax_ce(rng, C, m):
    labels = rng.integers(0, C, size=m)
    return (lambda z: softmax(z, axis=0), np.eye(C)[:, labels], nn.CrossEntropyLoss(), labels, None)


def _sigmoid_bce(rng, C, m):
    t = rng.integers(0, 2, size=(1, m)).astype(float)
    return (sigmoid, t, nn.BCEWithLogitsLoss(), t.T, None)


def _identity_half_mse(rng, C, m):
    t = rng.standard_normal((1, m))
    return (lambda z: z, t, nn.MSELoss(half=True), t.T, None)


PAIRS = {"softmax+CE": (_softmax_ce, 3), "sigmoid+BCE": (_sigmoid_bce, 1),
         "identity+half-MSE": (_identity_half_mse, 1)}


@pytest.mark.parametrize("pair", sorted(PAIRS))
@pytest.mark.parametrize("hidden", sorted(HIDDEN))
@pytest.mark.parametrize("m", [1, 7])
def test_column_layout_backward_equals_course_nn(pair, hidden, m):
    make_pair, C = PAIRS[pair]
    model, linears, Ws, bs, X, rng = make_case([4, 5, 3, C], m, hidden, seed=m)
    output, Y, loss_fn, target, _ = make_pair(rng, C, m)
    Z, A = column_forward(Ws, bs, hidden, output, X)
    dz, dW, db = column_backward(Ws, hidden, Z, A, Y)

    model.zero_grad()
    loss_fn(model(X.T), target)
    grad = loss_fn.backward()
    l = len(linears)
    for layer in reversed(model.layers):
        if isinstance(layer, nn.Linear):
            # the transpose relation: note's dz = m * (course_nn's dJ/dZ, batch-first)^T
            np.testing.assert_allclose(dz[l], m * grad.T, rtol=1e-10, atol=1e-14)
            l -= 1
        grad = layer.backward(grad)
    for l, lin in enumerate(linears, 1):
        assert nn.rel_error(dW[l], lin.weight.grad) < 1e-10
        assert nn.rel_error(db[l].ravel(), lin.bias.grad) < 1e-10


def test_forward_in_column_layout_is_the_transpose_of_course_nn():
    model, linears, Ws, bs, X, _ = make_case([100, 50], 32, "tanh", seed=0)
    Z, _ = column_forward(Ws, bs, "tanh", lambda z: z, X)
    assert Z[1].shape == (50, 32) and model(X.T).shape == (32, 50)
    np.testing.assert_allclose(Z[1], model(X.T).T, rtol=1e-12, atol=1e-12)


# --- when dz^(L) = y_hat - y holds, and when it does not -------------------------------------

def _m_times_numerical(J, z):
    return z.shape[0] * nn.numerical_gradient(J, z.copy())


def test_y_hat_minus_y_is_the_output_error_only_for_matched_pairs():
    rng = np.random.default_rng(3)
    m = 5
    z3, labels = 1.5 * rng.standard_normal((m, 3)), rng.integers(0, 3, size=m)
    z1, t01, t = 1.5 * rng.standard_normal((m, 1)), rng.integers(0, 2, (m, 1)).astype(float), \
        rng.standard_normal((m, 1))
    matched = [
        (lambda z: nn.CrossEntropyLoss()(z, labels), z3, softmax(z3, axis=1) - np.eye(3)[labels]),
        (lambda z: nn.BCELoss()(sigmoid(z), t01), z1, sigmoid(z1) - t01),
        (lambda z: nn.MSELoss(half=True)(z, t), z1, z1 - t),
    ]
    for J, z, shortcut in matched:
        assert nn.rel_error(shortcut, _m_times_numerical(J, z)) < 1e-7

    numeric = _m_times_numerical(lambda z: nn.MSELoss(half=True)(sigmoid(z), t01), z1)
    assert nn.rel_error(sigmoid(z1) - t01, numeric) > 0.1                         # the shortcut
    assert nn.rel_error((sigmoid(z1) - t01) * sigmoid_grad(z1), numeric) < 1e-7  # the chain rule


def test_sigmoid_mse_error_signal_vanishes_when_confidently_wrong():
    z = np.linspace(-8, 8, 4001).reshape(-1, 1)
    act, loss = nn.Sigmoid(), nn.MSELoss(half=True, reduction="sum")
    loss(act(z), np.ones_like(z))
    dz = act.backward(loss.backward()).ravel()
    assert abs(np.abs(dz).max() - 4 / 27) < 1e-4                 # max of (1 - s)^2 s at s = 1/3
    assert abs(dz[0]) < 1e-3 and abs(sigmoid(-8.0) - 1) > 0.99    # z = -8: wrong, yet no signal


# --- the 1/m ---------------------------------------------------------------------------------

def test_summed_loss_has_no_one_over_m_and_mean_is_m_times_smaller():
    m = 6
    model, linears, Ws, bs, X, rng = make_case([4, 5, 3], m, "sigmoid", seed=2)
    labels = rng.integers(0, 3, size=m)
    Y = np.eye(3)[:, labels]
    Z, A = column_forward(Ws, bs, "sigmoid", lambda z: softmax(z, axis=0), X)
    _, dW_sum, _ = column_backward(Ws, "sigmoid", Z, A, Y, mean=False)
    grads = {}
    for reduction in ("mean", "sum"):
        model.zero_grad()
        loss = nn.CrossEntropyLoss(reduction=reduction)
        loss(model(X.T), labels)
        model.backward(loss.backward())
        grads[reduction] = [lin.weight.grad.copy() for lin in linears]
    for l in (1, 2):
        np.testing.assert_allclose(grads["sum"][l - 1], m * grads["mean"][l - 1], rtol=1e-12)
        assert nn.rel_error(grads["sum"][l - 1], dW_sum[l]) < 1e-10


def test_one_over_m_applied_to_dJ_dz_of_the_mean_loss_divides_twice():
    m = 6
    model, linears, Ws, bs, X, rng = make_case([4, 3], m, "tanh", seed=4)
    labels = rng.integers(0, 3, size=m)
    loss = nn.CrossEntropyLoss()
    loss(model(X.T), labels)
    dJ_dz = loss.backward().T                      # (3, m), already carries 1/m
    model.backward(loss.backward())
    literal = dJ_dz @ X.T / m                      # the note's dW with dz = dJ/dz
    np.testing.assert_allclose(literal * m, linears[0].weight.grad, rtol=1e-12)
    assert nn.rel_error(literal, linears[0].weight.grad) > 0.5


def test_mean_mse_over_entries_differs_from_the_per_sample_mean_by_K():
    rng = np.random.default_rng(5)
    m, K = 6, 3
    pred, target = rng.standard_normal((m, K)), rng.standard_normal((m, K))
    entries, samples = nn.MSELoss(half=True), nn.MSELoss(half=True, reduction="sum")
    entries(pred, target)
    samples(pred, target)
    np.testing.assert_allclose(samples.backward() / m, K * entries.backward(), rtol=1e-12)
    np.testing.assert_allclose(samples.backward() / m, (pred - target) / m, rtol=1e-12)


# --- a batch is a sum of samples -------------------------------------------------------------

def test_vectorized_gradient_equals_per_sample_loop_and_accumulated_backward():
    m = 6
    model, linears, Ws, bs, X, rng = make_case([4, 5, 3, 3], m, "tanh", seed=8)
    labels = rng.integers(0, 3, size=m)
    Y = np.eye(3)[:, labels]
    out = lambda z: softmax(z, axis=0)  # noqa: E731
    Z, A = column_forward(Ws, bs, "tanh", out, X)
    dz, dW, db = column_backward(Ws, "tanh", Z, A, Y)

    loop = {l: np.zeros_like(Ws[l]) for l in Ws}
    for i in range(m):
        Zi, Ai = column_forward(Ws, bs, "tanh", out, X[:, [i]])
        dzi, _, _ = column_backward(Ws, "tanh", Zi, Ai, Y[:, [i]])
        for l in Ws:
            loop[l] += np.outer(dzi[l][:, 0], Ai[l - 1][:, 0]) / m
    for l in Ws:
        assert nn.rel_error(loop[l], dW[l]) < 1e-12

    model.zero_grad()
    for i in range(m):                              # no zero_grad: .grad accumulates (+=)
        loss = nn.CrossEntropyLoss()
        loss(model(X.T[i:i + 1]), labels[i:i + 1])
        model.backward(loss.backward())
    for l, lin in enumerate(linears, 1):
        assert nn.rel_error(lin.weight.grad / m, dW[l]) < 1e-12
        assert nn.rel_error(lin.bias.grad / m, db[l].ravel()) < 1e-12


def test_note_formulas_against_numerical_gradient_of_the_mean_loss():
    m = 5
    model, linears, Ws, bs, X, rng = make_case([3, 4, 3], m, "sigmoid", seed=9)
    labels = rng.integers(0, 3, size=m)
    out = lambda z: softmax(z, axis=0)  # noqa: E731
    Z, A = column_forward(Ws, bs, "sigmoid", out, X)
    _, dW, db = column_backward(Ws, "sigmoid", Z, A, np.eye(3)[:, labels])

    def J(Ws_, bs_):
        return -np.mean(np.log(column_forward(Ws_, bs_, "sigmoid", out, X)[1][2][labels, np.arange(m)]))

    for l in Ws:
        num_W = nn.numerical_gradient(lambda W_l, l=l: J({**Ws, l: W_l}, bs), Ws[l].copy())
        num_b = nn.numerical_gradient(lambda b_l, l=l: J(Ws, {**bs, l: b_l}), bs[l].copy())
        assert nn.rel_error(dW[l], num_W) < 1e-7
        assert nn.rel_error(db[l], num_b) < 1e-7
    errors = nn.check_module_gradients(model, X.T.copy())
    assert max(errors.values()) < 1e-7


# --- the note's derivation and update rule ---------------------------------------------------

def test_the_weighted_sum_the_note_calls_a_is_z():
    model, linears, Ws, bs, X, _ = make_case([4, 3, 2], 4, "sigmoid", seed=1)
    Z, A = column_forward(Ws, bs, "sigmoid", lambda z: z, X)
    note_a1 = Ws[1] @ A[0]                          # "a^(l) = sum_i W_i^(l) a_i^(l-1)"
    np.testing.assert_allclose(note_a1 + bs[1], linears[0](X.T).T, rtol=1e-12)
    np.testing.assert_allclose(note_a1, Z[1] - bs[1], rtol=1e-12, atol=1e-15)
    assert not np.allclose(note_a1, A[1])


def test_update_rule_is_W_ji_minus_eta_delta_j_a_i_in_every_layer():
    eta = 0.5
    model, linears, Ws, bs, X, rng = make_case([4, 5, 3], 1, "tanh", seed=12)
    label = rng.integers(0, 3, size=1)
    Z, A = column_forward(Ws, bs, "tanh", lambda z: softmax(z, axis=0), X)
    dz, _, _ = column_backward(Ws, "tanh", Z, A, np.eye(3)[:, label])
    opt = nn.optim.SGD(model.parameters(), lr=eta)
    opt.zero_grad()
    loss = nn.CrossEntropyLoss()
    loss(model(X.T), label)
    model.backward(loss.backward())
    opt.step()
    for l, lin in enumerate(linears, 1):
        expected = Ws[l].copy()
        for j, i in itertools.product(range(Ws[l].shape[0]), range(Ws[l].shape[1])):
            expected[j, i] -= eta * dz[l][j, 0] * A[l - 1][i, 0]
        np.testing.assert_allclose(lin.weight.data, expected, rtol=0, atol=1e-14)
    assert A[1].shape[0] != X.shape[0]             # the note's x_i cannot be layer 2's input


# --- note 004's forward/backward graph with an L2 penalty ------------------------------------

def test_note004_graph_gradients_with_weight_decay():
    rng = np.random.default_rng(4)
    lam = 0.05
    x, y = rng.standard_normal((3, 1)), rng.standard_normal((2, 1))
    net = nn.Sequential(nn.Linear(3, 4, bias=False, rng=rng), nn.Tanh(),
                        nn.Linear(4, 2, bias=False, rng=rng))
    W1, W2 = net[0].weight.data, net[2].weight.data
    penalty, data_loss = nn.L2Penalty(lam), nn.MSELoss(half=True, reduction="sum")

    def J(_=None):
        return data_loss(net(x.T), y.T) + penalty([net[0].weight, net[2].weight])

    z = W1 @ x
    h = np.tanh(z)
    o = W2 @ h
    dJ_do = o - y
    dJ_dW2 = dJ_do @ h.T + 2 * lam * W2
    dJ_dz = (W2.T @ dJ_do) * tanh_grad(z)
    dJ_dW1 = dJ_dz @ x.T + 2 * lam * W1

    net.zero_grad()
    J()
    net.backward(data_loss.backward())
    penalty.backward([net[0].weight, net[2].weight])
    assert nn.rel_error(dJ_dW1, net[0].weight.grad) < 1e-12
    assert nn.rel_error(dJ_dW2, net[2].weight.grad) < 1e-12
    assert nn.rel_error(dJ_dW1, nn.numerical_gradient(J, W1)) < 1e-7
    assert nn.rel_error(dJ_dW2, nn.numerical_gradient(J, W2)) < 1e-7


# --- cost: paths versus backpropagation ------------------------------------------------------

def _deep_narrow(width, depth, seed):
    rng = np.random.default_rng(seed)
    layers = []
    for _ in range(depth):
        layers += [nn.Linear(width, width, bias=False, rng=rng), nn.Tanh()]
    return nn.Sequential(*layers, nn.Linear(width, 1, bias=False, rng=rng))


@pytest.mark.parametrize("width,depth", [(2, 4), (3, 3), (3, 5)])
def test_path_sum_for_a_first_layer_weight_equals_backprop(width, depth):
    net = _deep_narrow(width, depth, seed=depth)
    x = np.random.default_rng(0).standard_normal((1, width))
    net(x)
    net.zero_grad()
    net.backward(np.ones((1, 1)))
    Ws = [lay.weight.data for lay in net if isinstance(lay, nn.Linear)]
    a, dg = x[0], []
    for W in Ws[:-1]:
        z = W @ a
        a = np.tanh(z)
        dg.append(tanh_grad(z))
    for j, i in itertools.product(range(width), repeat=2):
        total, n_paths = 0.0, 0
        for path in itertools.product(range(width), repeat=depth - 1):
            prod, prev = 1.0, j
            for q, unit in enumerate(path, start=1):
                prod *= Ws[q][unit, prev] * dg[q][unit]
                prev = unit
            total += prod * Ws[-1][0, prev]
            n_paths += 1
        assert n_paths == width ** (depth - 1)
        assert np.isclose(x[0, i] * dg[0][j] * total, net[0].weight.grad[j, i], rtol=1e-10)


def _backprop_mults(width, depth):
    """Multiplications of one forward and one backward pass, counted from the matrix shapes."""
    sizes = [width] * (depth + 1) + [1]
    fwd = sum(n_out * n_in for n_in, n_out in zip(sizes[:-1], sizes[1:]))
    bwd = fwd                                                          # outer products dW
    bwd += sum(n_out * n_in for n_in, n_out in zip(sizes[1:-1], sizes[2:]))  # W^T dz
    bwd += depth * width                                               # * g'(z)
    return fwd, bwd


def test_backward_costs_about_twice_forward_and_paths_grow_exponentially():
    for depth in range(1, 13):
        fwd, bwd = _backprop_mults(3, depth)
        assert (fwd, bwd) == (depth * 9 + 3, (2 * depth - 1) * 9 + (depth + 2) * 3)
        assert 1.4 < bwd / fwd < 2.3
    paths = [3 ** (d - 1) for d in range(1, 13)]
    assert all(p2 == 3 * p1 for p1, p2 in zip(paths, paths[1:]))
