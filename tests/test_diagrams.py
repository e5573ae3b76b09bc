"""draw_architecture: what it draws for the course's networks, and what it leaves untouched."""

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

import course_nn as nn  # noqa: E402
from course_nn.lab.diagrams import draw_architecture  # noqa: E402
from course_nn.lab.exercises.cnn import digits_cnn  # noqa: E402

CNN_SHAPES = [(1, 8, 8), (16, 8, 8), (16, 8, 8), (16, 4, 4), (32, 4, 4), (32, 4, 4), (32, 2, 2),
              (128,), (64,), (64,), (10,)]
CNN_PARAMS = [0, 160, 0, 0, 4640, 0, 0, 0, 8256, 0, 650]
CNN_NAMES = ["Input", "Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear",
             "ReLU", "Linear"]
CNN_LABELS = ["input", "Conv2d 1→16\n3×3, pad 1", "ReLU", "MaxPool 2×2", "Conv2d 16→32\n3×3, pad 1",
              "ReLU", "MaxPool 2×2", "Flatten", "Linear 128→64", "ReLU", "Linear 64→10"]


def mlp():
    return nn.Sequential(nn.Linear(64, 128, rng=np.random.default_rng(1)), nn.ReLU(),
                         nn.Linear(128, 10, rng=np.random.default_rng(1)))


@pytest.fixture
def ax():
    fig, ax = plt.subplots(figsize=(10.5, 3))
    yield ax
    plt.close(fig)


def test_cnn_summary_follows_the_shapes_and_parameters(ax):
    summary = draw_architecture(ax, digits_cnn(1), (1, 8, 8))
    assert [item["name"] for item in summary] == CNN_NAMES
    assert [item["shape"] for item in summary] == CNN_SHAPES
    assert [item["params"] for item in summary] == CNN_PARAMS
    assert [item["label"] for item in summary] == CNN_LABELS
    assert [item["kind"] for item in summary] == ["input"] + ["arrow" if name == "ReLU" else "block"
                                                             for name in CNN_NAMES[1:]]
    assert sum(CNN_PARAMS) == 13706
    assert ax.get_title() == "13,706 parameters"


def test_cnn_figure_has_every_label(ax):
    draw_architecture(ax, digits_cnn(1), (1, 8, 8), title="chapter 14's CNN")
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 8 * 2 + 3  # a layer label and a shape label per block, one per ReLU arrow
    assert texts.count("ReLU") == 3
    for label in ["input", "1×8×8", "Conv2d 1→16\n3×3, pad 1", "16×8×8\n160 parameters", "16×4×4",
                  "32×4×4\n4,640 parameters", "32×2×2", "Flatten", "128", "Linear 128→64",
                  "64\n8,256 parameters", "10\n650 parameters"]:
        assert label in texts
    assert ax.get_title() == "chapter 14's CNN (13,706 parameters)"


def test_mlp_summary_and_labels(ax):
    summary = draw_architecture(ax, mlp(), (64,))
    assert [(item["name"], item["shape"], item["params"]) for item in summary] == [
        ("Input", (64,), 0), ("Linear", (128,), 8320), ("ReLU", (128,), 0), ("Linear", (10,), 1290)]
    texts = [t.get_text() for t in ax.texts]
    assert sorted(texts) == sorted(["input", "64", "Linear 64→128", "128\n8,320 parameters", "ReLU",
                                    "Linear 128→10", "10\n1,290 parameters"])
    assert ax.get_title() == "9,610 parameters"


@pytest.mark.parametrize("model,input_shape,figsize", [
    (digits_cnn(1), (1, 8, 8), (10.5, 3)), (mlp(), (64,), (4.5, 3))])
def test_labels_do_not_overlap_at_the_book_sizes(model, input_shape, figsize):
    fig, ax = plt.subplots(figsize=figsize)
    draw_architecture(ax, model, input_shape, title="a title")
    fig.tight_layout()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
    patches = [p.get_window_extent(renderer) for p in ax.patches if isinstance(p, Rectangle)]
    figure_box = fig.bbox
    plt.close(fig)
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)
    for box in boxes:
        assert box.x0 >= figure_box.x0 and box.x1 <= figure_box.x1
        assert not any(box.overlaps(patch) for patch in patches)


