"""Fail the build when a chapter's execution takes far longer than it should.

A cell that hangs past the per-cell timeout (``execute.timeout`` in _config.yml) already fails
the build and names the cell. One kind of stall does not: when nbclient loses the wake-up of
a cell's reply (jupyter/nbclient#312), it waits the whole timeout, then finds the reply and
carries on as if nothing happened. Every chapter executes in well under
``nb_execution_budget`` seconds (README, "Two commands"), so a chapter over it is reported as
a warning, which ``-W`` turns into a failed build, naming the chapter and the command that
finds the stalled cell (scripts/stall_check.py).
"""

from sphinx.util import logging

logger = logging.getLogger(__name__)


def _check_budget(app, env):
    from myst_nb.sphinx_ import NbMetadataCollector

    budget = app.config.nb_execution_budget
    for docname in sorted(env.found_docs):
        exec_data = NbMetadataCollector.get_exec_data(env, docname)
        if not exec_data or exec_data.get("runtime") is None:
            continue
        runtime = float(exec_data["runtime"])
        if runtime > budget:
            logger.warning(
                f"{docname}: executed in {runtime:.0f} s, over the {budget:.0f} s budget per "
                f"chapter (a stalled cell? run: python scripts/stall_check.py "
                f"--runs 5 {docname}.ipynb)", location=docname)


def setup(app):
    app.add_config_value("nb_execution_budget", 120.0, "env", types=(int, float))
    app.connect("env-updated", _check_budget)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
