"""Write tests/reference/torch_core.npz: PyTorch's float64 forward values and gradients for
every core activation, loss, Linear and a small Sequential, BatchNorm2d (several training
steps with their running statistics, then an evaluation step) and Residual blocks, on fixed
numpy-generated inputs.

Run by hand (torch needed only here), then commit the .npz:

    .venv/bin/python tests/make_torch_reference.py

``tests/test_torch_parity.py`` compares course_nn with the saved arrays without importing
torch, and with a fresh torch run when torch is installed. Inputs come from
``np.random.default_rng`` with fixed seeds, so they are identical on every machine; the test
suite regenerates them and checks they still match the file.

Keys are ``"<case>.<field>"``: inputs (``x``, ``grad_out``, ``weight``, ``bias``, ``pred``,
``target``, ...) and torch's results (``out``, ``grad_x``, ``grad_weight``, ``grad_bias``,
``loss``, ``grad_pred``, ...). A BatchNorm2d case numbers its training steps: inputs ``x0``,
``grad_out0``, ..., results ``out0``, ``grad_x0``, ``grad_weight0``, ..., then
``running_mean``, ``running_var`` after the last step and ``out_eval``, ``grad_x_eval``, ...
of one evaluation-mode step.
"""

from pathlib import Path

import numpy as np

REFERENCE_PATH = Path(__file__).resolve().parent / "reference" / "torch_core.npz"

# (case name, op, keyword arguments of the course_nn constructor)
ACTIVATION_CASES = [
    ("identity", "identity", {}),
    ("sigmoid", "sigmoid", {}),
    ("tanh", "tanh", {}),
    ("relu", "relu", {}),
    ("leaky_relu_default", "leaky_relu", {}),
    ("leaky_relu_0.2", "leaky_relu", {"negative_slope": 0.2}),
    ("elu_1", "elu", {"alpha": 1.0}),
    ("elu_0.5", "elu", {"alpha": 0.5}),
    ("silu", "silu", {}),
    ("swish_0.5", "swish", {"beta": 0.5}),
    ("swish_2", "swish", {"beta": 2.0}),
    ("gelu", "gelu", {"approximate": "none"}),
    ("gelu_tanh", "gelu", {"approximate": "tanh"}),
    ("softmax_last", "softmax", {"dim": -1}),
    ("softmax_dim0", "softmax", {"dim": 0}),
    ("prelu_shared", "prelu", {"num_parameters": 1}),
    ("prelu_channels", "prelu", {"num_parameters": 4}),
]

LINEAR_CASES = [
    ("linear_bias", "linear", {"bias": True}),
    ("linear_nobias", "linear", {"bias": False}),
    ("sequential", "sequential", {}),
]

LOSS_CASES = [
    ("mse_mean", "mse", {"reduction": "mean"}),
    ("mse_sum", "mse", {"reduction": "sum"}),
    ("mse_half_mean", "mse", {"reduction": "mean", "half": True}),
    ("mse_half_sum", "mse", {"reduction": "sum", "half": True}),
    ("l1_mean", "l1", {"reduction": "mean"}),
    ("l1_sum", "l1", {"reduction": "sum"}),
    ("huber_1_mean", "huber", {"delta": 1.0, "reduction": "mean"}),
    ("huber_0.5_sum", "huber", {"delta": 0.5, "reduction": "sum"}),
    ("bce_mean", "bce", {"reduction": "mean"}),
    ("bce_sum", "bce", {"reduction": "sum"}),
    ("bce_logits_mean", "bce_logits", {"reduction": "mean"}),
    ("bce_logits_sum", "bce_logits", {"reduction": "sum"}),
    ("ce_mean", "cross_entropy", {"reduction": "mean"}),
    ("ce_sum", "cross_entropy", {"reduction": "sum"}),
    ("ce_huge_logits", "cross_entropy", {"reduction": "mean"}),
    ("hinge_1_mean", "hinge", {"margin": 1.0, "reduction": "mean"}),
    ("hinge_0.5_sum", "hinge", {"margin": 0.5, "reduction": "sum"}),
]

BATCHNORM_STEPS = 3  # training steps before the evaluation step
BATCHNORM_CASES = [
    ("batchnorm2d", "batchnorm2d", {"momentum": 0.2}),
    ("batchnorm2d_noaffine", "batchnorm2d", {"momentum": 0.1, "affine": False}),
]

RESIDUAL_CASES = [
    ("residual_mlp", "residual_mlp", {}),          # x + Linear(4, 6) -> Tanh -> Linear(6, 4)
    ("residual_conv_bn", "residual_conv_bn", {}),  # x + Conv2d(3, 3, 3, pad 1) -> BN2d -> ReLU
]

