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
