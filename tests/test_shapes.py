"""Numbers and shapes of chapters 1 and 2, pinned independently of the notebooks.

Each count is computed by course_nn and compared with the value the notes state (where they
are right) or with the corrected value (see the errata appendix).
"""

import numpy as np
import pytest

import course_nn as cn


def dense(*sizes, bias=True):
    return cn.Sequential(*[cn.Linear(n_in, n_out, bias=bias, init=cn.init.zeros)
                           for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)])


def with_weights(W, b=None):
    W = np.asarray(W, dtype=float)
    layer = cn.Linear(W.shape[1], W.shape[0], bias=b is not None, init=cn.init.zeros)
    layer.weight.data[...] = W
    if b is not None:
        layer.bias.data[...] = b
    return layer


# --- note 002 §11.1: dense layer 3 -> 4 ----------------------------------------------------

def test_dense_layer_3_to_4_has_12_weights_and_4_biases():
    layer = cn.Linear(3, 4, rng=np.random.default_rng(0))
    assert layer.weight.shape == (4, 3)
    assert layer.weight.size == 12
    assert layer.bias.shape == (4,)
    assert layer.num_parameters() == 16


def test_row_vector_times_3x4_matrix_gives_1x4():
    layer = cn.Linear(3, 4, rng=np.random.default_rng(0))
    x = np.array([[1.0, -0.5, 2.0]])
    assert layer.weight.data.T.shape == (3, 4)            # the note's 3 x 4 matrix
    assert (x @ layer.weight.data.T).shape == (1, 4)
    assert layer(x).shape == (1, 4)
    with pytest.raises(ValueError):
        x @ layer.weight.data                              # (1, 3) @ (4, 3): undefined


# --- note 002 §8: 100 features, batch 32, 50 neurons ---------------------------------------

def test_linear_100_to_50_on_a_batch_of_32_rows():
    layer = cn.Linear(100, 50, rng=np.random.default_rng(0))
    assert layer.weight.shape == (50, 100)
    assert layer(np.zeros((32, 100))).shape == (32, 50)


def test_column_form_gives_50_by_32_and_is_the_transpose():
    rng = np.random.default_rng(1)
    layer = cn.Linear(100, 50, rng=rng)
    A0 = rng.normal(size=(100, 32))
    W, b = layer.weight.data, layer.bias.data
    Z = W @ A0 + b[:, None]
    assert Z.shape == (50, 32)
    assert cn.ReLU()(Z).shape == (50, 32)
    np.testing.assert_allclose(layer(A0.T), Z.T, rtol=1e-12, atol=1e-12)
    Z_loop = np.column_stack([W @ A0[:, s] + b for s in range(32)])
    np.testing.assert_allclose(Z_loop, Z, rtol=1e-12, atol=1e-12)


# --- note 002 §10.2: 224 x 224 x 3 image, dense layer to 4096 ------------------------------

def test_flattened_image_has_150528_entries():
    image = np.random.default_rng(0).random((224, 224, 3))
    flat = image.reshape(-1)
    assert flat.shape == (150528,)
    assert flat[3] == image[0, 1, 0]


@pytest.mark.parametrize("k", [1, 2, 8])
def test_dense_layer_from_150528_inputs_has_150529_parameters_per_neuron(k):
    assert cn.Linear(150528, k, init=cn.init.zeros).num_parameters() == 150529 * k


def test_dense_layer_150528_to_4096_count():
    per_neuron = cn.Linear(150528, 1, init=cn.init.zeros).num_parameters()
    assert per_neuron * 4096 == 616_566_784
    assert 150528 * 4096 == 616_562_688                    # weights alone
    assert 4 * per_neuron * 4096 / 1e9 == pytest.approx(2.466, abs=1e-3)   # GB in float32


# --- note 002 §11.2: the 784-128-10 digit network ------------------------------------------

def test_digit_network_784_128_10_parameter_counts():
    assert 28 * 28 == 784
    net = cn.Sequential(cn.Linear(784, 128, init=cn.init.zeros), cn.ReLU(),
                        cn.Linear(128, 10, init=cn.init.zeros))
    assert net.num_parameters() == 101_770
    assert dense(784, 128, 10, bias=False).num_parameters() == 101_632
    shapes = {name: p.shape for name, p in net.named_parameters()}
    assert shapes == {"0.weight": (128, 784), "0.bias": (128,),
                      "2.weight": (10, 128), "2.bias": (10,)}
    assert net(np.zeros((5, 784))).shape == (5, 10)


def test_single_image_layer_dwarfs_the_digit_network():
    big = cn.Linear(150528, 1, init=cn.init.zeros).num_parameters() * 4096
    assert round(big / dense(784, 128, 10).num_parameters()) == 6058


# --- note 003 (激活值): index ranges --------------------------------------------------------

def test_m_by_n_weight_matrix_not_m_plus_1_by_n_plus_1():
    m, n = 4, 3
    layer = cn.Linear(n, m, init=cn.init.zeros)
    assert layer.weight.shape == (m, n) and layer.bias.shape == (m,)
    assert (m + 1) * (n + 1) == 20 != layer.weight.size == 12


