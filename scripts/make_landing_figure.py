"""Draw the landing page's figure, book/images/landing.png, with course_nn.

It is the run of chapter 18 ("The playground"), section 3: the playground's default
settings on the two spirals, trained ten epochs at a time until the training accuracy
passes 95 %, drawn by ``Playground.draw`` (decision regions, loss curves, first-layer units).
Myst-NB cannot paste a notebook's figure into another page as a captioned figure, so the
landing page shows this file; tests/test_landing_figure.py regenerates it and checks it.

    .venv/bin/python scripts/make_landing_figure.py            # writes book/images/landing.png
    .venv/bin/python scripts/make_landing_figure.py --out x.png
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from course_nn.lab.playground import Playground  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "book" / "images" / "landing.png"
SIZE_INCHES = (11.0, 6.2)   # Playground.draw's own figure size
DPI = 100                   # so the PNG is 1100 x 620 pixels
TARGET, MAX_EPOCHS = 0.95, 300


def landing_run():
    """The chapter's spiral run: default settings, ten epochs at a time until > 95 % train."""
    pg = Playground(dataset="spirals")
    while pg.accuracy("train") <= TARGET and pg.epoch < MAX_EPOCHS:
        pg.step(10)
    return pg


def make_figure(out=DEFAULT_OUT):
    """Train the run, draw it and save it as a PNG at ``out``; returns (path, playground)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    pg = landing_run()
    fig = plt.figure(figsize=SIZE_INCHES)
    pg.draw(fig)
    # no "Software" entry: the file then depends on the drawing, not on the matplotlib version
    fig.savefig(out, dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return out, pg


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the PNG")
    args = parser.parse_args()
    out, pg = make_figure(args.out)
    print(f"wrote {out}: spirals, epoch {pg.epoch}, train accuracy {pg.accuracy('train'):.3f}")


if __name__ == "__main__":
    main()
