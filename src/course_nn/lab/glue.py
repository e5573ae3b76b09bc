"""myst_nb's ``glue`` without its import cost: a value shown on the website by ``{glue:text}``.

myst_nb's own ``glue`` imports nbformat, whose JSON-schema validators (through jsonschema and
rfc3987_syntax) take about a second of CPU to build in every kernel that glues. This one needs
only IPython and displays the same output, bit for bit (tests/test_glue.py compares the two).
"""

GLUE_PREFIX = "application/papermill.record/"
"""The mime-type prefix of a glued value that is not displayed (myst_nb's GLUE_PREFIX)."""


def glue(name, variable, display=True):
    """``myst_nb.glue``: store ``variable``'s display value in the cell's output under ``name``,
    for the website's ``{glue:text}`` roles (hidden in the notebook when ``display`` is False).
    """
    from IPython.core.formatters import format_display_data
    from IPython.display import display as ipy_display

    mimebundle, metadata = format_display_data(variable)
    prefix = "" if display else GLUE_PREFIX
    metadata["scrapbook"] = dict(name=name, mime_prefix=prefix)
    ipy_display({prefix + k: v for k, v in mimebundle.items()}, raw=True, metadata=metadata)