def test_index_form_equals_matrix_form():
    layer = cn.Linear(3, 4, rng=np.random.default_rng(2))
    W, b = layer.weight.data, layer.bias.data
    a_prev = np.array([0.3, -1.2, 0.8])
    by_index = np.array([sum(W[j, i] * a_prev[i] for i in range(3)) + b[j] for j in range(4)])
    np.testing.assert_allclose(layer(a_prev[None, :])[0], by_index, rtol=1e-12)


# --- chapter 1: the 2-3-1 network ----------------------------------------------------------

def test_2_3_1_network_shapes_and_counts():
    rng = np.random.default_rng(0)
    model = cn.Sequential(cn.Linear(2, 3, rng=rng), cn.ReLU(), cn.Linear(3, 1, rng=rng))
    assert model.num_parameters() == 13
    assert sum(p.size for n, p in model.named_parameters() if n.endswith("weight")) == 9
    x = np.zeros((4, 2))
    assert model[0](x).shape == (4, 3)
    assert model(x).shape == (4, 1)


@pytest.mark.parametrize(("sizes", "total", "weights"), [
    ([2, 3, 1], 13, 9),
    ([784, 128, 10], 101_770, 101_632),
    ([784, 512, 512, 10], 669_706, 668_672),
    ([3072, 1024, 1024, 10], 4_206_602, 4_204_544),
])
def test_dense_network_counts_of_chapter_1(sizes, total, weights):
    assert dense(*sizes).num_parameters() == total
    assert dense(*sizes, bias=False).num_parameters() == weights


# --- chapter 2: single-neuron facts behind the errata --------------------------------------

def test_weight_magnitude_not_value_decides_amplification():
    for w, gain in [(3.0, 3.0), (0.5, 0.5), (-0.5, 0.5), (-3.0, 3.0)]:
        out = with_weights([[w]])(np.array([[2.0]]))[0, 0]
        assert abs(out) / 2.0 == pytest.approx(gain)
    assert with_weights([[-3.0]])(np.array([[2.0]]))[0, 0] == -6.0   # w < 1, yet amplified


def test_zero_input_gives_f_of_bias():
    x0 = np.zeros((1, 2))
    for act, f0 in [(cn.Identity(), 0.0), (cn.ReLU(), 0.0), (cn.Tanh(), 0.0),
                    (cn.Sigmoid(), 0.5)]:
        assert act(with_weights([[0.7, -1.3]], [0.0])(x0))[0, 0] == pytest.approx(f0)
    assert cn.ReLU()(with_weights([[0.7, -1.3]], [-0.5])(x0))[0, 0] == 0.0   # bias, still 0
    assert cn.Sigmoid()(with_weights([[0.7, -1.3]], [0.5])(x0))[0, 0] == pytest.approx(
        1 / (1 + np.exp(-0.5)))


def test_no_single_neuron_solves_xor_but_two_layers_do():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    rng = np.random.default_rng(0)
    K = 20_000
    candidates = with_weights(3 * rng.normal(size=(K, 2)), 3 * rng.normal(size=K))
    accuracy = ((candidates(X) > 0) == y[:, None]).mean(axis=0)
    assert accuracy.max() == 0.75
    net = cn.Sequential(with_weights([[1.0, 1.0], [1.0, 1.0]], [0.0, -1.0]), cn.ReLU(),
                        with_weights([[1.0, -2.0]], [0.0]))
    np.testing.assert_array_equal(net(X)[:, 0], y)


def test_two_layer_vector_example():
    net = cn.Sequential(with_weights([[0.5, -1.0], [1.5, 1.0]], [0.1, -0.2]), cn.ReLU(),
                        with_weights([[2.0, -1.0]], [0.5]))
    np.testing.assert_allclose(net[0](np.array([[1.0, -2.0]]))[0], [2.6, -0.7])
    assert net(np.array([[1.0, -2.0]]))[0, 0] == pytest.approx(5.7)


def test_weight_layout_readings_differ():
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    x = np.array([[0.0, 1.0]])
    np.testing.assert_allclose(with_weights(W)(x)[0], [2.0, 4.0])     # row j: into neuron j
    np.testing.assert_allclose(with_weights(W.T)(x)[0], [3.0, 4.0])   # row i: out of input i


def test_convolution_is_a_banded_dense_layer():
    kernel = np.array([0.5, -1.0, 0.25])
    signal = np.random.default_rng(8).normal(size=8)
    W = np.zeros((6, 8))
    for j in range(6):
        W[j, j:j + 3] = kernel
    np.testing.assert_allclose(with_weights(W)(signal[None, :])[0],
                               np.correlate(signal, kernel, mode="valid"), rtol=1e-12)
    assert np.count_nonzero(W) == 18


def test_default_init_bound():
    layer = cn.Linear(100, 50, rng=np.random.default_rng(0))
    assert np.abs(layer.weight.data).max() <= 0.1
    assert np.abs(layer.bias.data).max() <= 0.1
