"""course_nn.lab.glue displays what myst_nb.glue displays, without importing nbformat."""

import pytest


@pytest.mark.parametrize("value, display", [(0.923, False), ("early stopping", False), (17, True)])
def test_glue_gives_the_output_of_myst_nb_glue(monkeypatch, value, display):
    """course_nn's glue (no nbformat import) displays exactly what myst_nb.glue displays."""
    import IPython.display
    import myst_nb.ext.glue

    from course_nn.lab.glue import GLUE_PREFIX, glue

    calls = {}

    def record(who):
        def fake_display(*args, **kwargs):
            calls[who] = (args, kwargs)
        return fake_display

    monkeypatch.setattr(myst_nb.ext.glue, "ipy_display", record("myst_nb"))
    monkeypatch.setattr(IPython.display, "display", record("course_nn"))
    myst_nb.ext.glue.glue("name", value, display)
    glue("name", value, display)
    assert calls["course_nn"] == calls["myst_nb"]
    assert GLUE_PREFIX == myst_nb.ext.glue.GLUE_PREFIX


def test_glue_does_not_import_nbformat():
    import subprocess
    import sys

    code = ("import sys; from course_nn.lab.glue import glue; glue('x', 1.5, display=False); "
            "print('nbformat' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_glued_numbers_carry_no_round_off_digits():
    """nbval compares a glued value's stored repr to the last digit, and another CPU kernel
    changes a float's last digits: every glued float is rounded in the chapter (at most 6
    significant digits), as the text that pastes it shows fewer anyway."""
    import json
    from pathlib import Path

    from course_nn.lab.glue import GLUE_PREFIX

    book = Path(__file__).resolve().parent.parent / "book"
    long = []
    for path in sorted(book.glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            for output in cell.get("outputs", []):
                text = output.get("data", {}).get(GLUE_PREFIX + "text/plain")
                if text is None:
                    continue
                text = "".join(text) if isinstance(text, list) else text
                name = output.get("metadata", {}).get("scrapbook", {}).get("name")
                try:
                    float(text)
                except ValueError:
                    continue
                digits = text.lower().split("e")[0].lstrip("-").replace(".", "").lstrip("0")
                if len(digits) > 6:
                    long.append(f"{path.name}: {name} = {text}")
    assert not long, "glued with round-off digits: " + "; ".join(long)
