"""Pages carry no ipywidgets state, so they load nothing from outside the site.

The explorers and the playground are ipywidgets: they need a running kernel, and on the
website their cells' outputs are removed (cell tag `remove-output`). myst-nb would still copy
the notebook's saved widget state (`metadata.widgets`, which nbclient writes on every
execution, the build's included: 29-196 KB a page) into each page, and for it load require.js
and @jupyter-widgets/html-manager from CDNs, requests that fail offline with console errors.
`nb_ipywidgets_js: {}` in _config.yml drops the loaders; this extension drops the state.
A page that would show a widget view fails the build (a warning; the build runs with -W),
since the static site cannot render it: remove that cell's output and show a picture instead.
"""

from sphinx.util import logging

logger = logging.getLogger(__name__)

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _drop_widget_state(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if scripts:
        scripts[:] = [script for script in scripts
                      if (getattr(script, "attributes", None) or {}).get("type") != WIDGET_STATE]
    if WIDGET_VIEW in context.get("body", ""):
        logger.warning("%s shows an ipywidgets view, which the static website cannot render;"
                       " tag the cell remove-output", pagename, location=pagename)


def setup(app):
    # late: after myst-nb adds the page's scripts (priority 500)
    app.connect("html-page-context", _drop_widget_state, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
