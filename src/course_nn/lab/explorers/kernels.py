"""Chapter 13 explorer: slide a 3 x 3 kernel over an image and watch the feature map.

Choose a preset kernel (blur, sharpen, edge detectors, ...) or type the nine entries, choose
an image (a digit from the bundled 8 x 8 set, or a synthetic square, disk or stripes), and
set stride and padding. The explorer shows input, kernel and feature map side by side; the
feature map is computed by ``course_nn.Conv2d`` (a cross-correlation, as in every deep-learning
library).

The computing and drawing are plain functions (tested without a browser); ``kernel_explorer``
only wires widgets to them. Figures are drawn on a ``matplotlib.figure.Figure`` (no pyplot
state) and shown as a PNG in an ipywidgets ``Image``.

    from course_nn.lab.explorers.kernels import kernel_explorer
    kernel_explorer()        # in a notebook
"""

import functools

import numpy as np

from ..._validate import as_real_array, check_int
from ...conv import Conv2d, conv_output_size
from ._figure import new_figure, show

PRESETS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "box blur": [[1 / 9] * 3] * 3,
    "Gaussian blur": [[1 / 16, 2 / 16, 1 / 16], [2 / 16, 4 / 16, 2 / 16], [1 / 16, 2 / 16, 1 / 16]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "vertical edge (Sobel x)": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
    "horizontal edge (Sobel y)": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
    "outline (Laplacian)": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
}
IMAGES = ("digit", "square", "disk", "stripes")
SYNTHETIC_SIZE = 16
STRIDE_RANGE, PADDING_RANGE = (1, 3), (0, 2)   # the explorer's sliders


def preset_kernel(name):
    """A (3, 3) float64 copy of the named preset kernel."""
    if not isinstance(name, str) or name not in PRESETS:
        raise ValueError(f"unknown kernel {name!r}; choose from {', '.join(PRESETS)}")
    return np.array(PRESETS[name], dtype=np.float64)


@functools.lru_cache(maxsize=1)
def _digits():
    from ...data import load_digits

    images, labels = load_digits(as_images=True)
    images.setflags(write=False)   # shared by every caller: nobody may change them
    labels.setflags(write=False)
    return images, labels


