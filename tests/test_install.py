"""The installed package is what ``import course_nn`` finds, from any working directory.

A learner who clones the repository into ``~/course_nn`` and starts Python in ``~`` has a
folder named ``course_nn`` (the checkout, no ``__init__.py``) in the working directory. With a
flat layout the editable install's import hook comes after the path search, which takes that
folder as an empty namespace package. The src layout puts ``src/`` on ``sys.path`` instead, so
the real package wins.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = "import course_nn as cn; print(cn.__file__); print(cn.Sequential.__name__)"


def _checkout_into(dest):
    """A copy of this checkout at ``dest``: a git clone when git is there, else a file copy."""
    if shutil.which("git") and (ROOT / ".git").exists():
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", f"file://{ROOT}", str(dest)],
                       check=True, timeout=120)
    else:
        shutil.copytree(ROOT / "src", dest / "src")


@pytest.mark.parametrize("where", ["parent", "checkout", "book"])
def test_import_course_nn_from_any_folder(tmp_path, where):
    checkout = tmp_path / "course_nn"
    _checkout_into(checkout)
    cwd = {"parent": tmp_path, "checkout": checkout, "book": ROOT / "book"}[where]
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=cwd, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    path, name = result.stdout.split()
    assert name == "Sequential"
    assert Path(path).name == "__init__.py" and Path(path).parent.name == "course_nn"


def test_import_course_nn_does_not_load_the_lab():
    """The library stands alone: ``import course_nn`` loads none of the book's staging."""
    code = ("import sys, course_nn; "
            "print(sorted(m for m in sys.modules if m.startswith('course_nn.lab')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_import_course_nn_leaves_numpy_random_for_first_use():
    """``import course_nn`` stays within 1.3x of ``import numpy`` (bench/run.py): it does not
    import numpy.random (about 10 ms), which the package generator loads on its first draw,
    and that draw is the same as from a generator made at import: default_rng(0). (numpy 1.x
    imports numpy.random itself; there course_nn only must not add anything.)"""
    code = ("import sys, numpy as np; print('numpy.random' in sys.modules); "
            "import math, course_nn as cn; print('numpy.random' in sys.modules); "
            "w, b = cn.Linear(3, 2).weight.data, 1 / math.sqrt(3); "
            "print(np.array_equal(w, np.random.default_rng(0).uniform(-b, b, (2, 3))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    with_numpy, with_course_nn, same_draw = result.stdout.split()
    assert with_course_nn == with_numpy and same_draw == "True", result.stdout
    import numpy as np

    if int(np.__version__.split(".")[0]) >= 2:
        assert with_course_nn == "False"


def test_library_modules_never_import_the_lab():
    """No module at the top level of course_nn imports from course_nn.lab (the arrow points
    one way: the lab stages lessons with the library, never the reverse)."""
    package = ROOT / "src" / "course_nn"
    offenders = [path.name for path in package.glob("*.py")
                 if re.search(r"^\s*(from\s+(\.lab|course_nn\.lab)\b|import\s+course_nn\.lab\b)",
                              path.read_text(encoding="utf-8"), re.M)]
    assert offenders == []
