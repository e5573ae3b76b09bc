"""Chapter 7 explorer: optimizer trajectories on a contour plot.

Pick a surface (an ill-conditioned quadratic, the saddle x^2 - y^2, Rosenbrock's valley), one
or more optimizers, a learning rate, momentum / alpha / betas and a number of steps; the
explorer runs ``course_nn.optim`` from the surface's starting point (via
``course_nn.lab.surfaces.run_optimizer``) and redraws every trajectory on the contours, next to
the value f(p_t) against the step t.

The computing and drawing are plain functions, tested without a browser:

    trajectory_state(surface, optimizers, lr, ...)  the paths and values (a dict)
    draw_trajectories(ax_paths, ax_values, state)   draws them on two matplotlib Axes

``optimizer_explorer()`` wires ipywidgets to them; ipywidgets is imported only there. The
figure is a ``matplotlib.figure.Figure`` shown as a PNG in a widgets ``Image``, so no
interactive matplotlib backend is needed.

    from course_nn.lab.explorers.optimizers import optimizer_explorer
    optimizer_explorer()          # in a notebook
"""


import numpy as np

from ..._validate import check_int, check_number
from ...optim import SGD, AdaGrad, Adam, RMSProp
from ..surfaces import MAX_STEPS, make_surface, run_optimizer
from ._figure import new_figure, show

OPTIMIZER_NAMES = ("GD", "momentum", "AdaGrad", "RMSProp", "Adam")
COLORS = {"GD": "tab:blue", "momentum": "tab:orange", "AdaGrad": "tab:green",
          "RMSProp": "tab:red", "Adam": "tab:purple"}
# which hyperparameter sliders each optimizer reads (the others are greyed out)
USES = {"GD": (), "momentum": ("momentum",), "AdaGrad": (), "RMSProp": ("alpha",),
        "Adam": ("beta1", "beta2")}
SURFACE_NAMES = ("quadratic", "saddle", "rosenbrock")
# learning rates that make each optimizer do something sensible on each surface (the static
# figure of the chapter uses them; the sliders start from them)
GOOD_LR = {
    "quadratic": {"GD": 0.09, "momentum": 0.02, "AdaGrad": 0.5, "RMSProp": 0.05, "Adam": 0.1},
    "saddle": {"GD": 0.05, "momentum": 0.05, "AdaGrad": 0.05, "RMSProp": 0.05, "Adam": 0.05},
    "rosenbrock": {"GD": 0.002, "momentum": 0.002, "AdaGrad": 0.5, "RMSProp": 0.01, "Adam": 0.1},
}
DEFAULT_STEPS = {"quadratic": 100, "saddle": 60, "rosenbrock": 1000}
SLIDERS = {"lr": (1e-4, 10**0.5), "momentum": (0.0, 0.99), "alpha": (0.5, 0.999),
           "beta1": (0.0, 0.99), "beta2": (0.5, 0.9999), "steps": (1, 3000)}
"""The explorer's slider ranges: a starting value outside would be clamped silently, so it raises."""


def _names(optimizers):
    """A tuple of optimizer names from one name or an iterable of names."""
    if isinstance(optimizers, str):
        return (optimizers,)
    if not hasattr(optimizers, "__iter__"):
        raise TypeError(f"optimizers: expected names from {OPTIMIZER_NAMES}, got "
                        f"{type(optimizers).__name__}")
    return tuple(optimizers)


def optimizer_setup(name, lr, momentum=0.9, alpha=0.99, beta1=0.9, beta2=0.999):
    """(optimizer class, keyword arguments) for one of OPTIMIZER_NAMES; the optimizer checks
    its hyperparameters when it is built."""
    if not isinstance(name, str) or name not in OPTIMIZER_NAMES:
        raise ValueError(f"optimizer: expected one of {OPTIMIZER_NAMES}, got {name!r}")
    lr = check_number(lr, "lr", low=0, low_open=True)
    if name == "GD":
        return SGD, {"lr": lr}
    if name == "momentum":
        return SGD, {"lr": lr, "momentum": momentum}
    if name == "AdaGrad":
        return AdaGrad, {"lr": lr}
    if name == "RMSProp":
        return RMSProp, {"lr": lr, "alpha": alpha}
    if name == "Adam":
        return Adam, {"lr": lr, "betas": (beta1, beta2)}
    raise ValueError(f"optimizer: expected one of {OPTIMIZER_NAMES}, got {name!r}")


