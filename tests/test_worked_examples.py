"""Chapter 5's worked examples, pinned number by number without reading the notebook.

Example A is note 000's 2-2-1 ReLU network (section 5), with the target t = 1.0 the chapter
chooses (the note gives none). Every value is a finite decimal, so the expected numbers are
written as the hand arithmetic that produces them and compared to 1e-12.

Example B is note 001's 2-2-1 sigmoid network without biases. Expected values are closed
forms in math.exp (compared to 1e-12); the note's rounded numbers are checked against
them with half a unit of the note's last printed digit, and the one that does not survive
that test (-0.1775) is pinned as an erratum.

The last tests pin the note-000 arithmetic errors (0.62, 0.735) and the sign error of
note 002's single-neuron gradient.
"""

import math

import numpy as np
import pytest

from course_nn import (
    Linear,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    check_module_gradients,
    numerical_gradient,
)

EXACT = 1e-12


def linear_from(weight, bias=None):
    weight = np.array(weight, dtype=np.float64)
    layer = Linear(weight.shape[1], weight.shape[0], bias=bias is not None,
                   init=lambda shape, rng: weight.copy())
    if bias is not None:
        layer.bias.data[...] = np.asarray(bias, dtype=np.float64)
    return layer


def note_tolerance(text):
    """Half a unit in the last digit of a number as the note prints it: '0.552' -> 5e-4."""
    decimals = len(text.split(".")[1])
    return 0.5 * 10.0 ** (-decimals) + 1e-15


# ============================================================== example A (note 000)
X_A = np.array([[0.5, 0.6]])
W1_A = [[0.1, 0.2], [0.3, 0.4]]
B1_A = [0.1, 0.2]
W2_A = [[0.5, 0.6]]
B2_A = [0.3]
T_A = 1.0
ETA = 0.1


def run_example_a():
    """Forward and backward layer by layer; returns the layers and every intermediate."""
    lin1, relu, lin2 = linear_from(W1_A, B1_A), ReLU(), linear_from(W2_A, B2_A)
    loss = MSELoss(half=True)
    z = lin1(X_A)
    h = relu(z)
    y = lin2(h)
    L = loss(y, np.array([[T_A]]))
    dy = loss.backward()
    dh = lin2.backward(dy)
    dz = relu.backward(dh)
    dx = lin1.backward(dz)
    return dict(lin1=lin1, lin2=lin2, z=z, h=h, y=y, L=L, dy=dy, dh=dh, dz=dz, dx=dx)


# the hand arithmetic of note 000, section 5, done right
Z1 = 0.1 * 0.5 + 0.2 * 0.6 + 0.1          # 0.27
Z2 = 0.3 * 0.5 + 0.4 * 0.6 + 0.2          # 0.59, not the note's 0.62
Y_A = 0.5 * Z1 + 0.6 * Z2 + 0.3           # 0.789, not the note's 0.735
DY = Y_A - T_A                            # dL/dy = y - t = -0.211


def test_example_a_forward():
    r = run_example_a()
    assert r["z"][0] == pytest.approx([Z1, Z2], abs=EXACT)
    assert r["z"][0] == pytest.approx([0.27, 0.59], abs=EXACT)
    assert r["h"][0] == pytest.approx([0.27, 0.59], abs=EXACT)      # ReLU passes both
    assert r["y"][0, 0] == pytest.approx(0.789, abs=EXACT)
    assert r["L"] == pytest.approx(0.5 * (0.789 - 1.0) ** 2, abs=EXACT)
    assert r["L"] == pytest.approx(0.0222605, abs=EXACT)


def test_example_a_output_layer_gradients():
    r = run_example_a()
    assert r["dy"][0, 0] == pytest.approx(-0.211, abs=EXACT)
    # dL/dW31 = (y - t) h1, dL/dW32 = (y - t) h2, dL/db3 = y - t
    assert r["lin2"].weight.grad[0] == pytest.approx([DY * Z1, DY * Z2], abs=EXACT)
    assert r["lin2"].weight.grad[0] == pytest.approx([-0.05697, -0.12449], abs=EXACT)
    assert r["lin2"].bias.grad == pytest.approx([-0.211], abs=EXACT)


