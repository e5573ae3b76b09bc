"""course_nn.lab.stacked: S networks trained as one. Each slice of a stack computes what its model
computes alone (forward, gradients, a whole training run with fit's batches, BatchNorm2d's
batch and running statistics), the backward passes agree with central differences, and what
cannot be stacked faithfully is refused."""

import numpy as np
import pytest

import course_nn as nn
from course_nn.lab.stacked import StackedConv2d, fit_stacked, predict_stacked, stack, unstack
from course_nn.train import fit, predict


def small_cnn(seed, stride=1, padding=1, kernel=3, act=nn.ReLU):
    rng = np.random.default_rng(seed)
    conv2 = nn.Conv2d(3, 4, kernel, stride=stride, padding=padding, rng=rng)
    side = (4 + 2 * padding - kernel) // stride + 1
    return nn.Sequential(
        nn.Conv2d(1, 3, (3, 2), padding=(1, 0), rng=rng), act(), nn.MaxPool2d(2),
        conv2, act(), nn.Flatten(), nn.Linear(4 * side * side, 5, rng=rng), act(),
        nn.Linear(5, 3, rng=rng))


def images(rng, s, n):
    return rng.standard_normal((s, n, 1, 8, 9))      # 8 x 9: (3, 2) kernel, padding (1, 0) -> 8 x 8


