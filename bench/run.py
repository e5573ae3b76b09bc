"""Time course_nn against PyTorch CPU on the course's workloads.

    python bench/run.py               # every workload, float32 and float64, one thread each
    python bench/run.py --threads 2   # both libraries with two threads
    python bench/run.py --quick       # fewer repeats
    python bench/run.py --book        # also time executing every chapter notebook

OpenBLAS picks its kernel for the CPU unless OPENBLAS_CORETYPE says otherwise; a shell that
sets it (this project's sandbox sets Haswell) times course_nn on that kernel instead, while
PyTorch keeps its own: run ``env -u OPENBLAS_CORETYPE python bench/run.py`` to time what a
learner's numpy does on this CPU. The first line printed names the kernel used.

Each workload is one training step, forward + backward + optimizer step (SGD), on the same
shapes and the same initial weights in both libraries. The two run interleaved in one
process, each timed block followed by an idle pause so BLAS worker threads of one library
stop spinning before the other is timed; the table reports the median over repeats and the
ratio course_nn / PyTorch (below 1 means course_nn is faster). Not part of the test suite.

Both libraries get the same number of threads, one by default: the course runs with one
BLAS thread (scripts/setup.sh and scripts/test.sh set OPENBLAS_NUM_THREADS=1), because on a
2-core machine a second BLAS thread that spins between calls slows numpy's elementwise work
more than it speeds up the small matrix products of these workloads.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import course_nn as cn  # noqa: E402
from course_nn.conv import Conv2d, Flatten, MaxPool2d  # noqa: E402
from course_nn.recurrent import GRU, LSTM, RNN  # noqa: E402

IDLE = 0.15  # seconds between timed blocks: OpenBLAS threads spin for about 0.1 s after a call


class Workload:
    """A named pair of step functions (course_nn, torch) built on identical data and weights.
    ``long``: each call takes seconds (a whole epoch), so it is timed once per repeat, over 3
    repeats, with a single warm-up call per library. ``floor``: builds a function that runs
    only the matrix products of course_nn's step, as plain numpy ``@`` calls on arrays of the
    same shapes (see ``floors``)."""

    def __init__(self, name, build, long=False, floor=None):
        self.name, self.build, self.long, self.floor = name, build, long, floor


def _products(shapes, dtype):
    """A function computing a @ b for each ((m, k), (k, n), repeat) of ``shapes``, ``repeat``
    times, on fixed random arrays: the matrix-product work of one training step."""
    rng = np.random.default_rng(0)
    pairs = [(rng.standard_normal(a).astype(dtype), rng.standard_normal(b).astype(dtype), r)
             for a, b, r in shapes]

    def run():
        for a, b, repeat in pairs:
            for _ in range(repeat):
                a @ b

    return run


def _conv_floor(c_in, c_out, size, dtype, batch=32, k=3):
    """Conv2d's three products on the im2col matrix (C*k*k, N*H*W): forward W @ cols, weight
    gradient cols @ g.T, input gradient W.T @ g."""
    kk, cols = c_in * k * k, batch * size * size
    return lambda: _products([((c_out, kk), (kk, cols), 1), ((kk, cols), (cols, c_out), 1),
                              ((kk, c_out), (c_out, cols), 1)], dtype)


def _recurrent_floor(kind, dtype, batch=32, steps=50, d=16, h=64):
    """A recurrent layer's products. RNN and GRU: the input projection of every step at once,
    one (N, H) @ (H, G*H) per step forward and one (N, G*H) @ (G*H, H) per step backward, and
    the weight and input gradients over all steps at once. LSTM (transposed, input folded into
    each step): one (4H, H+D+1) @ (H+D+1, N) per step forward, one (H+D, 4H) @ (4H, N) per step
    backward, and the weight gradient (4H, T*N) @ (T*N, H+D+1) over all steps at once."""
    g = {"RNN": 1, "LSTM": 4, "GRU": 3}[kind] * h
    tn = steps * batch
    if kind == "LSTM":
        return lambda: _products([((g, h + d + 1), (h + d + 1, batch), steps),
                                  ((h + d, g), (g, batch), steps),
                                  ((g, tn), (tn, h + d + 1), 1)], dtype)
    return lambda: _products([((tn, d), (d, g), 1), ((batch, h), (h, g), steps),
                              ((batch, g), (g, h), steps), ((g, tn), (tn, h), 1),
                              ((g, tn), (tn, d), 1), ((tn, g), (g, d), 1)], dtype)


def _mlp(sizes, batch, dtype):
    def build(torch):
        rng = np.random.default_rng(0)
        layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(cn.Linear(a, b, rng=rng, dtype=dtype))
            if i < len(sizes) - 2:
                layers.append(cn.ReLU())
        ours = cn.Sequential(*layers)
        x = rng.standard_normal((batch, sizes[0])).astype(dtype)
        y = rng.integers(0, sizes[-1], batch)
        loss_fn, opt = cn.CrossEntropyLoss(), cn.optim.SGD(ours.parameters(), lr=0.01)

        def step_ours():
            opt.zero_grad()
            loss_fn(ours(x), y)
            ours.backward_params(loss_fn.backward())  # x is data: no input gradient, as in torch
            opt.step()

        if torch is None:
            return step_ours, None
        tlayers = []
        for layer in ours:
            if isinstance(layer, cn.Linear):
                t = torch.nn.Linear(layer.in_features, layer.out_features).to(_torch_dtype(torch, dtype))
                with torch.no_grad():
                    t.weight.copy_(torch.from_numpy(layer.weight.data))
                    t.bias.copy_(torch.from_numpy(layer.bias.data))
                tlayers.append(t)
            else:
                tlayers.append(torch.nn.ReLU())
        theirs = torch.nn.Sequential(*tlayers)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        tloss, topt = torch.nn.CrossEntropyLoss(), torch.optim.SGD(theirs.parameters(), lr=0.01)

        def step_torch():
            topt.zero_grad()
            tloss(theirs(tx), ty).backward()
            topt.step()

        return step_ours, step_torch

    return build


def _conv(c_in, c_out, size, dtype, batch=32):
    def build(torch):
        rng = np.random.default_rng(0)
        conv = Conv2d(c_in, c_out, 3, padding=1, rng=rng, dtype=dtype)
        x = rng.standard_normal((batch, c_in, size, size)).astype(dtype)
        g = rng.standard_normal((batch, c_out, size, size)).astype(dtype)
        opt = cn.optim.SGD(conv.parameters(), lr=0.01)

        def step_ours():
            opt.zero_grad()
            conv(x)
            conv.backward(g)
            opt.step()

        if torch is None:
            return step_ours, None
        t = torch.nn.Conv2d(c_in, c_out, 3, padding=1).to(_torch_dtype(torch, dtype))
        with torch.no_grad():
            t.weight.copy_(torch.from_numpy(conv.weight.data))
            t.bias.copy_(torch.from_numpy(conv.bias.data))
        tx, tg = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(g)
        topt = torch.optim.SGD(t.parameters(), lr=0.01)

        def step_torch():
            topt.zero_grad()
            tx.grad = None
            t(tx).backward(tg)
            topt.step()

        return step_ours, step_torch

    return build


def _maxpool(dtype, shape=(32, 8, 28, 28)):
    def build(torch):
        rng = np.random.default_rng(0)
        pool = MaxPool2d(2)
        x = rng.standard_normal(shape).astype(dtype)
        g = rng.standard_normal((shape[0], shape[1], shape[2] // 2, shape[3] // 2)).astype(dtype)

        def step_ours():
            pool(x)
            pool.backward(g)

        if torch is None:
            return step_ours, None
        tx, tg = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(g)

        def step_torch():
            tx.grad = None
            torch.nn.functional.max_pool2d(tx, 2).backward(tg)

        return step_ours, step_torch

    return build


def _recurrent(kind, dtype, batch=32, steps=50, d=16, h=64):
    def build(torch):
        rng = np.random.default_rng(0)
        layer = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}[kind](d, h, rng=rng, dtype=dtype)
        x = rng.standard_normal((batch, steps, d)).astype(dtype)
        g = rng.standard_normal((batch, steps, h)).astype(dtype)
        opt = cn.optim.SGD(layer.parameters(), lr=0.01)

        def step_ours():
            opt.zero_grad()
            layer(x)
            layer.backward(g)
            opt.step()

        if torch is None:
            return step_ours, None
        t = getattr(torch.nn, kind)(d, h, batch_first=True).to(_torch_dtype(torch, dtype))
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(t, name + "_l0").copy_(torch.from_numpy(getattr(layer, name).data))
        tx, tg = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(g)
        topt = torch.optim.SGD(t.parameters(), lr=0.01)

        def step_torch():
            topt.zero_grad()
            tx.grad = None
            t(tx)[0].backward(tg)
            topt.step()

        return step_ours, step_torch

    return build


def _torch_mirror(torch, model):
    """A torch.nn.Sequential with the same layers and weights as a course_nn Sequential of
    Linear, ReLU, Conv2d, MaxPool2d, BatchNorm2d and Flatten (float32)."""
    layers = []
    for layer in model:
        if isinstance(layer, cn.Linear):
            t = torch.nn.Linear(layer.in_features, layer.out_features)
        elif isinstance(layer, Conv2d):
            t = torch.nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                                stride=layer.stride, padding=layer.padding,
                                bias=layer.bias is not None)
        elif isinstance(layer, MaxPool2d):
            t = torch.nn.MaxPool2d(layer.kernel_size, stride=layer.stride)
        elif isinstance(layer, cn.BatchNorm2d):
            t = torch.nn.BatchNorm2d(layer.num_features, eps=layer.eps, momentum=layer.momentum)
        elif isinstance(layer, cn.ReLU):
            t = torch.nn.ReLU()
        elif isinstance(layer, Flatten):
            t = torch.nn.Flatten()
        else:
            raise TypeError(f"_torch_mirror: no torch counterpart for {type(layer).__name__}")
        with torch.no_grad():
            for name in ("weight", "bias"):
                ours = getattr(layer, name, None)
                if ours is not None:
                    getattr(t, name).copy_(torch.from_numpy(ours.data))
        layers.append(t)
    return torch.nn.Sequential(*layers).float()


def _fashion_epoch(kind, batch):
    """One epoch of SGD (lr 0.01) over the 60,000 Fashion-MNIST training images, in a fixed
    shuffled order of batches: note 002's 784-128-10 MLP or chapter 19's LeNet with batch norm,
    float32, the same initial weights in both libraries."""
    def build(torch):
        from course_nn.data import load_fashion_mnist
        from course_nn.lab.exercises import fashion as recipe

        X, y = load_fashion_mnist("train", as_images=kind == "LeNet")
        order = np.random.default_rng(0).permutation(len(X))
        batches = [order[i:i + batch] for i in range(0, len(X), batch)]
        ours = (recipe.fashion_lenet if kind == "LeNet" else recipe.fashion_mlp)(0, dtype=np.float32)
        loss_fn, opt = cn.CrossEntropyLoss(), cn.optim.SGD(ours.parameters(), lr=0.01)

        def epoch_ours():
            for idx in batches:
                opt.zero_grad()
                loss_fn(ours(X[idx]), y[idx])
                ours.backward_params(loss_fn.backward())
                opt.step()

        if torch is None:
            return epoch_ours, None
        theirs = _torch_mirror(torch, ours)
        tX, ty = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
        tbatches = [torch.from_numpy(idx) for idx in batches]
        tloss, topt = torch.nn.CrossEntropyLoss(), torch.optim.SGD(theirs.parameters(), lr=0.01)

        def epoch_torch():
            for idx in tbatches:
                topt.zero_grad()
                tloss(theirs(tX[idx]), ty[idx]).backward()
                topt.step()

        return epoch_ours, epoch_torch

    return build


def _torch_dtype(torch, dtype):
    return torch.float32 if dtype == np.float32 else torch.float64


def workloads():
    out = []
    for dtype in (np.float32, np.float64):
        bits = "f32" if dtype == np.float32 else "f64"
        for sizes in ((784, 128, 10), (64, 128, 64, 10)):
            for batch in (64, 256):
                name = f"MLP {'-'.join(map(str, sizes))} b{batch} {bits}"
                out.append(Workload(name, _mlp(sizes, batch, dtype)))
        for c_in, c_out, size in ((1, 8, 28), (8, 16, 14)):
            out.append(Workload(f"Conv2d {c_in}->{c_out} {size}x{size} b32 {bits}",
                                _conv(c_in, c_out, size, dtype),
                                floor=_conv_floor(c_in, c_out, size, dtype)))
        out.append(Workload(f"MaxPool2d 2x2 32x8x28x28 {bits}", _maxpool(dtype)))
        for kind in ("RNN", "LSTM", "GRU"):
            out.append(Workload(f"{kind} T50 b32 d16 h64 {bits}", _recurrent(kind, dtype),
                                floor=_recurrent_floor(kind, dtype)))
    if fashion_mnist_available():
        for batch in (64, 256):
            out.append(Workload(f"Fashion-MNIST epoch, MLP 784-128-10 b{batch} f32",
                                _fashion_epoch("MLP", batch), long=True))
        out.append(Workload("Fashion-MNIST epoch, LeNet+BatchNorm2d b64 f32",
                            _fashion_epoch("LeNet", 64), long=True))
    return out


def fashion_mnist_available():
    """True when load_fashion_mnist finds the training files without downloading."""
    from course_nn.data import load_fashion_mnist

    try:
        load_fashion_mnist("train", limit=1, verify=False)
    except FileNotFoundError:
        return False
    return True


def floors(workloads_timed, ratios, torch_times):
    """Lines of the matrix-product floor table for the workloads over the target: numpy's
    products alone against PyTorch's whole step. A floor ratio above 1 means no numpy
    implementation doing these products through this BLAS can reach the target: the products
    alone take longer than PyTorch's whole step."""
    lines = []
    for w in workloads_timed:
        if w.floor is None or w.name not in ratios or ratios[w.name] <= 1.0:
            continue
        products = w.floor()
        seconds = statistics.median(time_block(products) for _ in range(5))
        time.sleep(IDLE)
        lines.append(f"| {w.name} | {seconds * 1e3:.3f} | {torch_times[w.name] * 1e3:.3f} | "
                     f"{seconds / torch_times[w.name]:.2f} |")
    return lines