def test_example_a_hidden_layer_gradients():
    r = run_example_a()
    # dL/dh1 = (y - t) W31, dL/dh2 = (y - t) W32
    assert r["dh"][0] == pytest.approx([DY * 0.5, DY * 0.6], abs=EXACT)
    assert r["dh"][0] == pytest.approx([-0.1055, -0.1266], abs=EXACT)
    # both z > 0, so ReLU' = 1 and dL/dz = dL/dh
    assert r["dz"][0] == pytest.approx([-0.1055, -0.1266], abs=EXACT)


def test_example_a_input_layer_gradients_row_convention():
    """course_nn: weight[j, i] connects input i to hidden neuron j, so dW[j, i] = dz_j x_i."""
    r = run_example_a()
    dz1, dz2 = DY * 0.5, DY * 0.6
    expected = [[dz1 * 0.5, dz1 * 0.6], [dz2 * 0.5, dz2 * 0.6]]
    assert r["lin1"].weight.grad == pytest.approx(np.array(expected), abs=EXACT)
    assert r["lin1"].weight.grad == pytest.approx(
        np.array([[-0.05275, -0.0633], [-0.0633, -0.07596]]), abs=EXACT)
    assert r["lin1"].bias.grad == pytest.approx([dz1, dz2], abs=EXACT)
    # dL/dx = W1^T dz (the note does not ask for it; it is what a deeper layer would receive)
    assert r["dx"][0] == pytest.approx([0.1 * dz1 + 0.3 * dz2, 0.2 * dz1 + 0.4 * dz2], abs=EXACT)


def test_example_a_note_index_convention():
    """Note 000 5.3.5 writes dL/dW12 = dL/dz2 x1 (W12 connects x1 to h2, column convention),
    while its forward pass multiplies W @ x (row convention: the 0.2 at row 1, column 2
    connects x2 to h1). In course_nn's (out, in) layout the note's 5.3.5 W_ab is weight[b, a]."""
    r = run_example_a()
    g = r["lin1"].weight.grad
    dz = r["dz"][0]
    x1, x2 = X_A[0]
    note_5_3_5 = {"W11": dz[0] * x1, "W12": dz[1] * x1, "W21": dz[0] * x2, "W22": dz[1] * x2}
    assert g[0, 0] == pytest.approx(note_5_3_5["W11"], abs=EXACT)
    assert g[1, 0] == pytest.approx(note_5_3_5["W12"], abs=EXACT)
    assert g[0, 1] == pytest.approx(note_5_3_5["W21"], abs=EXACT)
    assert g[1, 1] == pytest.approx(note_5_3_5["W22"], abs=EXACT)
    # The entry the note's matrix calls W12 (row 1, column 2, value 0.2) is g[0, 1]. Here the
    # two conventions happen to agree: x = W2 = [0.5, 0.6] makes dz proportional to x, so the
    # gradient matrix is symmetric. In example B (x = [0.5, 0.8]) they differ.
    np.testing.assert_allclose(g, g.T, atol=EXACT)
    assert g[0, 1] == pytest.approx(note_5_3_5["W12"], abs=EXACT)


def test_convention_matters_in_example_b():
    r = run_example_b()
    g = r["lin1"].weight.grad
    dz = r["dh_in"][0]
    x1, x2 = X_B[0]
    assert g[0, 1] == pytest.approx(dz[0] * x2, abs=EXACT)          # row convention
    assert abs(g[0, 1] - dz[1] * x1) > 0.005                          # the note's 5.3.5 formula