CASES = ACTIVATION_CASES + LINEAR_CASES + LOSS_CASES + BATCHNORM_CASES + RESIDUAL_CASES
CASE_KIND = {name: kind for kind, cases in (("activation", ACTIVATION_CASES),
                                            ("linear", LINEAR_CASES),
                                            ("loss", LOSS_CASES),
                                            ("batchnorm", BATCHNORM_CASES),
                                            ("residual", RESIDUAL_CASES)) for name, _, _ in cases}

_BN_STEP_NAMES = [str(i) for i in range(BATCHNORM_STEPS)] + ["_eval"]
# the names of torch's results (everything else in a case is an input)
RESULT_FIELDS = (
    {"out", "grad_x", "grad_weight", "grad_bias", "grad_weight0", "grad_bias0",
     "grad_weight1", "grad_bias1", "grad_weight2", "grad_bias2", "loss", "grad_pred",
     "running_mean", "running_var"}
    | {f"{field}{step}" for field in ("out", "grad_x", "grad_weight", "grad_bias")
       for step in _BN_STEP_NAMES}
)


def _activation_inputs(rng, name, op, kwargs):
    shape = (3, 4, 2, 2) if name == "prelu_channels" else (6, 5)
    x = rng.uniform(-4.0, 4.0, size=shape)
    flat = x.reshape(-1)
    flat[0] = 0.0          # the kink of relu / leaky_relu / elu / prelu: convention must match
    flat[1] = 15.0         # large values: sigmoid/softmax saturation
    flat[2] = -15.0
    inputs = {"x": x, "grad_out": rng.standard_normal(shape)}
    if op == "prelu":
        inputs["weight"] = rng.uniform(0.05, 0.6, size=kwargs["num_parameters"])
    return inputs


def _linear_inputs(rng, name, op, kwargs):
    if op == "sequential":  # Linear(4, 6) -> Tanh -> Linear(6, 3)
        return {
            "x": rng.standard_normal((5, 4)),
            "weight0": rng.standard_normal((6, 4)) * 0.5,
            "bias0": rng.standard_normal(6) * 0.5,
            "weight2": rng.standard_normal((3, 6)) * 0.5,
            "bias2": rng.standard_normal(3) * 0.5,
            "grad_out": rng.standard_normal((5, 3)),
        }
    inputs = {
        "x": rng.standard_normal((5, 4)),
        "weight": rng.standard_normal((3, 4)),
        "grad_out": rng.standard_normal((5, 3)),
    }
    if kwargs["bias"]:
        inputs["bias"] = rng.standard_normal(3)
    return inputs


def _loss_inputs(rng, name, op, kwargs):
    if op in ("mse", "l1", "huber"):
        target = rng.standard_normal((6, 3))
        pred = target + rng.uniform(-3.0, 3.0, size=(6, 3))
        pred[0, 0] = target[0, 0]           # a tie: L1's sign(0) = 0
        if op == "huber":                   # outliers on both sides and |d| == delta exactly
            delta = kwargs["delta"]
            target[0, 1], pred[0, 1] = 0.0, delta
            target[0, 2], pred[0, 2] = 0.0, -delta
            pred[1, 0] = target[1, 0] + 5.0 * delta
            pred[1, 1] = target[1, 1] - 5.0 * delta
        return {"pred": pred, "target": target}
    if op == "bce":
        pred = rng.uniform(0.02, 0.98, size=(6, 3))
        target = rng.integers(0, 2, size=(6, 3)).astype(np.float64)
        target[0] = rng.uniform(0.0, 1.0, size=3)   # soft labels too
        return {"pred": pred, "target": target}
    if op == "bce_logits":
        pred = rng.uniform(-6.0, 6.0, size=(6, 3))
        pred[0, 0], pred[0, 1] = 40.0, -40.0
        target = rng.integers(0, 2, size=(6, 3)).astype(np.float64)
        target[1] = rng.uniform(0.0, 1.0, size=3)
        return {"pred": pred, "target": target}
    n, c = 7, 4
    if name == "ce_huge_logits":
        pred = rng.choice([-1000.0, 0.0, 1000.0], size=(n, c))
    else:
        pred = 2.0 * rng.standard_normal((n, c))
    target = rng.integers(0, c, size=n)
    if op == "hinge":
        # a row of integer scores whose margins s_j - s_y + margin are exactly 0 (the kink)
        m = kwargs["margin"]
        pred[0] = [3.0, 3.0 - m, 1.0, 3.0 - m]
        target[0] = 0
    return {"pred": pred, "target": target.astype(np.int64)}


