"""Chapter 2 explorer: one sigmoid neuron over the plane, tested without a browser."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_nn.lab.explorers import neuron as ex  # noqa: E402


def test_surface_is_the_sigmoid_of_the_affine_map():
    X1, X2, A = ex.neuron_surface(1.0, 2.0, -0.5, grid_size=11)
    assert X1.shape == X2.shape == A.shape == (11, 11)
    np.testing.assert_allclose(A, 1 / (1 + np.exp(-(1.0 * X1 + 2.0 * X2 - 0.5))), rtol=1e-12)


def test_boundary_passes_through_minus_b_over_w():
    # w = (1, 0): the boundary is the vertical line x1 = -b
    X1, _, A = ex.neuron_surface(1.0, 0.0, 1.2, grid_size=301)
    row = A[0]
    crossing = X1[0][np.argmin(np.abs(row - 0.5))]
    assert crossing == pytest.approx(-1.2, abs=0.02)


@pytest.mark.parametrize("bad", [np.nan, "1", None])
def test_bad_weights_are_rejected(bad):
    with pytest.raises((TypeError, ValueError), match="w1"):
        ex.neuron_surface(bad, 1.0, 0.0)


def test_slider_out_of_range_is_rejected():
    pytest.importorskip("ipywidgets")
    with pytest.raises(ValueError, match="b: expected a value <= 4.0"):
        ex.neuron_explorer(b=9.0)


def test_moving_a_slider_redraws():
    pytest.importorskip("ipywidgets")
    box = ex.neuron_explorer()
    image = box.children[-1]
    before = image.value
    box.controls["b"].value = -2.0
    assert bytes(image.value) != bytes(before) and bytes(image.value[:4]) == b"\x89PNG"
    assert "-2.0" in box.ax.get_title()
