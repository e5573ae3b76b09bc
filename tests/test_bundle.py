"""The course bundle (scripts/make_bundle.py, linked from every page of the website) installs
into a fresh virtual environment and runs a chapter.

The bundle is built here from the checkout, as the website build does, and unpacked. Its
README's set-up command is `python3 -m venv .venv && .venv/bin/python -m pip install -r
requirements.txt`; to stay offline and fast, the test makes `.venv` without pip and lets it
see this checkout's `.venv` site-packages through a .pth file (after its own), so that pip
finds numpy, matplotlib, JupyterLab and the rest already installed and installs only the
course_nn wheel, into the new environment. Then that environment's Python must import
course_nn from its own site-packages (not this checkout's src/), and nbval, run with it,
must re-execute chapter 1 from the bundle's notebooks folder with the saved outputs.
"""

import json
import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import make_bundle  # noqa: E402

CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
CHAPTER = "01_introduction.ipynb"


def test_bundle_installs_into_a_fresh_venv_and_runs_a_chapter(tmp_path):
    zip_path = make_bundle.build(tmp_path / "site", CHAPTERS)
    assert zip_path.name == "course_nn-bundle.zip"
    with zipfile.ZipFile(zip_path) as bundle:
        names = bundle.namelist()
        bundle.extractall(tmp_path)
    folder = tmp_path / "course_nn-bundle"
    assert sorted(p.name for p in (folder / "notebooks").glob("*.ipynb")) == [p.name for p in CHAPTERS]
    assert (folder / "notebooks" / "data" / "alice_chapters_1-6.txt").is_file(), names
    for link in re.findall(r"\]\((appendix/[^)#]+)", "".join(
            "".join(cell["source"]) for nb in CHAPTERS
            for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"])):
        assert (folder / "notebooks" / link).is_file(), f"the chapters link {link}, not in the bundle"
    wheels = list(folder.glob("course_nn-*-py3-none-any.whl"))
    assert len(wheels) == 1, names

    readme = (folder / "README.md").read_text(encoding="utf-8")
    setup = re.search(r"^(python3 -m venv \.venv && (\.venv/bin/python -m pip install -r "
                      r"requirements\.txt))\s+# set up$", readme, re.M)
    run = re.search(r"^\.venv/bin/jupyter lab notebooks/\s+# run$", readme, re.M)
    assert setup and run, readme
    requirements = (folder / "requirements.txt").read_text(encoding="utf-8").split()
    assert f"./{wheels[0].name}" in requirements
    assert {"jupyterlab>=4.5,<5", "jupyterlab-myst>=2.4,<3", "ipykernel>=6.29"} <= set(requirements)
    assert not any(r.startswith(("-e", "jupyter-book", "pytest")) for r in requirements)

    # the fresh environment, sharing this checkout's installed dependencies (see the docstring)
    venv = folder / ".venv"
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--without-pip",
                    str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "_course_nn_test_shared.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    install = subprocess.run(setup.group(2).replace(".venv/bin/python", str(python)).split(),
                             cwd=folder, capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]

    where = subprocess.run([str(python), "-c", "import course_nn, jupyterlab; print(course_nn.__file__)"],
                           cwd=folder, capture_output=True, text=True, timeout=120)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(Path(purelib)), where.stdout

    result = subprocess.run([str(python), "-m", "pytest", "--nbval", "--nbval-current-env",
                             "--nbval-cell-timeout=120", "-p", "no:cacheprovider", "-q",
                             f"notebooks/{CHAPTER}"],
                            cwd=folder, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert re.search(r"\d+ passed", result.stdout), result.stdout[-1000:]