@pytest.mark.parametrize("stride, padding, kernel", [(1, 1, 3), (2, 0, 2), (1, 0, 3), (2, 1, 3)])
def test_each_slice_computes_its_models_forward(stride, padding, kernel):
    models = [small_cnn(seed, stride, padding, kernel) for seed in (1, 2, 3)]
    x = images(np.random.default_rng(0), 3, 6)
    out = stack(models)(x)
    assert out.shape == (3, 6, 3)
    for s, m in enumerate(models):
        np.testing.assert_allclose(out[s], m(x[s]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("act", [nn.ReLU, nn.Tanh])
def test_each_slice_gets_its_models_gradients(act):
    models = [small_cnn(seed, act=act) for seed in (4, 5)]
    rng = np.random.default_rng(1)
    x, g = images(rng, 2, 5), rng.standard_normal((2, 5, 3))
    net = stack(models)
    net(x)
    dx = net.backward(g)
    stacked_params = [p for layer in net for p in layer.parameters()]
    for s, m in enumerate(models):
        m(x[s])
        np.testing.assert_allclose(dx[s], m.backward(g[s]), rtol=1e-10, atol=1e-12)
        for p, q in zip(stacked_params, m.parameters()):
            np.testing.assert_allclose(p.grad[s], q.grad, rtol=1e-10, atol=1e-12)


def test_backward_agrees_with_central_differences():
    net = stack([small_cnn(seed) for seed in (6, 7)])
    x = images(np.random.default_rng(2), 2, 3)
    errors = nn.check_module_gradients(net, x, rng=np.random.default_rng(3))
    assert max(errors.values()) < 1e-6, errors


def test_stack_then_unstack_gives_the_weights_back():
    models = [small_cnn(seed) for seed in (1, 2)]
    copies = [small_cnn(seed) for seed in (8, 9)]
    unstack(stack(models), copies)
    for m, c in zip(models, copies):
        for p, q in zip(m.parameters(), c.parameters()):
            np.testing.assert_array_equal(p.data, q.data)


def test_fit_stacked_is_fit_for_every_model():
    """Two CNNs and an MLP stack: each trained slice equals the model trained alone by fit with
    the same generator (the same batches), to round-off."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((70, 1, 8, 9))
    y = rng.integers(0, 3, 70)
    Xs = [X, X[::-1].copy()]
    stacked = [small_cnn(seed) for seed in (1, 2)]
    alone = [small_cnn(seed) for seed in (1, 2)]
    fit_stacked(stacked, [(Xs[0], y), (Xs[1], y[::-1].copy())], epochs=3, batch_size=16,
                rngs=[np.random.default_rng(10), np.random.default_rng(11)],
                optimizer=lambda p: nn.optim.Adam(p, lr=1e-2))
    for m, X_s, y_s, seed in zip(alone, Xs, (y, y[::-1].copy()), (10, 11)):
        fit(m, nn.CrossEntropyLoss(), nn.optim.Adam(m.parameters(), lr=1e-2), (X_s, y_s), epochs=3,
            batch_size=16, rng=np.random.default_rng(seed), progress=False)
    for a, b in zip(stacked, alone):
        for p, q in zip(a.parameters(), b.parameters()):
            np.testing.assert_allclose(p.data, q.data, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(predict_stacked(stacked, X), np.stack([predict(m, X) for m in alone]),
                               rtol=1e-9, atol=1e-12)


def test_fit_stacked_calls_after_epoch_with_the_weights_so_far():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 6)), rng.integers(0, 2, 40)
    models = [nn.Sequential(nn.Linear(6, 4, rng=np.random.default_rng(s)), nn.Sigmoid(),
                            nn.Linear(4, 2, rng=np.random.default_rng(s))) for s in (1, 2)]
    seen = []
    fit_stacked(models, (X, y), epochs=3, batch_size=8,
                rngs=[np.random.default_rng(5), np.random.default_rng(6)],
                optimizer=lambda p: nn.optim.SGD(p, lr=0.1),
                after_epoch=lambda e: seen.append((e, models[0][0].weight.data.copy())))
    assert [e for e, _ in seen] == [1, 2, 3]
    assert not np.array_equal(seen[0][1], seen[1][1])
    np.testing.assert_array_equal(seen[2][1], models[0][0].weight.data)


def test_predict_stacked_with_one_input_set_per_model():
    models = [small_cnn(seed) for seed in (1, 2)]
    x = images(np.random.default_rng(4), 2, 3)
    out = predict_stacked(models, x, per_model=True)
    for s, m in enumerate(models):
        np.testing.assert_allclose(out[s], predict(m, x[s]), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError):
        predict_stacked(models, x[:1], per_model=True)


def bn_cnn(seed, momentum=0.1):
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1, bias=False, rng=rng),  # (a bias before BatchNorm has gradient 0)
        nn.BatchNorm2d(3, momentum=momentum), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(3 * 4 * 4, 3, rng=rng))


def test_batchnorm2d_slices_use_their_own_statistics():
    """Training mode: each slice normalizes with its own batch's statistics (gradients too);
    evaluation mode: with its own running estimates, which unstack copies back."""
    models = [bn_cnn(seed) for seed in (1, 2)]
    for m, shift in zip(models, (0.0, 3.0)):
        m[1].running_mean = m[1].running_mean + shift      # different running estimates
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 6, 1, 8, 8)) * np.array([1.0, 4.0])[:, None, None, None, None]
    g = rng.standard_normal((2, 6, 3))
    net = stack(models)
    net.train()
    out, dx = net(x), None
    dx = net.backward(g)
    for s, m in enumerate(models):
        m.train()
        np.testing.assert_allclose(out[s], m(x[s]), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(dx[s], m.backward(g[s]), rtol=1e-9, atol=1e-12)
    net.eval()
    out = net(x)
    unstack(net, models)
    for s, m in enumerate(models):
        m.eval()
        np.testing.assert_allclose(out[s], m(x[s]), rtol=1e-10, atol=1e-12)
    errors = nn.check_module_gradients(stack([bn_cnn(3), bn_cnn(4)]), x, rng=np.random.default_rng(6))
    assert max(errors.values()) < 1e-6, errors


def test_fit_stacked_with_batchnorm2d_is_fit_for_every_model():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((45, 1, 8, 8)), rng.integers(0, 3, 45)
    stacked, alone = [bn_cnn(seed) for seed in (1, 2)], [bn_cnn(seed) for seed in (1, 2)]
    fit_stacked(stacked, (X, y), epochs=3, batch_size=16,
                rngs=[np.random.default_rng(7), np.random.default_rng(8)],
                optimizer=lambda p: nn.optim.Adam(p, lr=1e-2))
    for m, seed in zip(alone, (7, 8)):
        fit(m, nn.CrossEntropyLoss(), nn.optim.Adam(m.parameters(), lr=1e-2), (X, y), epochs=3,
            batch_size=16, rng=np.random.default_rng(seed), progress=False)
    for a, b in zip(stacked, alone):
        for p, q in zip(a.parameters(), b.parameters()):
            np.testing.assert_allclose(p.data, q.data, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(a[1].running_mean, b[1].running_mean, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(a[1].running_var, b[1].running_var, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(predict_stacked(stacked, X), np.stack([predict(m, X) for m in alone]),
                               rtol=1e-9, atol=1e-12)


def test_batchnorm2d_layers_must_agree():
    with pytest.raises(ValueError):
        stack([bn_cnn(1), bn_cnn(2, momentum=0.2)])


@pytest.mark.parametrize("layer", [nn.Dropout(0.5), nn.BatchNorm1d(4), nn.Softmax(dim=1),
                                   nn.MaxPool2d(3, stride=1), nn.AvgPool2d(2)])
def test_layers_that_cannot_be_stacked_faithfully_are_refused(layer):
    with pytest.raises((TypeError, ValueError)):
        stack([nn.Sequential(nn.Linear(4, 4), layer)] * 2)


def test_models_must_share_the_architecture():
    with pytest.raises(ValueError, match="differ"):
        stack([nn.Sequential(nn.Linear(4, 3)), nn.Sequential(nn.Linear(4, 2))])
    with pytest.raises(ValueError, match="types"):
        stack([nn.Sequential(nn.Linear(4, 3), nn.ReLU()), nn.Sequential(nn.Linear(4, 3), nn.Tanh())])
    with pytest.raises(ValueError, match="numbers of layers"):
        stack([nn.Sequential(nn.Linear(4, 3)), nn.Sequential(nn.Linear(4, 3), nn.ReLU())])
    with pytest.raises(ValueError):
        StackedConv2d([nn.Conv2d(1, 2, 3), nn.Conv2d(1, 2, 3, padding=1)])


def test_wrong_inputs_fail_loudly():
    net = stack([small_cnn(1), small_cnn(2)])
    with pytest.raises(ValueError):
        net(np.zeros((3, 4, 1, 8, 9)))                 # three input sets for two models
    with pytest.raises(ValueError):
        fit_stacked([small_cnn(1), small_cnn(2)], [(np.zeros((4, 1, 8, 9)), np.zeros(4, int))],
                    epochs=1, batch_size=2, rngs=[np.random.default_rng(0)] * 2,
                    optimizer=lambda p: nn.optim.SGD(p, lr=0.1))