def trajectory_state(surface="rosenbrock", optimizers=OPTIMIZER_NAMES, lr=None, momentum=0.9,
                     alpha=0.99, beta1=0.9, beta2=0.999, steps=None, start=None):
    """Run each optimizer on the surface and collect what the explorer draws.

    optimizers: names from OPTIMIZER_NAMES, each once (a single name is fine too).
    lr: one learning rate for all, a dict {optimizer: lr} covering the chosen optimizers, or
    None for GOOD_LR[surface]. steps: an int, 1 <= steps <= MAX_STEPS (default
    DEFAULT_STEPS[surface]); start: a point (2,) (default the surface's start).
    Returns {"surface": Surface, "name", "start", "steps", "paths": {opt: (k+1, 2) array},
    "values": {opt: f(path)}, "lr": {opt: lr}, "diverged": {opt: bool}}. A path stops early
    (diverged) when the point leaves the ball of radius 1e6.
    """
    if not isinstance(surface, str) or surface not in SURFACE_NAMES:
        raise ValueError(f"surface: expected one of {SURFACE_NAMES}, got {surface!r}")
    optimizers = _names(optimizers)
    if not optimizers:
        raise ValueError("optimizers: choose at least one optimizer")
    unknown = [name for name in optimizers if not isinstance(name, str) or name not in OPTIMIZER_NAMES]
    if unknown:
        raise ValueError(f"optimizer: expected names from {OPTIMIZER_NAMES}, got {unknown}")
    if len(set(optimizers)) != len(optimizers):
        raise ValueError(f"optimizers: expected each name once, got {optimizers}")
    surf = make_surface(surface)
    steps = DEFAULT_STEPS[surface] if steps is None else check_int(steps, "steps", low=1,
                                                                       high=MAX_STEPS)
    start = surf.start if start is None else start
    if isinstance(lr, dict):
        missing = [name for name in optimizers if name not in lr]
        extra = [name for name in lr if name not in optimizers]
        if missing or extra:
            raise ValueError(f"lr: expected one learning rate for each chosen optimizer; missing "
                             f"{missing}, not chosen {extra}")
    lrs = {}
    for name in optimizers:
        if lr is None:
            lrs[name] = GOOD_LR[surface][name]
        elif isinstance(lr, dict):
            lrs[name] = lr[name]
        else:
            lrs[name] = lr
    paths, values, diverged = {}, {}, {}
    for name in optimizers:
        cls, kwargs = optimizer_setup(name, lrs[name], momentum, alpha, beta1, beta2)
        path = run_optimizer(cls, start, steps, surface=surf, **kwargs)
        paths[name] = path
        with np.errstate(over="ignore", invalid="ignore"):  # a diverged path ends far out: f may overflow
            values[name] = surf.value(path)
        diverged[name] = len(path) < steps + 1
    return {"surface": surf, "name": surface, "start": next(iter(paths.values()))[0].copy(),
            "steps": steps,
            "paths": paths, "values": values, "lr": lrs, "diverged": diverged}


def contour_levels(surf, Z):
    """Contour levels for a surface: log-spaced for valleys, symmetric for the saddle."""
    if surf.log_levels:
        return np.logspace(-1, np.log10(max(Z.max(), 1.0)), 15)
    if surf.minimum is None:
        bound = np.abs(Z).max()
        return np.linspace(-bound, bound, 21)
    return Z.max() * np.linspace(0.0, 1.0, 16)[1:] ** 2   # denser near the minimum


def draw_trajectories(ax_paths, ax_values, state, legend=True):
    """Contours of the surface with each optimizer's path (left), f(p_t) against t (right).

    On a surface with a minimum the right panel shows f(p_t) - f(min) on a log scale; on the
    saddle (unbounded below) it shows f(p_t) on a symmetric-log scale.
    """
    surf = state["surface"]
    X, Y, Z = surf.grid(200)
    ax_paths.clear()
    ax_paths.contour(X, Y, Z, levels=contour_levels(surf, Z), colors="0.7", linewidths=0.8)
    ax_paths.plot(*state["start"], "ko", ms=6, label="start")
    if surf.minimum is not None:
        ax_paths.plot(*surf.minimum, "k*", ms=12, label="minimum")
    else:
        ax_paths.plot(0.0, 0.0, "kx", ms=9, label="saddle point")
    for name, path in state["paths"].items():
        tag = "  (diverged)" if state["diverged"][name] else ""
        ax_paths.plot(path[:, 0], path[:, 1], "-", marker=".", ms=3, lw=1.2, color=COLORS[name],
                      label=f"{name}, lr {state['lr'][name]:g}{tag}")
    ax_paths.set_xlim(*surf.xlim)
    ax_paths.set_ylim(*surf.ylim)
    ax_paths.set_xlabel("x")
    ax_paths.set_ylabel("y")
    ax_paths.set_title(f"{state['name']}: {state['steps']} steps")
    if legend:
        ax_paths.legend(fontsize=7, loc="best")

    ax_values.clear()
    for name, values in state["values"].items():
        t = np.arange(len(values))
        if surf.minimum is not None:
            gap = np.maximum(values - float(surf.value(surf.minimum)), 1e-16)
            ax_values.semilogy(t, gap, color=COLORS[name], label=name)
        else:
            ax_values.plot(t, values, color=COLORS[name], label=name)
    if surf.minimum is None:
        ax_values.set_yscale("symlog", linthresh=1.0)
        ax_values.set_ylabel("f(p_t)")
    else:
        ax_values.set_ylabel("f(p_t) − f(minimum)")
    ax_values.set_xlabel("step t")
    ax_values.set_title("value along the path")
    return ax_paths, ax_values