def _batchnorm_inputs(rng, name, op, kwargs):
    c = 3
    shift = np.array([1.0, -2.0, 0.5])[None, :, None, None]   # channels differ in mean and scale
    scale = np.array([2.0, 0.5, 3.0])[None, :, None, None]
    inputs = {}
    for step in range(BATCHNORM_STEPS):
        inputs[f"x{step}"] = rng.standard_normal((4, c, 5, 4)) * scale + shift
        inputs[f"grad_out{step}"] = rng.standard_normal((4, c, 5, 4))
    inputs["x_eval"] = rng.standard_normal((2, c, 5, 4)) * scale + shift
    inputs["grad_out_eval"] = rng.standard_normal((2, c, 5, 4))
    if kwargs.get("affine", True):
        inputs["weight"] = rng.uniform(0.5, 1.5, c)
        inputs["bias"] = rng.standard_normal(c)
    return inputs


def _residual_inputs(rng, name, op, kwargs):
    if op == "residual_mlp":
        return {
            "x": rng.standard_normal((5, 4)),
            "weight0": rng.standard_normal((6, 4)) * 0.5,
            "bias0": rng.standard_normal(6) * 0.5,
            "weight2": rng.standard_normal((4, 6)) * 0.5,
            "bias2": rng.standard_normal(4) * 0.5,
            "grad_out": rng.standard_normal((5, 4)),
        }
    return {  # Conv2d(3, 3, 3, padding=1, bias=False) -> BatchNorm2d(3) -> ReLU, training mode
        "x": rng.standard_normal((2, 3, 5, 5)),
        "weight0": rng.standard_normal((3, 3, 3, 3)) * 0.3,
        "weight1": rng.uniform(0.5, 1.5, 3),
        "bias1": rng.standard_normal(3) * 0.5,
        "grad_out": rng.standard_normal((2, 3, 5, 5)),
    }


def make_inputs():
    """Every case's inputs as ``{"<case>.<field>": array}``, deterministic (seeded numpy)."""
    arrays = {}
    for seed, (name, op, kwargs) in enumerate(CASES):
        rng = np.random.default_rng(1000 + seed)
        kind = CASE_KIND[name]
        maker = {"activation": _activation_inputs, "linear": _linear_inputs,
                 "loss": _loss_inputs, "batchnorm": _batchnorm_inputs,
                 "residual": _residual_inputs}[kind]
        for field, value in maker(rng, name, op, kwargs).items():
            arrays[f"{name}.{field}"] = value
    return arrays


def case_fields(arrays, name):
    """The ``{field: array}`` of one case from a flat ``{"<case>.<field>": array}`` mapping."""
    prefix = name + "."
    return {key[len(prefix):]: arrays[key] for key in arrays if key.startswith(prefix)}


# ---------------------------------------------------------------------------------- torch side

def _torch_activation(torch, op, kwargs, inp):
    x = torch.tensor(inp["x"], dtype=torch.float64, requires_grad=True)
    weight = None
    if op == "identity":
        module = torch.nn.Identity()
    elif op == "sigmoid":
        module = torch.nn.Sigmoid()
    elif op == "tanh":
        module = torch.nn.Tanh()
    elif op == "relu":
        module = torch.nn.ReLU()
    elif op == "leaky_relu":
        module = torch.nn.LeakyReLU(**kwargs)
    elif op == "elu":
        module = torch.nn.ELU(**kwargs)
    elif op == "silu":
        module = torch.nn.SiLU()
    elif op == "swish":
        beta = kwargs["beta"]

        def module(z):
            return z * torch.sigmoid(beta * z)
    elif op == "gelu":
        module = torch.nn.GELU(**kwargs)
    elif op == "softmax":
        module = torch.nn.Softmax(**kwargs)
    elif op == "prelu":
        module = torch.nn.PReLU(kwargs["num_parameters"], dtype=torch.float64)
        with torch.no_grad():
            module.weight.copy_(torch.tensor(inp["weight"]))
        weight = module.weight
    else:
        raise ValueError(op)
    out = module(x)
    out.backward(torch.tensor(inp["grad_out"]))
    result = {"out": out.detach().numpy(), "grad_x": x.grad.numpy()}
    if weight is not None:
        result["grad_weight"] = weight.grad.numpy()
    return result


def _torch_linear(torch, op, kwargs, inp):
    F = torch.nn.functional

    def t(a):
        return torch.tensor(a, dtype=torch.float64, requires_grad=True)

    x = t(inp["x"])
    if op == "sequential":
        params = {k: t(inp[k]) for k in ("weight0", "bias0", "weight2", "bias2")}
        out = F.linear(torch.tanh(F.linear(x, params["weight0"], params["bias0"])),
                       params["weight2"], params["bias2"])
    else:
        params = {"weight": t(inp["weight"])}
        if "bias" in inp:
            params["bias"] = t(inp["bias"])
        out = F.linear(x, params["weight"], params.get("bias"))
    out.backward(torch.tensor(inp["grad_out"]))
    result = {"out": out.detach().numpy(), "grad_x": x.grad.numpy()}
    for key, p in params.items():
        result["grad_" + key] = p.grad.numpy()
    return result


