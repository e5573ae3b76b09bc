"""Run nbval over the whole book under several machines' worth of configurations.

The book promises that what it prints is true on the learner's machine, not only on ours.
Each configuration re-executes every chapter with nbval and compares the outputs with the
committed ones:

    default      this checkout's .venv, OpenBLAS's own kernel choice (OPENBLAS_CORETYPE unset,
                 even when the shell sets it), one BLAS thread
    sandybridge  OPENBLAS_CORETYPE=Sandybridge: the AVX kernel of older CPUs
    haswell      OPENBLAS_CORETYPE=Haswell: the AVX2 kernel many laptops get
    skylakex     OPENBLAS_CORETYPE=SkylakeX: the AVX-512 kernel (skipped on a CPU without it)
    threads2     OPENBLAS_NUM_THREADS=2: blocked products summed in another order
    oldest       a fresh venv with the lowest version requirements.txt admits for each package
    newest       a fresh venv with the newest versions requirements.txt admits
    py313        a fresh venv on Python 3.13 (pyenv), newest versions

    .venv/bin/python scripts/portability.py                  # every configuration (~1 hour)
    .venv/bin/python scripts/portability.py sandybridge haswell skylakex  # the kernels
    .venv/bin/python scripts/portability.py --tests haswell  # also the pytest suite

Fresh venvs live in .portability/<name>/ (reused on the next run). Prints a table and exits 1
when any configuration fails.
"""

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENVS = ROOT / ".portability"

CONFIGS = {
    "default": {"env": {}, "venv": None},
    "sandybridge": {"env": {"OPENBLAS_CORETYPE": "Sandybridge"}, "venv": None, "cpu": "avx"},
    "haswell": {"env": {"OPENBLAS_CORETYPE": "Haswell"}, "venv": None, "cpu": "avx2"},
    "skylakex": {"env": {"OPENBLAS_CORETYPE": "SkylakeX"}, "venv": None, "cpu": "avx512f"},
    "threads2": {"env": {"OPENBLAS_NUM_THREADS": "2"}, "venv": None},
    "oldest": {"env": {}, "venv": ("python3.11", "oldest")},
    "newest": {"env": {}, "venv": ("python3.11", "newest")},
    "py313": {"env": {}, "venv": ("python3.13", "newest")},
}
PYENV_VERSIONS = {"python3.11": "3.11", "python3.13": "3.13"}


def lowest_constraints():
    """requirements.txt with every ``>=X`` lower bound pinned to its release series (a
    constraints file): ``numpy>=1.26`` -> ``numpy==1.26.*``, ``pytest>=8`` -> ``pytest==8.0.*``,
    ``jupyter-book>=1.0.4`` -> ``jupyter-book==1.0.4.*`` (the bound's own patch and post
    releases, since an exact ``==1.0`` may not exist)."""
    pins = []
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        match = re.match(r"^([A-Za-z0-9_.\-\[\]]+)\s*>=\s*([0-9][^,;\s]*)", line)
        if match:
            package = re.sub(r"\[.*\]", "", match.group(1))  # drop extras
            parts = match.group(2).split(".")
            series = ".".join(parts + ["0"] * (2 - len(parts)))
            pins.append(f"{package}=={series}.*")
    return "\n".join(pins) + "\n"


def find_python(name):
    """The interpreter for ``python3.X``: on PATH, or through pyenv's installed versions."""
    prefix = PYENV_VERSIONS[name]
    try:
        versions = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True, text=True,
                                  check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        versions = []
    for version in sorted(versions, reverse=True):
        if version.startswith(prefix + "."):
            root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
            return str(Path(root) / "versions" / version / "bin" / name)
    return name


def make_venv(name, python, versions):
    """Create (once) a venv with this checkout installed editable; return its python."""
    venv = VENVS / name
    py = venv / "bin" / "python"
    stamp = venv / ".installed"
    requirements = (ROOT / "requirements.txt").read_text() + lowest_constraints()
    if stamp.exists() and stamp.read_text() == requirements:
        return py
    subprocess.run([find_python(python), "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    command = [str(py), "-m", "pip", "install", "-q", "-r", str(ROOT / "requirements.txt")]
    if versions == "oldest":
        constraints = venv / "constraints-oldest.txt"
        constraints.write_text(lowest_constraints())
        command += ["-c", str(constraints)]
    else:
        command += ["--upgrade", "--upgrade-strategy", "eager"]
    subprocess.run(command, check=True, cwd=ROOT)
    stamp.write_text(requirements)
    return py


def versions_of(py):
    code = ("import sys, numpy, matplotlib, sklearn; "
            "print(f'Python {sys.version.split()[0]}, numpy {numpy.__version__}, '"
            "f'matplotlib {matplotlib.__version__}, scikit-learn {sklearn.__version__}')")
    return subprocess.run([str(py), "-c", code], capture_output=True, text=True).stdout.strip()


def cpu_has(flag):
    """Whether /proc/cpuinfo lists ``flag`` (False where there is no /proc/cpuinfo)."""
    try:
        return flag in Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False


def run_config(name, with_tests):
    config = CONFIGS[name]
    py = ROOT / ".venv" / "bin" / "python"
    if config["venv"]:
        py = make_venv(name, *config["venv"])
    env = {key: value for key, value in os.environ.items() if key != "OPENBLAS_CORETYPE"}
    env = {**env, "OPENBLAS_NUM_THREADS": "1", **config["env"]}  # the config wins
    targets = ["book"] + (["tests"] if with_tests else [])
    start = time.perf_counter()
    result = subprocess.run([str(py), "-m", "pytest", "-q", "-n", "2", "--dist", "loadfile",
                             *targets], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    log = VENVS / f"{name}.log"
    log.parent.mkdir(exist_ok=True)
    log.write_text(result.stdout + result.stderr)
    summary = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
    failed = [line.split(" ")[1] for line in result.stdout.splitlines() if line.startswith("FAILED")]
    return result.returncode == 0, summary, failed, elapsed, versions_of(py), log


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", help=f"any of {', '.join(CONFIGS)} (default: all)")
    parser.add_argument("--tests", action="store_true", help="run tests/ as well as book/")
    args = parser.parse_args(argv)
    unknown = [name for name in args.configs if name not in CONFIGS]
    if unknown:
        parser.error(f"unknown configuration {unknown[0]!r}; expected one of {', '.join(CONFIGS)}")
    rows, ok_all = [], True
    for name in args.configs or list(CONFIGS):
        flag = CONFIGS[name].get("cpu")
        if flag and not cpu_has(flag):
            print(f"portability: {name} skipped: this CPU has no {flag}")
            rows.append((name, "skipped", "-", f"no {flag} on this CPU", "-"))
            continue
        print(f"portability: {name} ...", flush=True)
        ok, summary, failed, elapsed, versions, log = run_config(name, args.tests)
        ok_all &= ok
        rows.append((name, "pass" if ok else "FAIL", f"{elapsed:.0f} s", summary, versions))
        for test in failed[:20]:
            print(f"    failed: {test}")
        if not ok:
            print(f"    log: {log}")
    print("\n| configuration | verdict | time | pytest | versions |\n|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
