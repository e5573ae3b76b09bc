"""course_nn against PyTorch, float64, forward values and every gradient, to 1e-10.

Two sources of truth for the same cases (listed in ``make_torch_reference.py``):

* ``tests/reference/torch_core.npz``, committed, written by ``make_torch_reference.py``: these
  tests need no torch, so the comparison runs on every machine;
* a fresh torch run, when torch is installed (skipped cleanly otherwise).

Conventions that differ from torch by a constant are compared with that constant applied:
MSELoss(half=True) == torch MSELoss / 2; MulticlassHingeLoss == torch MultiMarginLoss * C;
Swish(beta) == x * sigmoid(beta * x) (torch has no Swish module).

BatchNorm2d is compared over several training steps (outputs, gradients, and the running
statistics after them) and one evaluation step; Residual as x + block(x) for a
Linear-Tanh-Linear block and a Conv2d-BatchNorm2d-ReLU block.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import course_nn as nn

RTOL = 1e-10
ATOL = 1e-12

_SCRIPT = Path(__file__).resolve().parent / "make_torch_reference.py"
_spec = importlib.util.spec_from_file_location("make_torch_reference", _SCRIPT)
ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ref)

CASE_NAMES = [name for name, _, _ in ref.CASES]
CASE_SPECS = {name: (op, kwargs) for name, op, kwargs in ref.CASES}

ACTIVATION_BUILDERS = {
    "identity": nn.Identity,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "silu": nn.SiLU,
    "swish": nn.Swish,
    "gelu": nn.GELU,
    "softmax": nn.Softmax,
    "prelu": nn.PReLU,
}

LOSS_BUILDERS = {
    "mse": nn.MSELoss,
    "l1": nn.L1Loss,
    "huber": nn.HuberLoss,
    "bce": nn.BCELoss,
    "bce_logits": nn.BCEWithLogitsLoss,
    "cross_entropy": nn.CrossEntropyLoss,
    "hinge": nn.MulticlassHingeLoss,
}


def course_nn_results(name, inp):
    """course_nn's results for one case, with the same field names as the torch side."""
    op, kwargs = CASE_SPECS[name]
    kind = ref.CASE_KIND[name]
    if kind == "activation":
        module = ACTIVATION_BUILDERS[op](**kwargs)
        if op == "prelu":
            module.weight.data = inp["weight"].copy()
        module.zero_grad()
        out = module(inp["x"])
        result = {"out": out, "grad_x": module.backward(inp["grad_out"])}
        if op == "prelu":
            result["grad_weight"] = module.weight.grad
        return result
    if kind == "linear":
        if op == "sequential":
            model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
            model[0].weight.data = inp["weight0"].copy()
            model[0].bias.data = inp["bias0"].copy()
            model[2].weight.data = inp["weight2"].copy()
            model[2].bias.data = inp["bias2"].copy()
            model.zero_grad()
            out = model(inp["x"])
            grad_x = model.backward(inp["grad_out"])
            return {"out": out, "grad_x": grad_x,
                    "grad_weight0": model[0].weight.grad, "grad_bias0": model[0].bias.grad,
                    "grad_weight2": model[2].weight.grad, "grad_bias2": model[2].bias.grad}
        layer = nn.Linear(4, 3, bias=kwargs["bias"])
        layer.weight.data = inp["weight"].copy()
        if kwargs["bias"]:
            layer.bias.data = inp["bias"].copy()
        layer.zero_grad()
        out = layer(inp["x"])
        result = {"out": out, "grad_x": layer.backward(inp["grad_out"]),
                  "grad_weight": layer.weight.grad}
        if kwargs["bias"]:
            result["grad_bias"] = layer.bias.grad
        return result
    if kind == "batchnorm":
        return batchnorm_results(kwargs, inp)
    if kind == "residual":
        return residual_results(op, inp)
    loss_fn = LOSS_BUILDERS[op](**kwargs)
    value = loss_fn(inp["pred"], inp["target"])
    return {"loss": np.array(value), "grad_pred": loss_fn.backward()}


