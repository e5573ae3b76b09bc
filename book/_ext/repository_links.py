"""One setting turns on every link to the public repository: `repository: url:` in _config.yml.

With the URL of the course's GitHub repository set (and `repository: branch:`), each page gets
the theme's repository button (GitHub icon) and each chapter the Binder and Colab launch
buttons, beside the "JupyterLab (local)" one (book/_ext/launch_local.py). Without it (an
empty URL, or Jupyter Book's own default URL) none of them appears. Colab opens a chapter from
the repository with nothing installed, so each chapter must start with the cell that installs
course_nn there (scripts/colab_cell.py writes it): with a URL set, a chapter without the
current cell is a warning, which -W makes a failed build.
"""

import json
from pathlib import Path

from _scripts import load_script  # book/_ext is on sys.path, as for every local extension
from sphinx.util import logging

logger = logging.getLogger(__name__)
BINDER = "https://mybinder.org"
COLAB = "https://colab.research.google.com"


def _repository_url(config):
    url = (config.html_theme_options.get("repository_url") or "").strip().rstrip("/")
    return "" if url == load_script("colab_cell").JB_DEFAULT_URL else url


def _turn_on(app, config):
    options = config.html_theme_options
    url = _repository_url(config)
    if not url:
        options["repository_url"] = ""
        options["use_repository_button"] = False
        return
    options["repository_url"] = url
    options["use_repository_button"] = True
    options["path_to_docs"] = options.get("path_to_docs") or ""
    launch = dict(options.get("launch_buttons") or {})
    # Jupyter Book's defaults give these keys as "" (off)
    for key, value in (("binderhub_url", BINDER), ("colab_url", COLAB),
                       ("notebook_interface", "jupyterlab")):
        launch[key] = launch.get(key) or value
    options["launch_buttons"] = launch


def _check_colab_cells(app, env):
    url = _repository_url(app.config)
    if not url:
        return
    colab = load_script("colab_cell")
    branch = app.config.html_theme_options.get("repository_branch") or "main"
    for docname in sorted(env.found_docs):
        path = Path(env.doc2path(docname))
        if path.suffix != ".ipynb":
            continue
        notebook = json.loads(path.read_text(encoding="utf-8"))
        if not colab.has_cell(notebook, url, branch):
            logger.warning(f"{docname}: the first cell does not install course_nn on Colab from "
                           f"{url} ({branch}); run: python scripts/colab_cell.py", location=docname)


def setup(app):
    # before sphinx-book-theme reads the options (builder-inited)
    app.connect("config-inited", _turn_on, priority=400)
    app.connect("env-updated", _check_colab_cells)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