def test_nested_sequential_and_other_layers(ax):
    model = nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 8, 5, stride=2, rng=np.random.default_rng(0)), nn.PReLU()),
        nn.MaxPool2d(3, stride=1, padding=1), nn.AvgPool2d(2), nn.Flatten(),
        nn.Sequential(nn.Linear(72, 32, rng=np.random.default_rng(0)), nn.BatchNorm1d(32)),
        nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 1, rng=np.random.default_rng(0)), nn.Sigmoid())
    summary = draw_architecture(ax, model, (3, 16, 16))
    assert [(item["label"], item["shape"], item["params"], item["kind"]) for item in summary] == [
        ("input", (3, 16, 16), 0, "input"),
        ("Conv2d 3→8\n5×5, stride 2", (8, 6, 6), 608, "block"),
        ("PReLU", (8, 6, 6), 1, "arrow"),
        ("MaxPool 3×3\nstride 1, pad 1", (8, 6, 6), 0, "block"),
        ("AvgPool 2×2", (8, 3, 3), 0, "block"),
        ("Flatten", (72,), 0, "block"),
        ("Linear 72→32", (32,), 2336, "block"),
        ("BatchNorm1d", (32,), 64, "block"),
        ("ReLU", (32,), 0, "arrow"),
        ("Dropout p=0.5", (32,), 0, "arrow"),
        ("Linear 32→1", (1,), 33, "block"),
        ("Sigmoid", (1,), 0, "arrow"),
    ]
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 8 * 2 + 3  # consecutive arrow layers share one label
    assert "PReLU\n1 parameter" in texts and "ReLU\nDropout p=0.5" in texts and "Sigmoid" in texts


def test_modes_parameters_and_generators_are_untouched(ax):
    model = nn.Sequential(nn.Linear(4, 8, rng=np.random.default_rng(0)), nn.BatchNorm1d(8), nn.ReLU(),
                          nn.Dropout(0.5), nn.Linear(8, 2, rng=np.random.default_rng(0)))
    model.train()
    model[3].eval()
    modes = [layer.training for layer in model]
    before = [p.data.copy() for p in model.parameters()]
    running = (model[1].running_mean.copy(), model[1].running_var.copy())
    nn.manual_seed(123)
    expected = nn.Linear(3, 2).weight.data.copy()
    nn.manual_seed(123)

    draw_architecture(ax, model, (4,))  # a batch of 1 in training mode would fail in BatchNorm1d

    assert model.training and [layer.training for layer in model] == modes
    for p, data in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, data)
    np.testing.assert_array_equal(model[1].running_mean, running[0])
    np.testing.assert_array_equal(model[1].running_var, running[1])
    np.testing.assert_array_equal(nn.Linear(3, 2).weight.data, expected)


def test_rejects_a_model_that_is_not_sequential(ax):
    with pytest.raises(TypeError, match="expected a course_nn.Sequential, got Linear"):
        draw_architecture(ax, nn.Linear(2, 3), (2,))


@pytest.mark.parametrize("input_shape", [[1, 8, 8], (), (0, 8, 8), (1, 8.0, 8), (True, 8), 64, (-1, 8)])
def test_rejects_a_bad_input_shape(ax, input_shape):
    with pytest.raises(ValueError, match="tuple of positive ints") as info:
        draw_architecture(ax, digits_cnn(1), input_shape)
    assert repr(input_shape) in str(info.value)


@pytest.mark.parametrize("input_shape,layer,seen", [
    ((3, 8, 8), "layer 0 (Conv2d)", "(3, 8, 8)"),
    ((1, 6, 6), "layer 7 (Linear)", "(32,)"),
    ((64,), "layer 0 (Conv2d)", "(64,)"),
])
def test_a_failing_forward_names_the_layer_and_its_input(ax, input_shape, layer, seen):
    model = digits_cnn(1)
    with pytest.raises(ValueError, match="draw_architecture: ") as info:
        draw_architecture(ax, model, input_shape)
    message = str(info.value)
    assert layer in message and f"input of shape {seen}" in message
    assert info.value.__cause__ is not None
    assert model.training and all(layer.training for layer in model)  # restored after the failure


def test_a_failing_layer_inside_a_nested_sequential_has_a_dotted_name(ax):
    model = nn.Sequential(nn.Flatten(), nn.Sequential(nn.ReLU(), nn.Linear(5, 2)))
    with pytest.raises(ValueError, match=r"layer 1\.1 \(Linear\) failed on an input of shape \(4,\)"):
        draw_architecture(ax, model, (2, 2))