def batchnorm_results(kwargs, inp):
    """BATCHNORM_STEPS training steps, then one evaluation step, of one BatchNorm2d."""
    bn = nn.BatchNorm2d(3, **kwargs)
    if bn.affine:
        bn.weight.data = inp["weight"].copy()
        bn.bias.data = inp["bias"].copy()
    result = {}
    steps = [str(i) for i in range(ref.BATCHNORM_STEPS)] + ["_eval"]
    for step in steps:
        if step == "_eval":
            result["running_mean"], result["running_var"] = bn.running_mean, bn.running_var
            bn.eval()
        bn.zero_grad()
        result[f"out{step}"] = bn(inp[f"x{step}"])
        result[f"grad_x{step}"] = bn.backward(inp[f"grad_out{step}"])
        if bn.affine:
            result[f"grad_weight{step}"] = bn.weight.grad
            result[f"grad_bias{step}"] = bn.bias.grad
    return result


def residual_results(op, inp):
    if op == "residual_mlp":
        block = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 4))
        params = {"weight0": block[0].weight, "bias0": block[0].bias,
                  "weight2": block[2].weight, "bias2": block[2].bias}
    else:
        block = nn.Sequential(nn.Conv2d(3, 3, 3, padding=1, bias=False), nn.BatchNorm2d(3),
                              nn.ReLU())
        params = {"weight0": block[0].weight, "weight1": block[1].weight,
                  "bias1": block[1].bias}
    for key, p in params.items():
        p.data = inp[key].copy()
    model = nn.Residual(block)
    model.zero_grad()
    out = model(inp["x"])
    result = {"out": out, "grad_x": model.backward(inp["grad_out"])}
    for key, p in params.items():
        result["grad_" + key] = p.grad
    if op == "residual_conv_bn":
        result["running_mean"] = block[1].running_mean
        result["running_var"] = block[1].running_var
    return result


RESULT_FIELDS = ref.RESULT_FIELDS


def assert_matches(ours, theirs, name):
    assert set(ours) == set(theirs), f"{name}: fields {sorted(ours)} vs {sorted(theirs)}"
    for field in sorted(theirs):
        a, b = np.asarray(ours[field]), np.asarray(theirs[field])
        assert a.shape == b.shape, f"{name}.{field}: shape {a.shape} vs torch {b.shape}"
        assert np.all(np.isfinite(a)), f"{name}.{field}: non-finite values"
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=f"{name}.{field}")


@pytest.fixture(scope="module")
def reference():
    with np.load(ref.REFERENCE_PATH) as data:
        return {key: data[key] for key in data.files}


# ------------------------------------------------------- committed reference arrays (no torch)

def test_reference_file_is_small_and_covers_every_case(reference):
    assert ref.REFERENCE_PATH.stat().st_size < 200_000
    for name in CASE_NAMES:
        fields = ref.case_fields(reference, name)
        assert RESULT_FIELDS & set(fields), f"no torch results stored for case {name}"
    owners = CASE_NAMES + ["meta"]
    orphans = [k for k in reference if not any(k.startswith(o + ".") for o in owners)]
    assert orphans == [], f"arrays belonging to no case: {orphans}"


def test_stored_inputs_match_the_generator(reference):
    """The generator is deterministic and the committed file was made from its current inputs."""
    inputs = ref.make_inputs()
    stored_inputs = {k for k in reference
                     if k != "meta.torch_version" and k.rsplit(".", 1)[1] not in RESULT_FIELDS}
    assert stored_inputs == set(inputs)
    for key, value in inputs.items():
        assert reference[key].dtype == value.dtype, key
        np.testing.assert_array_equal(reference[key], value, err_msg=key)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_matches_stored_torch_reference(reference, name):
    fields = ref.case_fields(reference, name)
    inputs = {k: v for k, v in fields.items() if k not in RESULT_FIELDS}
    expected = {k: v for k, v in fields.items() if k in RESULT_FIELDS}
    ours = course_nn_results(name, {k: v.copy() for k, v in inputs.items()})
    assert_matches(ours, expected, name)


# ----------------------------------------------------------------------- live torch comparison

@pytest.fixture(scope="module")
def torch_live():
    pytest.importorskip("torch")
    inputs = ref.make_inputs()
    return inputs, ref.torch_results(inputs)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_matches_live_torch(torch_live, name):
    inputs, results = torch_live
    inp = ref.case_fields(inputs, name)
    ours = course_nn_results(name, {k: v.copy() for k, v in inp.items()})
    assert_matches(ours, ref.case_fields(results, name), name)


def test_stored_reference_matches_live_torch(torch_live, reference):
    """The committed arrays are what the installed torch computes today."""
    _, results = torch_live
    assert set(results) <= set(reference)
    for key, value in results.items():
        np.testing.assert_allclose(reference[key], value, rtol=RTOL, atol=ATOL, err_msg=key)
