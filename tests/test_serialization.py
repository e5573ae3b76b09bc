"""Save and load (course_nn.serialization): state_dict / load_state_dict of modules and
optimizers, and course_nn.save / course_nn.load of one .npz file.

Round trips give identical outputs in a freshly built model; training resumed from a file
equals uninterrupted training bit for bit; every refused input names the key and changes
nothing; files are read with allow_pickle=False; keys and shapes equal torch.nn's.
"""

import pickle
import zipfile

import numpy as np
import pytest

import course_nn as cn
from course_nn.optim import SGD, AdaGrad, Adam, RMSProp

DTYPES = [np.float32, np.float64]


# ----------------------------------------------------------------------------- models

def mlp(seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return cn.Sequential(cn.Linear(5, 4, rng=rng, dtype=dtype), cn.ReLU(),
                         cn.Linear(4, 3, rng=rng, dtype=dtype))


def cnn(seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return cn.Sequential(cn.Conv2d(2, 3, 3, padding=1, rng=rng, dtype=dtype), cn.ReLU(),
                         cn.MaxPool2d(2), cn.Flatten(), cn.Linear(3 * 4 * 4, 2, rng=rng, dtype=dtype))


def bn_mlp(seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return cn.Sequential(cn.Linear(5, 4, rng=rng, dtype=dtype), cn.BatchNorm1d(4, dtype=dtype),
                         cn.ReLU(), cn.Linear(4, 3, rng=rng, dtype=dtype))


def bn_cnn(seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return cn.Sequential(cn.Conv2d(2, 3, 3, padding=1, bias=False, rng=rng, dtype=dtype),
                         cn.BatchNorm2d(3, dtype=dtype), cn.ReLU(),
                         cn.BatchNorm2d(3, affine=False, dtype=dtype), cn.MaxPool2d(2),
                         cn.Flatten(), cn.Linear(3 * 4 * 4, 2, rng=rng, dtype=dtype))


def residual_cnn(seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    block = cn.Sequential(cn.Conv2d(2, 2, 3, padding=1, bias=False, rng=rng, dtype=dtype),
                          cn.BatchNorm2d(2, dtype=dtype), cn.Tanh())
    return cn.Sequential(cn.Residual(block), cn.Flatten(),
                         cn.Linear(2 * 8 * 8, 3, rng=rng, dtype=dtype))


def recurrent(cls):
    def build(seed, dtype=np.float64):
        return cls(3, 5, rng=np.random.default_rng(seed), dtype=dtype)
    return build


def embedding(seed, dtype=np.float64):
    return cn.Embedding(7, 4, rng=np.random.default_rng(seed), dtype=dtype)


def char_lm(seed, dtype=np.float64):
    from course_nn.lab.sequences import CharLM
    if dtype != np.float64:
        pytest.skip("CharLM is built in float64")
    return CharLM(7, 4, 5, "GRU", rng=np.random.default_rng(seed))


def image_batch(dtype):
    return np.random.default_rng(1).normal(size=(2, 2, 8, 8)).astype(dtype)


def vectors(dtype):
    return np.random.default_rng(1).normal(size=(6, 5)).astype(dtype)


def sequences(dtype):
    return np.random.default_rng(1).normal(size=(2, 4, 3)).astype(dtype)


def ids(dtype):
    return np.random.default_rng(1).integers(0, 7, size=(2, 4))


MODELS = {
    "Linear": (mlp, vectors),
    "Conv2d": (cnn, image_batch),
    "BatchNorm1d": (bn_mlp, vectors),
    "BatchNorm2d": (bn_cnn, image_batch),
    "Residual": (residual_cnn, image_batch),
    "RNN": (recurrent(cn.RNN), sequences),
    "LSTM": (recurrent(cn.LSTM), sequences),
    "GRU": (recurrent(cn.GRU), sequences),
    "Embedding": (embedding, ids),
    "CharLM": (char_lm, ids),
}


WITH_RUNNING_STATISTICS = {"BatchNorm1d", "BatchNorm2d", "Residual"}  # compared in eval mode


def outputs(model, x):
    """The model's output(s) as a flat list of arrays (recurrent layers return a state too)."""
    out = model(x)
    flat, stack = [], [out]
    while stack:
        item = stack.pop()
        if isinstance(item, (tuple, list)):
            stack.extend(item)
        else:
            flat.append(np.array(item))
    return flat


def snapshot(model):
    return {key: value.copy() for key, value in model.state_dict().items()}


def assert_same_state(model, saved):
    now = model.state_dict()
    assert list(now) == list(saved)
    for key in saved:
        assert now[key].dtype == saved[key].dtype
        assert np.array_equal(now[key], saved[key]), key


def trained(name, dtype):
    """A model whose weights (and batch-norm statistics) have moved away from their start."""
    build, data = MODELS[name]
    model = build(0, dtype)
    if name in WITH_RUNNING_STATISTICS:
        shape = data(dtype).shape[1:]
        for seed in range(3):  # running statistics move in training mode
            model(np.random.default_rng(seed + 10).normal(2.0, 3.0, size=(8,) + shape)
                  .astype(dtype))
        model.eval()
    return model, data(dtype)


# ----------------------------------------------------------------------- round trips

@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_state_dict_round_trip_gives_identical_outputs(name, dtype):
    model, x = trained(name, dtype)
    state = model.state_dict()
    fresh = MODELS[name][0](1, dtype)  # other initial weights
    if name in WITH_RUNNING_STATISTICS:
        fresh.eval()
    before = outputs(fresh, x)
    result = fresh.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert_same_state(fresh, state)
    after, expected = outputs(fresh, x), outputs(model, x)
    assert any(not np.array_equal(a, b) for a, b in zip(before, expected))
    for a, b in zip(after, expected):
        assert a.dtype == b.dtype and np.array_equal(a, b)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_file_round_trip_gives_identical_outputs(name, dtype, tmp_path):
    model, x = trained(name, dtype)
    path = tmp_path / "model.npz"
    cn.save(path, model)
    fresh = MODELS[name][0](1, dtype)
    if name in WITH_RUNNING_STATISTICS:
        fresh.eval()
    assert cn.load(path, fresh) is fresh
    assert_same_state(fresh, model.state_dict())
    for a, b in zip(outputs(fresh, x), outputs(model, x)):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_state_dict_keys_order_and_contents():
    model = bn_mlp(0)
    state = model.state_dict()
    assert list(state) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                           "1.running_var", "3.weight", "3.bias"]
    assert state["0.weight"].shape == (4, 5) and state["1.running_var"].shape == (4,)
    assert list(cn.LSTM(3, 5).state_dict()) == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0",
                                                "bias_hh_l0"]
    assert list(cn.Linear(2, 3, bias=False).state_dict()) == ["weight"]


def test_state_dict_holds_copies():
    model = bn_mlp(0)
    saved = snapshot(model)
    state = model.state_dict()
    for value in state.values():
        value[...] = 7.0
    assert_same_state(model, saved)
    fresh = bn_mlp(1)
    incoming = snapshot(model)
    fresh.load_state_dict(incoming)
    for value in incoming.values():  # the caller's arrays stay the caller's
        value[...] = 7.0
    assert_same_state(fresh, saved)


def test_shared_parameter_is_saved_once_under_its_first_name():
    first, second = cn.Linear(3, 3), cn.Linear(3, 3)
    second.weight = first.weight
    model = cn.Sequential(first, cn.Tanh(), second)
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.bias"]
    fresh_first, fresh_second = cn.Linear(3, 3), cn.Linear(3, 3)
    fresh_second.weight = fresh_first.weight
    fresh = cn.Sequential(fresh_first, cn.Tanh(), fresh_second)
    fresh.load_state_dict(model.state_dict())
    assert fresh_second.weight is fresh_first.weight
    assert np.array_equal(fresh_second.weight.data, first.weight.data)


def test_non_strict_load_reports_and_skips_keys():
    model, fresh = bn_mlp(0), bn_mlp(1)
    state = model.state_dict()
    del state["3.bias"]
    state["extra.weight"] = np.zeros(2)
    kept = fresh.state_dict()["3.bias"]
    result = fresh.load_state_dict(state, strict=False)
    assert result.missing_keys == ["3.bias"] and result.unexpected_keys == ["extra.weight"]
    assert np.array_equal(fresh.state_dict()["3.bias"], kept)
    assert np.array_equal(fresh.state_dict()["0.weight"], state["0.weight"])
    state["0.weight"] = np.zeros((5, 4))  # present keys are still checked
    with pytest.raises(ValueError, match=r"key '0.weight': expected shape \(4, 5\), got \(5, 4\)"):
        fresh.load_state_dict(state, strict=False)


def test_load_disarms_backward_of_the_old_forward():
    model = mlp(0)
    out = model(vectors(np.float64))
    model.load_state_dict(mlp(1).state_dict())
    with pytest.raises(RuntimeError, match="before forward"):
        model.backward(np.ones_like(out))
    out = model(vectors(np.float64))
    model.backward(np.ones_like(out))


# -------------------------------------------------------------- errors of load_state_dict

def bad_states():
    base = bn_mlp(0).state_dict()

    def changed(**entries):
        state = dict(base)
        for key, value in entries.items():
            key = key.replace("__", ".")
            if value is None:
                del state[key]
            else:
                state[key] = value
        return state

    nan = base["3.weight"].copy()
    nan[1, 2] = np.nan
    inf_stat = base["1.running_var"].copy()
    inf_stat[0] = np.inf
    return [
        (changed(**{"3__bias": None}), ValueError, r"missing keys \['3.bias'\]"),
        (changed(**{"4__weight": np.zeros(3)}), ValueError, r"unexpected keys \['4.weight'\]"),
        (changed(**{"3__weight": np.zeros((4, 3))}), ValueError,
         r"key '3.weight': expected shape \(3, 4\), got \(4, 3\)"),
        (changed(**{"3__weight": base["3.weight"].astype(np.float32)}), TypeError,
         r"key '3.weight': expected dtype float64, got float32"),
        (changed(**{"3__weight": base["3.weight"].astype(int)}), TypeError,
         r"key '3.weight': expected dtype float64, got int"),
        (changed(**{"3__weight": nan}), ValueError, r"key '3.weight': expected finite values, got 1"),
        (changed(**{"1__running_var": inf_stat}), ValueError, r"key '1.running_var': expected finite"),
        (changed(**{"3__weight": base["3.weight"].tolist()}), TypeError,
         r"key '3.weight': expected a numpy array of shape \(3, 4\) and dtype float64, got list"),
        (changed(**{"3__bias": np.float64(1.0)}), TypeError, r"key '3.bias'.*got a numpy scalar \(float64\)"),
        ({**base, 3: np.zeros(3)}, TypeError, r"expected str keys .* got the key 3"),
        (list(base.items()), TypeError, r"expected a mapping .* got list"),
    ]


@pytest.mark.parametrize("case", range(len(bad_states())))
def test_bad_state_is_refused_naming_the_key_and_changes_nothing(case):
    state, error, message = bad_states()[case]
    model = bn_mlp(1)
    model.eval()
    saved = snapshot(model)
    with pytest.raises(error, match=message):
        model.load_state_dict(state)
    assert_same_state(model, saved)


def test_failed_load_leaves_even_earlier_keys_untouched():
    model, source = bn_mlp(1), bn_mlp(0)
    state = source.state_dict()
    state["3.bias"] = np.zeros(4)  # the last key is wrong; the first seven fit
    saved = snapshot(model)
    with pytest.raises(ValueError, match=r"key '3.bias'"):
        model.load_state_dict(state)
    assert_same_state(model, saved)


def test_strict_must_be_a_bool():
    with pytest.raises(TypeError, match="strict"):
        mlp(0).load_state_dict(mlp(1).state_dict(), strict="no")


def test_recurrent_keys_are_pytorchs():
    state = {key.replace("_l0", ""): value for key, value in cn.LSTM(3, 5).state_dict().items()}
    with pytest.raises(ValueError, match=r"missing keys \['weight_ih_l0'.*unexpected keys "
                                         r"\['weight_ih'"):
        cn.LSTM(3, 5).load_state_dict(state)


# --------------------------------------------------------------------------- optimizers

def step(model, opt, seed, dtype):
    """One training step of MSE regression on a batch drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(8, 5)).astype(dtype)
    y = rng.normal(size=(8, 3)).astype(dtype)
    loss = cn.MSELoss()
    opt.zero_grad()
    loss(model(x), y)
    model.backward(loss.backward())
    opt.step()


def optimizer_for(model, kind):
    return {"Adam": lambda ps: Adam(ps, lr=0.01, weight_decay=1e-3),
            "SGD": lambda ps: SGD(ps, lr=0.05, momentum=0.9),
            "AdaGrad": lambda ps: AdaGrad(ps, lr=0.05),
            "RMSProp": lambda ps: RMSProp(ps, lr=0.01, momentum=0.5)}[kind](model.parameters())


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_training_resumed_from_a_file_equals_uninterrupted_training(dtype, tmp_path):
    steps = 6
    model = bn_mlp(0, dtype)
    opt = Adam(model.parameters(), lr=0.01, betas=(0.8, 0.99), weight_decay=1e-3)
    for i in range(steps):
        step(model, opt, i, dtype)

    first = bn_mlp(0, dtype)
    first_opt = Adam(first.parameters(), lr=0.01, betas=(0.8, 0.99), weight_decay=1e-3)
    for i in range(steps // 2):
        step(first, first_opt, i, dtype)
    cn.save(tmp_path / "checkpoint.npz", first, first_opt)

    resumed = bn_mlp(5, dtype)  # other weights, other hyperparameters: all come from the file
    resumed_opt = Adam(resumed.parameters(), lr=0.5, betas=(0.5, 0.5), eps=1e-3)
    cn.load(tmp_path / "checkpoint.npz", resumed, resumed_opt)
    assert (resumed_opt.lr, resumed_opt.betas, resumed_opt.eps, resumed_opt.weight_decay,
            resumed_opt.steps) == (0.01, (0.8, 0.99), 1e-8, 1e-3, steps // 2)
    for i in range(steps // 2, steps):
        step(resumed, resumed_opt, i, dtype)

    assert_same_state(resumed, model.state_dict())  # weights and running statistics, bitwise
    assert resumed_opt.steps == opt.steps
    for mine, theirs in zip(resumed_opt.state, opt.state):
        assert mine.keys() == theirs.keys() and mine["step"] == theirs["step"]
        assert np.array_equal(mine["m"], theirs["m"]) and np.array_equal(mine["v"], theirs["v"])


@pytest.mark.parametrize("kind", ["SGD", "AdaGrad", "RMSProp", "Adam"])
def test_optimizer_state_dict_round_trip_resumes_bit_for_bit(kind):
    model = mlp(0)
    opt = optimizer_for(model, kind)
    for i in range(4):
        step(model, opt, i, np.float64)
    other = mlp(0)
    other_opt = optimizer_for(other, kind)
    for i in range(2):
        step(other, other_opt, i, np.float64)
    saved_model, saved_opt = other.state_dict(), other_opt.state_dict()
    fresh = mlp(3)
    fresh_opt = optimizer_for(fresh, kind)
    fresh.load_state_dict(saved_model)
    fresh_opt.load_state_dict(saved_opt)
    for i in range(2, 4):
        step(fresh, fresh_opt, i, np.float64)
    assert_same_state(fresh, model.state_dict())


def test_optimizer_state_dict_contents_and_copies():
    model = mlp(0)
    opt = Adam(model.named_parameters(), lr=0.01)
    step(model, opt, 0, np.float64)
    state = opt.state_dict()
    assert state["type"] == "Adam" and state["steps"] == 1
    assert state["hyperparameters"] == {"lr": 0.01, "weight_decay": 0.0, "eps": 1e-8,
                                        "betas": (0.9, 0.999)}
    assert state["params"][0] == {"name": "0.weight", "shape": (4, 5), "dtype": "float64"}
    assert sorted(state["state"][0]) == ["m", "step", "v"] and state["state"][0]["step"] == 1
    state["state"][0]["m"][...] = 9.0
    assert not np.any(opt.state[0]["m"] == 9.0)


def bad_optimizer_states():
    model = mlp(0)
    opt = Adam(model.named_parameters(), lr=0.01)
    step(model, opt, 0, np.float64)
    base = opt.state_dict()

    def changed(edit):
        state = opt.state_dict()
        edit(state)
        return state

    def set_state(i, key, value):
        def edit(state):
            state["state"][i][key] = value
        return edit

    nan_m = base["state"][1]["m"].copy()
    nan_m[0] = np.nan
    return [
        (changed(lambda s: s.update(type="SGD")), ValueError,
         r"optimizer type 'SGD', this optimizer is Adam"),
        (changed(lambda s: s.pop("steps")), ValueError, r"missing \['steps'\]"),
        (changed(lambda s: s["hyperparameters"].update(lr=-1.0)), ValueError, r"hyperparameter lr"),
        (changed(lambda s: s["hyperparameters"].pop("eps")), ValueError, r"missing \['eps'\]"),
        (changed(lambda s: s.update(steps=-2)), ValueError, r"steps: expected a non-negative"),
        (changed(lambda s: s["state"].pop()), ValueError, r"state: expected 4 entries"),
        (changed(lambda s: s["params"][0].update(shape=(5, 4))), ValueError,
         r"params\[0\]: expected parameter 0 '0.weight' \(shape \(4, 5\)\)"),
        (changed(lambda s: s["params"][0].update(name="3.weight")), ValueError,
         r"params\[0\]: expected the parameter '0.weight', got '3.weight'"),
        (changed(set_state(1, "m", np.zeros(5))), ValueError,
         r"state\[1\]\['m'\] \(parameter 1 '0.bias' \(shape \(4,\)\)\): expected shape \(4,\), got \(5,\)"),
        (changed(set_state(1, "v", np.zeros(4, np.float32))), TypeError,
         r"state\[1\]\['v'\].*expected dtype float64, got float32"),
        (changed(set_state(1, "m", nan_m)), ValueError, r"state\[1\]\['m'\].*expected finite"),
        (changed(set_state(1, "m", [0.0] * 4)), TypeError, r"state\[1\]\['m'\].*got list"),
        (changed(set_state(2, "velocity", np.zeros((3, 4)))), ValueError,
         r"state\[2\]\['velocity'\].*unexpected key; Adam keeps only \['m', 'v', 'step'\]"),
        (changed(set_state(0, "step", 5)), ValueError, r"state\[0\]\['step'\].*at most steps = 1"),
        (changed(set_state(0, "step", 1.5)), ValueError, r"state\[0\]\['step'\].*non-negative integer"),
        ([1, 2], TypeError, r"the state: expected a dict"),
    ], model


@pytest.mark.parametrize("case", range(len(bad_optimizer_states()[0])))
def test_bad_optimizer_state_is_refused_and_changes_nothing(case):
    cases, model = bad_optimizer_states()
    state, error, message = cases[case]
    opt = Adam(model.named_parameters(), lr=0.5)
    step(model, opt, 3, np.float64)
    before = opt.state_dict()
    with pytest.raises(error, match=message):
        opt.load_state_dict(state)
    after = opt.state_dict()
    assert after["hyperparameters"] == before["hyperparameters"] and after["steps"] == 1
    for mine, theirs in zip(after["state"], before["state"]):
        assert all(np.array_equal(mine[k], theirs[k]) for k in theirs)


# --------------------------------------------------------------------------------- files

def test_file_holds_plain_arrays_with_a_format_version(tmp_path):
    model = bn_mlp(0)
    opt = Adam(model.parameters())
    step(model, opt, 0, np.float64)
    path = tmp_path / "checkpoint"  # the name is used as given
    cn.save(path, model, opt)
    assert path.exists() and not (tmp_path / "checkpoint.npz").exists()
    with np.load(path, allow_pickle=False) as f:
        arrays = {key: f[key] for key in f.files}  # nothing needs pickle
    assert int(arrays["course_nn/format_version"]) == 1
    assert np.array_equal(arrays["1.running_mean"], model.layers[1].running_mean)
    assert str(arrays["optimizer/type"]) == "Adam"
    assert arrays["optimizer/params"].tolist() == ["0.weight", "0.bias", "1.weight", "1.bias",
                                                   "3.weight", "3.bias"]
    assert np.array_equal(arrays["optimizer/state/3.bias/v"], opt.state[5]["v"])
    assert int(arrays["optimizer/state/3.bias/step"]) == 1
    assert all(a.dtype != object for a in arrays.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]  # no temporary left


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        cn.load(tmp_path / "nope.npz", mlp(0))


def test_file_of_another_model_names_the_keys(tmp_path):
    path = tmp_path / "m.npz"
    cn.save(path, mlp(0))
    wider = cn.Sequential(cn.Linear(5, 8), cn.ReLU(), cn.Linear(8, 3))
    saved = snapshot(wider)
    with pytest.raises(ValueError, match=r"key '0.weight': expected shape \(8, 5\), got \(4, 5\)"):
        cn.load(path, wider)
    assert_same_state(wider, saved)
    with pytest.raises(ValueError, match=r"the file does not fit this Sequential: missing keys "
                                         r"\['1.weight', '1.bias', '1.running_mean'"):
        cn.load(path, bn_mlp(0))
    with pytest.raises(TypeError, match=r"key '0.weight': expected dtype float32, got float64"):
        cn.load(path, mlp(0, np.float32))


def test_corrupted_files_are_refused(tmp_path):
    good = tmp_path / "good.npz"
    cn.save(good, mlp(0))
    data = good.read_bytes()
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip at all" * 10)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[: len(data) // 2])
    flipped = tmp_path / "flipped.npz"
    middle = bytearray(data)
    start = data.index(b"\x93NUMPY", data.index(b"0.weight")) + 128  # inside the first array
    middle[start:start + 8] = b"\xff" * 8
    flipped.write_bytes(bytes(middle))
    for path in (garbage, truncated, flipped):
        model = mlp(1)
        saved = snapshot(model)
        with pytest.raises(ValueError, match=r"not a readable \.npz|corrupted"):
            cn.load(path, model)
        assert_same_state(model, saved)


def test_files_not_written_by_save(tmp_path):
    plain = tmp_path / "plain.npz"
    np.savez(plain, **mlp(0).state_dict())
    with pytest.raises(ValueError, match="no 'course_nn/format_version' key"):
        cn.load(plain, mlp(1))
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(ValueError, match="single .npy array"):
        cn.load(single, mlp(1))
    newer = tmp_path / "newer.npz"
    np.savez(newer, **{**mlp(0).state_dict(), "course_nn/format_version": np.array(2)})
    with pytest.raises(ValueError, match="expected 1, got"):
        cn.load(newer, mlp(1))


def test_pickled_objects_are_refused(tmp_path):
    state = mlp(0).state_dict()
    obj = np.empty(1, dtype=object)
    obj[0] = {"payload": "would run code on unpickling"}
    path = tmp_path / "pickled.npz"
    np.savez(path, **{**state, "0.bias": obj, "course_nn/format_version": np.array(1)})
    model = mlp(1)
    saved = snapshot(model)
    with pytest.raises(ValueError, match=r"key '0.bias' holds pickled Python objects.*allow_pickle=False"):
        cn.load(path, model)
    assert_same_state(model, saved)
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps(state))
    with pytest.raises(ValueError, match="not a readable .npz"):
        cn.load(raw, model)


def test_optimizer_errors_from_files_change_neither_model_nor_optimizer(tmp_path):
    model = mlp(0)
    opt = Adam(model.parameters())
    step(model, opt, 0, np.float64)
    with_adam, model_only = tmp_path / "adam.npz", tmp_path / "model.npz"
    cn.save(with_adam, model, opt)
    cn.save(model_only, model)
    target = mlp(1)
    sgd = SGD(target.parameters(), lr=0.1, momentum=0.9)
    saved = snapshot(target)
    with pytest.raises(ValueError, match="optimizer type 'Adam', this optimizer is SGD"):
        cn.load(with_adam, target, sgd)
    with pytest.raises(ValueError, match="holds no optimizer state"):
        cn.load(model_only, target, Adam(target.parameters()))
    partial = Adam(target.parameters()[:2])
    with pytest.raises(ValueError, match=r"updates the parameters \['0.weight', '0.bias', '2.weight'"):
        cn.load(with_adam, target, partial)
    assert_same_state(target, saved)
    assert sgd.lr == 0.1 and sgd.steps == 0 and sgd.state == [{}, {}, {}, {}]
    cn.load(with_adam, target)  # the model alone loads from a file with optimizer state
    assert_same_state(target, model.state_dict())


def test_save_refuses_an_optimizer_of_another_model(tmp_path):
    model = mlp(0)
    with pytest.raises(ValueError, match=r"parameter 0 \(shape \(4, 5\)\) is not a parameter of the model"):
        cn.save(tmp_path / "x.npz", model, Adam(mlp(1).parameters()))
    assert not (tmp_path / "x.npz").exists()
    with pytest.raises(TypeError, match="expected a Module"):
        cn.save(tmp_path / "x.npz", Adam(model.parameters()))
    with pytest.raises(TypeError, match="expected an Optimizer or None"):
        cn.save(tmp_path / "x.npz", model, "adam")
    with pytest.raises(FileNotFoundError, match="no directory"):
        cn.save(tmp_path / "missing" / "x.npz", model)


def test_saving_over_a_file_replaces_it(tmp_path):
    path = tmp_path / "m.npz"
    cn.save(path, mlp(0))
    cn.save(str(path), mlp(2))
    model = mlp(1)
    cn.load(str(path), model)
    assert_same_state(model, mlp(2).state_dict())
    assert zipfile.is_zipfile(path)


# --------------------------------------------------------------------------- PyTorch

def _torch_pairs():
    torch = pytest.importorskip("torch")
    nn = torch.nn
    return [
        (cn.Sequential(cn.Linear(5, 4), cn.ReLU(), cn.Linear(4, 3)),
         nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))),
        (cn.Sequential(cn.Conv2d(2, 3, 3, padding=1), cn.ReLU(), cn.MaxPool2d(2), cn.Flatten(),
                       cn.Linear(48, 2)),
         nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                       nn.Linear(48, 2))),
        (cn.LSTM(3, 5), nn.LSTM(3, 5, batch_first=True)),
        (cn.GRU(3, 5), nn.GRU(3, 5, batch_first=True)),
        (cn.RNN(3, 5), nn.RNN(3, 5, batch_first=True)),
        (cn.Embedding(7, 4), nn.Embedding(7, 4)),
    ]


def test_state_dict_keys_and_shapes_equal_torch():
    for ours, theirs in _torch_pairs():
        mine = {key: value.shape for key, value in ours.state_dict().items()}
        torch_state = {key: tuple(value.shape) for key, value in theirs.state_dict().items()}
        assert list(mine) == list(torch_state)
        assert mine == torch_state


def test_batchnorm_keys_are_torchs_but_num_batches_tracked():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.BatchNorm1d(4)).state_dict()
    ours = cn.Sequential(cn.Linear(5, 4), cn.BatchNorm1d(4)).state_dict()
    assert list(ours) == [key for key in theirs if not key.endswith("num_batches_tracked")]


def test_batchnorm2d_and_residual_keys_are_torchs_but_num_batches_tracked():
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class TorchResidual(nn.Module):  # y = x + block(x), the block held as .block
        def __init__(self, block):
            super().__init__()
            self.block = block

        def forward(self, x):
            return x + self.block(x)

    theirs = nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1, bias=False), nn.BatchNorm2d(3), nn.ReLU(),
        nn.BatchNorm2d(3, affine=False),
        TorchResidual(nn.Sequential(nn.Conv2d(3, 3, 3, padding=1), nn.BatchNorm2d(3))))
    ours = cn.Sequential(
        cn.Conv2d(2, 3, 3, padding=1, bias=False), cn.BatchNorm2d(3), cn.ReLU(),
        cn.BatchNorm2d(3, affine=False),
        cn.Residual(cn.Sequential(cn.Conv2d(3, 3, 3, padding=1), cn.BatchNorm2d(3))))
    torch_state = {key: tuple(value.shape) for key, value in theirs.state_dict().items()
                   if not key.endswith("num_batches_tracked")}
    mine = {key: value.shape for key, value in ours.state_dict().items()}
    assert list(mine) == list(torch_state)
    assert mine == torch_state


def test_torch_batchnorm2d_state_loads_and_gives_torchs_output():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.BatchNorm2d(3).double()
    for _ in range(2):  # move torch's running statistics and weights away from their start
        theirs(torch.randn(4, 3, 5, 5, dtype=torch.float64) * 2 + 1)
    with torch.no_grad():
        theirs.weight.uniform_(0.5, 1.5)
        theirs.bias.normal_()
    theirs.eval()
    ours = cn.BatchNorm2d(3).eval()
    ours.load_state_dict({key: value.detach().numpy().copy()
                          for key, value in theirs.state_dict().items()
                          if not key.endswith("num_batches_tracked")})
    x = image_batch(np.float64)[:, :1].repeat(3, axis=1) * 2
    expected = theirs(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(ours(x), expected, rtol=0, atol=1e-12)


def test_torch_lstm_weights_load_and_give_torchs_output():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(3, 5, batch_first=True).double()
    ours = cn.LSTM(3, 5)
    ours.load_state_dict({key: value.detach().numpy().copy()
                          for key, value in theirs.state_dict().items()})
    x = sequences(np.float64)
    expected, _ = theirs(torch.from_numpy(x))
    out, _ = ours(x)
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=0, atol=1e-12)