def target_misses(ratios):
    """Workloads over the target ratio: every workload at or below 1.0 (course_nn no slower
    than PyTorch CPU with the same threads)."""
    return [f"{name} ({ratio:.2f} > 1.0)" for name, ratio in ratios.items() if ratio > 1.0]


def conv_summary(ratios):
    """(geometric mean, worst) of the convolution ratios, or None without any."""
    conv = [r for n, r in ratios.items() if n.startswith("Conv2d")]
    return (float(np.exp(np.mean(np.log(conv)))), max(conv)) if conv else None


def time_block(fn, min_time=0.2, warm_up=True):
    """Seconds per call of fn, over enough calls to last about ``min_time``."""
    if warm_up:
        fn()
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return elapsed / calls


def compare(workload, torch, repeats):
    ours, theirs = workload.build(torch)
    t_ours, t_theirs = [], []
    if workload.long:
        repeats = 3
    for i in range(repeats):
        warm_up = not workload.long or i == 0
        t_ours.append(time_block(ours, warm_up=warm_up))
        time.sleep(IDLE)
        if theirs is not None:
            t_theirs.append(time_block(theirs, warm_up=warm_up))
            time.sleep(IDLE)
    median_ours = statistics.median(t_ours)
    median_theirs = statistics.median(t_theirs) if t_theirs else None
    return median_ours, median_theirs