def _torch_loss(torch, op, kwargs, inp):
    nn = torch.nn
    pred = torch.tensor(inp["pred"], dtype=torch.float64, requires_grad=True)
    reduction = kwargs["reduction"]
    if op in ("cross_entropy", "hinge"):
        target = torch.tensor(inp["target"], dtype=torch.int64)
    else:
        target = torch.tensor(inp["target"], dtype=torch.float64)
    if op == "mse":
        loss = nn.MSELoss(reduction=reduction)(pred, target)
        if kwargs.get("half"):
            loss = loss / 2
    elif op == "l1":
        loss = nn.L1Loss(reduction=reduction)(pred, target)
    elif op == "huber":
        loss = nn.HuberLoss(reduction=reduction, delta=kwargs["delta"])(pred, target)
    elif op == "bce":
        loss = nn.BCELoss(reduction=reduction)(pred, target)
    elif op == "bce_logits":
        loss = nn.BCEWithLogitsLoss(reduction=reduction)(pred, target)
    elif op == "cross_entropy":
        loss = nn.CrossEntropyLoss(reduction=reduction)(pred, target)
    elif op == "hinge":
        # torch.nn.MultiMarginLoss divides each sample's sum by the number of classes C
        n_classes = pred.shape[1]
        loss = nn.MultiMarginLoss(margin=kwargs["margin"], reduction=reduction)(pred, target)
        loss = loss * n_classes
    else:
        raise ValueError(op)
    loss.backward()
    return {"loss": np.array(loss.item()), "grad_pred": pred.grad.numpy()}


def _torch_batchnorm(torch, op, kwargs, inp):
    bn = torch.nn.BatchNorm2d(3, **kwargs).double()
    if bn.affine:
        with torch.no_grad():
            bn.weight.copy_(torch.tensor(inp["weight"]))
            bn.bias.copy_(torch.tensor(inp["bias"]))
    result = {}
    for step in _BN_STEP_NAMES:
        if step == "_eval":
            result["running_mean"] = bn.running_mean.numpy().copy()
            result["running_var"] = bn.running_var.numpy().copy()
            bn.eval()
        bn.zero_grad()
        x = torch.tensor(inp[f"x{step}"], requires_grad=True)
        out = bn(x)
        out.backward(torch.tensor(inp[f"grad_out{step}"]))
        result[f"out{step}"] = out.detach().numpy()
        result[f"grad_x{step}"] = x.grad.numpy()
        if bn.affine:
            result[f"grad_weight{step}"] = bn.weight.grad.numpy().copy()
            result[f"grad_bias{step}"] = bn.bias.grad.numpy().copy()
    return result


def _torch_residual(torch, op, kwargs, inp):
    nn = torch.nn
    if op == "residual_mlp":
        block = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 4)).double()
        params = {"weight0": block[0].weight, "bias0": block[0].bias,
                  "weight2": block[2].weight, "bias2": block[2].bias}
    else:
        block = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1, bias=False), nn.BatchNorm2d(3),
                              nn.ReLU()).double()
        params = {"weight0": block[0].weight, "weight1": block[1].weight,
                  "bias1": block[1].bias}
    with torch.no_grad():
        for key, p in params.items():
            p.copy_(torch.tensor(inp[key]))
    x = torch.tensor(inp["x"], requires_grad=True)
    out = x + block(x)
    out.backward(torch.tensor(inp["grad_out"]))
    result = {"out": out.detach().numpy(), "grad_x": x.grad.numpy()}
    for key, p in params.items():
        result["grad_" + key] = p.grad.numpy()
    if op == "residual_conv_bn":
        result["running_mean"] = block[1].running_mean.numpy()
        result["running_var"] = block[1].running_var.numpy()
    return result


def torch_results(arrays):
    """Run torch (float64) on every case's inputs: ``{"<case>.<field>": array}``."""
    import torch

    results = {}
    for name, op, kwargs in CASES:
        inp = case_fields(arrays, name)
        run = {"activation": _torch_activation, "linear": _torch_linear,
               "loss": _torch_loss, "batchnorm": _torch_batchnorm,
               "residual": _torch_residual}[CASE_KIND[name]]
        for field, value in run(torch, op, kwargs, inp).items():
            results[f"{name}.{field}"] = np.array(value, dtype=np.float64)
    return results


def main():
    import torch

    arrays = make_inputs()
    arrays.update(torch_results(arrays))
    arrays["meta.torch_version"] = np.array(torch.__version__)
    REFERENCE_PATH.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(REFERENCE_PATH, **arrays)
    print(f"wrote {len(arrays)} arrays to {REFERENCE_PATH} "
          f"({REFERENCE_PATH.stat().st_size} bytes, torch {torch.__version__})")


if __name__ == "__main__":
    main()