def test_example_a_update_lowers_the_loss():
    r = run_example_a()
    lin1, lin2 = r["lin1"], r["lin2"]
    for p in (lin1.weight, lin1.bias, lin2.weight, lin2.bias):
        p.data -= ETA * p.grad
    dz1, dz2 = DY * 0.5, DY * 0.6
    assert lin2.weight.data[0] == pytest.approx([0.5 - ETA * DY * Z1, 0.6 - ETA * DY * Z2],
                                                abs=EXACT)
    assert lin2.weight.data[0] == pytest.approx([0.505697, 0.612449], abs=EXACT)
    assert lin2.bias.data == pytest.approx([0.3211], abs=EXACT)
    assert lin1.weight.data == pytest.approx(
        np.array([[0.1 - ETA * dz1 * 0.5, 0.2 - ETA * dz1 * 0.6],
                  [0.3 - ETA * dz2 * 0.5, 0.4 - ETA * dz2 * 0.6]]), abs=EXACT)
    assert lin1.weight.data == pytest.approx(
        np.array([[0.105275, 0.20633], [0.30633, 0.407596]]), abs=EXACT)
    assert lin1.bias.data == pytest.approx([0.11055, 0.21266], abs=EXACT)
    # second forward pass, by hand with the updated numbers
    z_new = [0.105275 * 0.5 + 0.20633 * 0.6 + 0.11055, 0.30633 * 0.5 + 0.407596 * 0.6 + 0.21266]
    y_new = 0.505697 * z_new[0] + 0.612449 * z_new[1] + 0.3211
    model = Sequential(lin1, ReLU(), lin2)
    loss_new = MSELoss(half=True)(model(X_A), np.array([[T_A]]))
    assert model(X_A)[0, 0] == pytest.approx(y_new, abs=EXACT)
    assert loss_new == pytest.approx(0.5 * (y_new - T_A) ** 2, abs=EXACT)
    assert loss_new < r["L"]


def test_note_000_forward_errors():
    r = run_example_a()
    lin2 = linear_from(W2_A, B2_A)
    # error 1: the second hidden pre-activation is 0.59, not 0.62
    assert r["z"][0, 1] == pytest.approx(0.59, abs=EXACT)
    assert abs(r["z"][0, 1] - 0.62) > 0.02
    # the correct output is 0.789, not 0.735
    assert r["y"][0, 0] == pytest.approx(0.789, abs=EXACT)
    # error 2: even with the note's own h = [0.27, 0.62] the output is 0.807, not 0.735
    with_note_h = lin2(np.array([[0.27, 0.62]]))[0, 0]
    assert with_note_h == pytest.approx(0.5 * 0.27 + 0.6 * 0.62 + 0.3, abs=EXACT)
    assert with_note_h == pytest.approx(0.807, abs=EXACT)
    assert abs(with_note_h - 0.735) > 0.07
    # 0.735 would need h2 = 0.5, a value that appears nowhere in the note
    assert (0.735 - 0.3 - 0.5 * 0.27) / 0.6 == pytest.approx(0.5, abs=EXACT)


def test_example_a_gradients_match_central_differences():
    r = run_example_a()
    model = Sequential(r["lin1"], ReLU(), r["lin2"])
    model.zero_grad()
    loss = MSELoss(half=True)
    t = np.array([[T_A]])
    loss(model(X_A), t)
    model.backward(loss.backward())
    for name, p in model.named_parameters():
        numeric = numerical_gradient(lambda _: loss(model(X_A), t), p.data)
        np.testing.assert_allclose(p.grad, numeric, rtol=1e-7, atol=1e-10, err_msg=name)
    errors = check_module_gradients(model, X_A.copy())
    assert max(errors.values()) < 1e-7, errors


# ============================================================== example B (note 001)
X_B = np.array([[0.5, 0.8]])
W1_B = [[0.1, 0.2], [0.3, 0.4]]
W2_B = [[0.5, 0.6]]
Y_B = 1.0

# closed forms
HIN = (0.1 * 0.5 + 0.2 * 0.8, 0.3 * 0.5 + 0.4 * 0.8)          # 0.21, 0.47
S1, S2 = (1.0 / (1.0 + math.exp(-v)) for v in HIN)            # sigma(h_in)
O_B = 0.5 * S1 + 0.6 * S2
L_B = 0.5 * (Y_B - O_B) ** 2
DO = -(Y_B - O_B)                                              # dL/do
DS1, DS2 = S1 * (1 - S1), S2 * (1 - S2)                        # sigma'(h_in)
DHOUT = (DO * 0.5, DO * 0.6)
DHIN = (DHOUT[0] * DS1, DHOUT[1] * DS2)
DW1_B = [[DHIN[0] * 0.5, DHIN[0] * 0.8], [DHIN[1] * 0.5, DHIN[1] * 0.8]]
DW2_B = [DO * S1, DO * S2]