class OptimizerExplorer:
    """Widgets for surface, optimizers and hyperparameters; ``update()`` reruns and redraws.

    ``controls`` holds the widgets by name (surface, optimizers, lr, momentum, alpha, beta1,
    beta2, steps); ``state`` the last trajectory_state; ``image`` the PNG of the figure.
    """

    def __init__(self, surface="rosenbrock", optimizers=("GD", "momentum", "Adam"), lr=None,
                 momentum=0.9, alpha=0.99, beta1=0.9, beta2=0.999, steps=None):
        import ipywidgets as widgets

        if not isinstance(surface, str) or surface not in SURFACE_NAMES:
            raise ValueError(f"surface: expected one of {SURFACE_NAMES}, got {surface!r}")
        optimizers = _names(optimizers)
        if not optimizers or not all(isinstance(n, str) and n in OPTIMIZER_NAMES for n in optimizers):
            raise ValueError(f"optimizers: expected one or more names from {OPTIMIZER_NAMES}, "
                             f"got {optimizers}")
        first = optimizers[0]
        lr = GOOD_LR[surface][first] if lr is None else lr
        steps = DEFAULT_STEPS[surface] if steps is None else steps
        values = {"lr": lr, "momentum": momentum, "alpha": alpha, "beta1": beta1, "beta2": beta2}
        for name, value in values.items():
            low, high = SLIDERS[name]
            check_number(value, name, low=low, high=high)
        steps = check_int(steps, "steps", low=SLIDERS["steps"][0], high=SLIDERS["steps"][1])
        self.controls = {
            "surface": widgets.Dropdown(options=list(SURFACE_NAMES), value=surface,
                                        description="surface"),
            "optimizers": widgets.SelectMultiple(options=list(OPTIMIZER_NAMES),
                                                 value=tuple(optimizers), rows=5,
                                                 description="optimizers"),
            "lr": widgets.FloatLogSlider(value=lr, base=10, min=-4, max=0.5, step=0.05,
                                         description="lr", readout_format=".4f"),
            "momentum": widgets.FloatSlider(value=momentum, min=0.0, max=0.99, step=0.01,
                                            description="momentum"),
            "alpha": widgets.FloatSlider(value=alpha, min=0.5, max=0.999, step=0.001,
                                         description="alpha", readout_format=".3f"),
            "beta1": widgets.FloatSlider(value=beta1, min=0.0, max=0.99, step=0.01,
                                         description="beta1"),
            "beta2": widgets.FloatSlider(value=beta2, min=0.5, max=0.9999, step=0.0001,
                                         description="beta2", readout_format=".4f"),
            "steps": widgets.IntSlider(value=steps, min=1, max=3000, step=1, description="steps"),
        }
        self.fig = new_figure((11, 4.5))
        self.ax_paths = self.fig.add_subplot(1, 2, 1)
        self.ax_values = self.fig.add_subplot(1, 2, 2)
        self.image = widgets.Image(format="png")
        c = self.controls
        left = widgets.VBox([c["surface"], c["optimizers"], c["steps"]])
        right = widgets.VBox([c["lr"], c["momentum"], c["alpha"], c["beta1"], c["beta2"]])
        self.widget = widgets.VBox([widgets.HBox([left, right]), self.image])
        self.state = None
        for control in self.controls.values():
            control.observe(lambda _change: self.update(), names="value")
        self.update()

    def settings(self):
        """The current widget values as keyword arguments of trajectory_state."""
        c = self.controls
        return {"surface": c["surface"].value, "optimizers": tuple(c["optimizers"].value),
                "lr": c["lr"].value, "momentum": c["momentum"].value, "alpha": c["alpha"].value,
                "beta1": c["beta1"].value, "beta2": c["beta2"].value, "steps": c["steps"].value}

    def update(self):
        settings = self.settings()
        used = {u for name in settings["optimizers"] for u in USES[name]}
        for name in ("momentum", "alpha", "beta1", "beta2"):
            self.controls[name].disabled = name not in used
        if not settings["optimizers"]:
            return self.state          # nothing selected: keep the last picture
        self.state = trajectory_state(**settings)
        draw_trajectories(self.ax_paths, self.ax_values, self.state)
        self.fig.tight_layout()
        show(self.image, self.fig)
        return self.state

    def _ipython_display_(self):
        from IPython.display import display

        display(self.widget)


def optimizer_explorer(surface="rosenbrock", optimizers=("GD", "momentum", "Adam"), lr=None,
                       steps=None):
    """Widgets: surface, optimizers, learning rate, momentum, alpha, betas, steps."""
    return OptimizerExplorer(surface=surface, optimizers=optimizers, lr=lr, steps=steps)