def import_time(module, repeats=7):
    """Best of ``repeats`` fresh interpreters: seconds to import ``module`` (byte-code cached,
    as after a first import on a learner's machine)."""
    cmd = [sys.executable, "-c", f"import time; t = time.perf_counter(); import {module}; "
           "print(time.perf_counter() - t)"]
    # byte-code is written and reused even where PYTHONDONTWRITEBYTECODE is set for the tests
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, cwd=ROOT, env=env)
    return min(float(subprocess.check_output(cmd, cwd=ROOT, env=env)) for _ in range(repeats))


def _training_seconds(model, train, val, epochs, rng):
    """Wall time of ``fit`` with Adam (lr 1e-3), batch 32, no progress bar."""
    from course_nn.train import fit

    start = time.perf_counter()
    fit(model, cn.CrossEntropyLoss(), cn.optim.Adam(model.parameters(), lr=1e-3), train, val,
        epochs=epochs, batch_size=32, rng=rng, progress=False)
    return time.perf_counter() - start


def digits_cnn_training_time(epochs=5):
    from course_nn.lab.exercises import cnn as recipe

    train, val, _ = recipe.digits_image_split()
    return _training_seconds(recipe.digits_cnn(1), train, val, epochs, np.random.default_rng(0))


def digits_training_time():
    from course_nn.data import load_digits, train_val_test_split

    rng = np.random.default_rng(0)
    train, val, _ = train_val_test_split(*load_digits(), rng=rng)
    model = cn.Sequential(cn.Linear(64, 128, rng=rng, init=cn.init.he_normal), cn.ReLU(),
                          cn.Linear(128, 10, rng=rng))
    return _training_seconds(model, train, val, 30, rng)