def run_example_b():
    lin1, sig, lin2 = linear_from(W1_B), Sigmoid(), linear_from(W2_B)
    loss = MSELoss(half=True)
    h_in = lin1(X_B)
    h_out = sig(h_in)
    o = lin2(h_out)
    L = loss(o, np.array([[Y_B]]))
    do = loss.backward()
    dh_out = lin2.backward(do)
    dh_in = sig.backward(dh_out)
    lin1.backward(dh_in)
    return dict(lin1=lin1, lin2=lin2, h_in=h_in, h_out=h_out, o=o, L=L, do=do,
                dh_out=dh_out, dh_in=dh_in)


def test_example_b_exact_values():
    r = run_example_b()
    assert r["h_in"][0] == pytest.approx(HIN, abs=EXACT)
    assert r["h_in"][0] == pytest.approx([0.21, 0.47], abs=EXACT)
    assert r["h_out"][0] == pytest.approx([S1, S2], abs=EXACT)
    assert r["o"][0, 0] == pytest.approx(O_B, abs=EXACT)
    assert r["L"] == pytest.approx(L_B, abs=EXACT)
    assert r["do"][0, 0] == pytest.approx(DO, abs=EXACT)
    assert r["lin2"].weight.grad[0] == pytest.approx(DW2_B, abs=EXACT)
    assert r["dh_out"][0] == pytest.approx(DHOUT, abs=EXACT)
    assert r["dh_in"][0] == pytest.approx(DHIN, abs=EXACT)
    assert r["lin1"].weight.grad == pytest.approx(np.array(DW1_B), abs=EXACT)
    assert r["lin1"].bias is None and r["lin2"].bias is None


def test_example_b_exact_values_at_four_decimals():
    """The values the chapter prints, rounded as printed."""
    rounded = {
        "h_out1": (S1, 0.5523), "h_out2": (S2, 0.6154), "o": (O_B, 0.6454),
        "L": (L_B, 0.0629), "dL/do": (DO, -0.3546), "dW2_1": (DW2_B[0], -0.1959),
        "dW2_2": (DW2_B[1], -0.2182), "dh_out1": (DHOUT[0], -0.1773),
        "dh_out2": (DHOUT[1], -0.2128), "sigma'1": (DS1, 0.2473), "sigma'2": (DS2, 0.2367),
        "dW1_11": (DW1_B[0][0], -0.0219), "dW1_12": (DW1_B[0][1], -0.0351),
        "dW1_21": (DW1_B[1][0], -0.0252), "dW1_22": (DW1_B[1][1], -0.0403),
    }
    for name, (exact, shown) in rounded.items():
        assert exact == pytest.approx(shown, abs=5e-5), name


NOTE_001 = [  # (what, the note's text, the exact value)
    ("h_in1", "0.21", HIN[0]), ("h_in2", "0.47", HIN[1]),
    ("h_out1", "0.552", S1), ("h_out2", "0.615", S2),
    ("o", "0.645", O_B), ("L", "0.063", L_B), ("dL/do", "-0.355", DO),
    ("dL/dW2_1", "-0.196", DW2_B[0]), ("dL/dW2_2", "-0.218", DW2_B[1]),
    ("dL/dh_out2", "-0.213", DHOUT[1]),
    ("sigma'1", "0.247", DS1), ("sigma'2", "0.237", DS2),
    ("dL/dW1_11", "-0.0219", DW1_B[0][0]),
    ("W2_1 new", "0.5196", 0.5 - 0.1 * DW2_B[0]), ("W2_2 new", "0.6218", 0.6 - 0.1 * DW2_B[1]),
]


@pytest.mark.parametrize("what, text, exact", NOTE_001, ids=[n[0] for n in NOTE_001])
def test_note_001_values_agree_to_their_rounding(what, text, exact):
    assert exact == pytest.approx(float(text), abs=note_tolerance(text))


def test_note_001_dh_out1_is_over_precise():
    """The note writes dL/dh_out1 = -0.1775: 0.5 times its rounded -0.355. The exact value is
    -0.17730..., so the fourth decimal the note prints is wrong."""
    assert DHOUT[0] == pytest.approx(-0.17731, abs=5e-6)
    assert abs(DHOUT[0] - (-0.1775)) > note_tolerance("-0.1775")
    assert -0.355 * 0.5 == pytest.approx(-0.1775, abs=EXACT)     # where the note's value comes from
    # with three decimals, as the rest of the note, -0.177 would have been right
    assert DHOUT[0] == pytest.approx(-0.177, abs=note_tolerance("-0.177"))


