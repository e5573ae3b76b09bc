"""The landing page's figure (book/images/landing.png) is made by course_nn and stays current.

scripts/make_landing_figure.py regenerates it into a temporary folder; the new file must be
a valid PNG of the expected size with real content, its run must be the spiral run of
chapter 18 (past 95 % training accuracy), and the committed file must show the same picture.
"""

import importlib.util
import struct
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.image  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "make_landing_figure.py"
COMMITTED = ROOT / "book" / "images" / "landing.png"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _load_script():
    spec = importlib.util.spec_from_file_location("make_landing_figure", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG file"
    assert data[12:16] == b"IHDR", f"{path.name}: the first chunk is not IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    script = _load_script()
    out, pg = script.make_figure(tmp_path_factory.mktemp("landing") / "landing.png")
    return script, out, pg


def test_regenerated_figure_is_a_png_of_the_expected_size(regenerated):
    script, out, _ = regenerated
    assert out.exists() and out.stat().st_size > 10_000
    width, height = _png_size(out)
    assert (width, height) == (round(script.SIZE_INCHES[0] * script.DPI),
                               round(script.SIZE_INCHES[1] * script.DPI))
    pixels = matplotlib.image.imread(out)
    assert pixels.shape[:2] == (height, width)
    assert pixels[..., :3].std() > 0.1, "the figure is blank"


def test_the_run_is_chapter_18s_spiral_run(regenerated):
    _, _, pg = regenerated
    assert pg.config.dataset == "spirals" and pg.config.hidden == (16, 16)
    assert pg.accuracy("train") > 0.95
    assert pg.epoch % 10 == 0 and len(pg.history.train_loss) == pg.epoch


def test_committed_figure_is_current(regenerated):
    _, out, _ = regenerated
    assert COMMITTED.exists(), "run scripts/make_landing_figure.py and commit book/images/landing.png"
    assert _png_size(COMMITTED) == _png_size(out)
    # The same picture, compared as means of 8 x 8-pixel blocks: matplotlib's versions draw
    # lines and text a little differently (3.9.4 against 3.11.2: 0.004), while a different run
    # moves whole regions and curves (ten epochs more or fewer: 0.020 and more).
    diff = np.abs(_blocks(matplotlib.image.imread(COMMITTED)) - _blocks(matplotlib.image.imread(out)))
    assert diff.mean() < 0.01, "book/images/landing.png is out of date: rerun the script"


def _blocks(pixels, k=8):
    """Mean colour of each k x k block of an (H, W, 3 or 4) image's RGB channels."""
    h, w = pixels.shape[0] // k * k, pixels.shape[1] // k * k
    return pixels[:h, :w, :3].reshape(h // k, k, w // k, k, 3).mean(axis=(1, 3))


def test_the_figure_is_not_in_a_static_folder():
    assert "_static" not in COMMITTED.relative_to(ROOT).parts