def book_time():
    total = 0.0
    for nb in sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb")):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "jupyter", "execute", "--output", "/dev/null", str(nb)],
                       check=True, capture_output=True, cwd=ROOT / "book")
        seconds = time.perf_counter() - start
        total += seconds
        print(f"  {nb.name:<36} {seconds:6.1f} s")
    return total


def environment(torch):
    from threadpoolctl import threadpool_info

    blas = [f"{i['internal_api']} {i.get('version', '')} ({i['num_threads']} threads, "
            f"kernel {i.get('architecture', '?')})" for i in threadpool_info() if i["user_api"] == "blas"]
    if os.environ.get("OPENBLAS_CORETYPE"):
        blas.append(f"OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']} is set: not this "
                    f"CPU's own kernel choice (env -u OPENBLAS_CORETYPE for that)")
    lines = [f"numpy {np.__version__}; BLAS: {', '.join(blas) or 'unknown'}"]
    lines.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else
                 "torch not installed: course_nn timings only")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 7")
    parser.add_argument("--book", action="store_true", help="also time the chapter notebooks")
    parser.add_argument("--only", default="", help="run workloads whose name contains this")
    parser.add_argument("--threads", type=int, default=1, help="threads for both libraries (default 1)")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads, user_api="blas")
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(args.threads)  # the same thread count for both libraries
    print("\n".join(environment(torch)))
    repeats = 3 if args.quick else 7
    print("\n| workload | course_nn (ms) | PyTorch (ms) | ratio |\n| --- | ---: | ---: | ---: |")
    ratios, torch_times, timed = {}, {}, []
    for w in workloads():
        if args.only not in w.name:
            continue
        ours, theirs = compare(w, torch, repeats)
        timed.append(w)
        ratio = f"{ours / theirs:.2f}" if theirs else "-"
        if theirs:
            ratios[w.name], torch_times[w.name] = ours / theirs, theirs
        print(f"| {w.name} | {ours * 1e3:.3f} | {theirs * 1e3 if theirs else float('nan'):.3f} | {ratio} |",
              flush=True)
    conv = conv_summary(ratios)
    if conv:
        print(f"\nconvolution: geometric mean {conv[0]:.2f}, worst {conv[1]:.2f}")
    if ratios:
        missed = target_misses(ratios)
        print("targets: " + ("all met" if not missed else "missed by " + ", ".join(missed)))
        floor_lines = floors(timed, ratios, torch_times)
        if floor_lines:
            print("\nmatrix-product floor of the workloads over the target (numpy's products "
                  "alone, against PyTorch's whole step):")
            print("\n| workload | numpy products (ms) | PyTorch step (ms) | floor ratio |\n"
                  "| --- | ---: | ---: | ---: |")
            print("\n".join(floor_lines))
    ours, numpy_alone = import_time("course_nn"), import_time("numpy")
    print(f"\nimport course_nn: {ours * 1e3:.0f} ms, import numpy: {numpy_alone * 1e3:.0f} ms "
          f"(ratio {ours / numpy_alone:.2f}, target 1.3)")
    print(f"digits MLP, 30 epochs: {digits_training_time():.2f} s")
    print(f"digits CNN (chapter 14), 5 epochs: {digits_cnn_training_time():.2f} s")
    if args.book:
        print("chapter notebooks:")
        print(f"  total {book_time():.1f} s")


if __name__ == "__main__":
    main()