def test_example_b_update_and_second_pass():
    r = run_example_b()
    lin1, lin2 = r["lin1"], r["lin2"]
    lin2.weight.data -= ETA * lin2.weight.grad
    lin1.weight.data -= ETA * lin1.weight.grad
    assert lin2.weight.data[0] == pytest.approx([0.5 - ETA * DW2_B[0], 0.6 - ETA * DW2_B[1]],
                                                abs=EXACT)
    new_w1 = np.array(W1_B) - ETA * np.array(DW1_B)
    assert lin1.weight.data == pytest.approx(new_w1, abs=EXACT)
    # second forward pass in closed form
    s = [1.0 / (1.0 + math.exp(-(new_w1[j, 0] * 0.5 + new_w1[j, 1] * 0.8))) for j in range(2)]
    o_new = lin2.weight.data[0, 0] * s[0] + lin2.weight.data[0, 1] * s[1]
    model = Sequential(lin1, Sigmoid(), lin2)
    loss_new = MSELoss(half=True)(model(X_B), np.array([[Y_B]]))
    assert loss_new == pytest.approx(0.5 * (Y_B - o_new) ** 2, abs=EXACT)
    assert loss_new < L_B
    # updating only W2, as the note does, lowers the loss less than updating both
    only_w2 = Sequential(linear_from(W1_B), Sigmoid(), linear_from(lin2.weight.data))
    loss_only_w2 = MSELoss(half=True)(only_w2(X_B), np.array([[Y_B]]))
    assert loss_new < loss_only_w2 < L_B


def test_example_b_gradients_match_central_differences():
    model = Sequential(linear_from(W1_B), Sigmoid(), linear_from(W2_B))
    loss = MSELoss(half=True)
    t = np.array([[Y_B]])
    loss(model(X_B), t)
    model.backward(loss.backward())
    for name, p in model.named_parameters():
        numeric = numerical_gradient(lambda _: loss(model(X_B), t), p.data)
        np.testing.assert_allclose(p.grad, numeric, rtol=1e-7, atol=1e-10, err_msg=name)
    errors = check_module_gradients(model, X_B.copy())
    assert max(errors.values()) < 1e-7, errors


# ================================================= note 002: the single sigmoid neuron
def test_note_002_single_neuron_sign_error():
    """y_hat = sigmoid(w x + b), L = 1/2 (y - y_hat)^2. The note writes
    dL/dw = (y - y_hat) sigma'(w x + b) x; the derivative is (y_hat - y) sigma' x."""
    x, w, b, y = 1.5, 0.8, -0.5, 1.0              # the chapter's values: z = 0.7
    z = w * x + b
    s = 1.0 / (1.0 + math.exp(-z))
    correct = (s - y) * s * (1 - s) * x
    note = (y - s) * s * (1 - s) * x

    layer, act, loss = linear_from([[w]], [b]), Sigmoid(), MSELoss(half=True)
    xa, ya = np.array([[x]]), np.array([[y]])
    loss(act(layer(xa)), ya)
    layer.backward(act.backward(loss.backward()))
    assert layer.weight.grad[0, 0] == pytest.approx(correct, abs=EXACT)
    assert layer.bias.grad[0] == pytest.approx(correct / x, abs=EXACT)
    numeric = numerical_gradient(lambda _: loss(act(layer(xa)), ya), layer.weight.data)
    assert numeric[0, 0] == pytest.approx(correct, rel=1e-7)
    assert note == pytest.approx(-correct, abs=EXACT) and correct < 0 < note
    # a step along the note's formula raises the loss; along the correct one lowers it
    def loss_at(w_new):
        s_new = 1.0 / (1.0 + math.exp(-(w_new * x + b)))
        return 0.5 * (y - s_new) ** 2
    assert loss_at(w - 0.5 * note) > loss_at(w) > loss_at(w - 0.5 * correct)


# ====================================================== note 000 5.3.2: f = x^2 + y^2
def test_partial_derivatives_of_x2_plus_y2():
    point = np.array([1.5, -0.5])
    numeric = numerical_gradient(lambda p: p[0] ** 2 + p[1] ** 2, point)
    assert numeric == pytest.approx([2 * 1.5, 2 * -0.5], rel=1e-8)