def make_image(name="digit", digit=0):
    """A 2-D float64 image in [0, 1].

    "digit": image number ``digit`` of the 8 x 8 digits (``load_digits(as_images=True)``);
    "square", "disk", "stripes": synthetic 16 x 16 images (a bright square, a disk, and
    vertical stripes two pixels wide). digit: an int index (used for "digit" only).
    """
    if not isinstance(name, str) or name not in IMAGES:
        raise ValueError(f"unknown image {name!r}; choose from {', '.join(IMAGES)}")
    digit = check_int(digit, "digit")
    if name == "digit":
        images, _ = _digits()
        if not 0 <= digit < len(images):
            raise ValueError(f"digit: expected an index in [0, {len(images) - 1}], got {digit}")
        return images[digit].copy()
    n = SYNTHETIC_SIZE
    rows, cols = np.mgrid[0:n, 0:n]
    if name == "square":
        return ((rows >= 4) & (rows < 12) & (cols >= 4) & (cols < 12)).astype(np.float64)
    if name == "disk":
        return ((rows - 7.5) ** 2 + (cols - 7.5) ** 2 <= 5.5**2).astype(np.float64)
    if name == "stripes":
        return ((cols // 2) % 2 == 0).astype(np.float64)
    raise ValueError(f"unknown image {name!r}; choose from {', '.join(IMAGES)}")


def feature_map(image, kernel, stride=1, padding=0):
    """Cross-correlate a 2-D image with a 2-D kernel by ``course_nn.Conv2d`` (no bias).

    image: (H, W), kernel: (kh, kw), finite reals -> (Ho, Wo),
    Ho = floor((H + 2 padding - kh) / stride) + 1; stride >= 1, padding >= 0 (ints).
    """
    image = as_real_array(image, "feature_map image", ndim=2)
    kernel = as_real_array(kernel, "feature_map kernel", ndim=2)
    stride = check_int(stride, "stride", low=1)
    padding = check_int(padding, "padding", low=0)
    conv = Conv2d(1, 1, kernel.shape, stride=stride, padding=padding, bias=False,
                  rng=np.random.default_rng(0))
    conv.weight.data[0, 0] = kernel
    return conv(image[None, None])[0, 0]


def kernel_state(image="digit", kernel="vertical edge (Sobel x)", stride=1, padding=0, digit=0):
    """Everything the explorer shows. ``kernel`` is a preset name or a 2-D array of finite
    reals; stride >= 1 and padding >= 0 are ints."""
    x = make_image(image, digit)
    k = (preset_kernel(kernel) if isinstance(kernel, str)
         else as_real_array(kernel, "kernel", ndim=2).copy())
    stride = check_int(stride, "stride", low=1)
    padding = check_int(padding, "padding", low=0)
    for axis in (0, 1):  # raises a clear error when the kernel does not fit
        conv_output_size(x.shape[axis], k.shape[axis], stride, padding)
    return {
        "image_name": image, "digit": int(digit),
        "kernel_name": kernel if isinstance(kernel, str) else "custom",
        "image": x, "kernel": k, "stride": stride, "padding": padding,
        "output": feature_map(x, k, stride, padding),
    }


def _grid(ax, shape):
    ax.set_xticks(np.arange(-0.5, shape[1], 1), minor=True)
    ax.set_yticks(np.arange(-0.5, shape[0], 1), minor=True)
    ax.grid(which="minor", color="white", lw=0.5)
    ax.tick_params(which="minor", length=0)


def draw_kernel_state(axes, state):
    """Draw input, kernel (with its numbers) and feature map on three axes."""
    ax_in, ax_k, ax_out = axes
    for ax in axes:
        ax.clear()
    x, k, y = state["image"], state["kernel"], state["output"]
    p = state["padding"]
    ax_in.imshow(x, cmap="gray_r", vmin=0, vmax=1)
    if p:  # outline of the zero padding around the image
        from matplotlib.patches import Rectangle

        ax_in.add_patch(Rectangle((-0.5 - p, -0.5 - p), x.shape[1] + 2 * p, x.shape[0] + 2 * p,
                                  fill=False, ls="--", color="tab:blue", lw=1))
        ax_in.set_xlim(-0.5 - p, x.shape[1] - 0.5 + p)
        ax_in.set_ylim(x.shape[0] - 0.5 + p, -0.5 - p)
    label = state["image_name"] + (f" #{state['digit']}" if state["image_name"] == "digit" else "")
    ax_in.set_title(f"input {label}: {x.shape[0]}×{x.shape[1]}"
                    + (f" (+ padding {p})" if p else ""), fontsize=9)

    m = max(float(np.abs(k).max()), 1e-12)
    ax_k.imshow(k, cmap="RdBu_r", vmin=-m, vmax=m)
    for (i, j), v in np.ndenumerate(k):
        ax_k.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=9,
                  color="white" if abs(v) > 0.6 * m else "black")
    ax_k.set_xticks(range(k.shape[1]))
    ax_k.set_yticks(range(k.shape[0]))
    _grid(ax_k, k.shape)
    ax_k.set_title(f"kernel: {state['kernel_name']}", fontsize=9)

    m = max(float(np.abs(y).max()), 1e-12)
    ax_out.imshow(y, cmap="RdBu_r", vmin=-m, vmax=m)
    ax_out.set_title(f"feature map: {y.shape[0]}×{y.shape[1]} (stride {state['stride']})", fontsize=9)
    for ax in axes:
        ax.set_xlabel("column")
    ax_in.set_ylabel("row")
    return axes




class KernelExplorer:
    """Widgets: preset, nine kernel entries, image, digit index, stride, padding; a PNG figure.

    ``entries`` is a 3 x 3 list of FloatText widgets; choosing a preset writes its numbers into
    them, and editing an entry switches the preset to "custom".
    """

    def __init__(self, image="digit", kernel="vertical edge (Sobel x)", stride=1, padding=0, digit=0):
        import ipywidgets as widgets

        if not isinstance(kernel, str) or (kernel != "custom" and kernel not in PRESETS):
            raise ValueError(f"unknown kernel {kernel!r}; choose from {', '.join(PRESETS)} or custom")
        if not isinstance(image, str) or image not in IMAGES:
            raise ValueError(f"unknown image {image!r}; choose from {', '.join(IMAGES)}")
        stride = check_int(stride, "stride", low=STRIDE_RANGE[0], high=STRIDE_RANGE[1])
        padding = check_int(padding, "padding", low=PADDING_RANGE[0], high=PADDING_RANGE[1])
        digit = check_int(digit, "digit", low=0, high=len(_digits()[0]) - 1)
        self._syncing = False
        self.preset = widgets.Dropdown(options=list(PRESETS) + ["custom"], value=kernel,
                                       description="kernel")
        values = preset_kernel(kernel) if kernel != "custom" else np.eye(3)
        self.entries = [[widgets.FloatText(value=float(values[i, j]), step=0.1,
                                           layout=widgets.Layout(width="70px"))
                         for j in range(3)] for i in range(3)]
        self.controls = {
            "image": widgets.Dropdown(options=list(IMAGES), value=image, description="image"),
            "digit": widgets.IntSlider(value=digit, min=0, max=len(_digits()[0]) - 1,
                                       description="digit #"),
            "stride": widgets.IntSlider(value=stride, min=STRIDE_RANGE[0], max=STRIDE_RANGE[1],
                                        description="stride"),
            "padding": widgets.IntSlider(value=padding, min=PADDING_RANGE[0], max=PADDING_RANGE[1],
                                         description="padding"),
        }
        self.fig = new_figure((10, 3.4))
        self.axes = [self.fig.add_subplot(1, 3, i + 1) for i in range(3)]
        self.image = widgets.Image(format="png")
        self.message = widgets.HTML()
        grid = widgets.GridBox([e for row in self.entries for e in row],
                               layout=widgets.Layout(grid_template_columns="repeat(3, 75px)"))
        self.widget = widgets.VBox([
            widgets.HBox([widgets.VBox([self.preset, grid]),
                          widgets.VBox(list(self.controls.values()))]),
            self.message, self.image,
        ])
        self.preset.observe(self._on_preset, names="value")
        for row in self.entries:
            for entry in row:
                entry.observe(self._on_entry, names="value")
        for control in self.controls.values():
            control.observe(lambda _change: self.update(), names="value")
        self.state = None
        self.update()

    def kernel(self):
        """The 3 x 3 kernel currently typed in the entries."""
        return np.array([[e.value for e in row] for row in self.entries], dtype=np.float64)

    def _on_preset(self, change):
        if change["new"] == "custom":
            return
        self._syncing = True
        for (i, j), v in np.ndenumerate(preset_kernel(change["new"])):
            self.entries[i][j].value = float(v)
        self._syncing = False
        self.update()

    def _on_entry(self, _change):
        if self._syncing:
            return
        if self.preset.value != "custom" and not np.array_equal(self.kernel(),
                                                                 preset_kernel(self.preset.value)):
            self._syncing = True
            self.preset.value = "custom"
            self._syncing = False
        self.update()

    def update(self):
        c = self.controls
        c["digit"].disabled = c["image"].value != "digit"
        try:
            state = kernel_state(c["image"].value, self.kernel(), c["stride"].value,
                                 c["padding"].value, c["digit"].value)
        except ValueError as err:
            self.message.value = f"<b>{err}</b>"
            return self.state
        state["kernel_name"] = self.preset.value
        self.message.value = ""
        self.state = state
        draw_kernel_state(self.axes, state)
        self.fig.tight_layout()
        show(self.image, self.fig)
        return self.state

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


def kernel_explorer(image="digit", kernel="vertical edge (Sobel x)", stride=1, padding=0, digit=0):
    """Kernel explorer: a preset or typed 3 x 3 kernel slid over an image; shows the feature map."""
    return KernelExplorer(image, kernel, stride, padding, digit)
