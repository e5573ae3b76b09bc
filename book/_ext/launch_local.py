"""A launch button on every chapter page that opens the notebook in the reader's own JupyterLab.

The reader who ran `scripts/setup.sh` has the course and its kernel on their machine; with
`jupyter lab --port 8888` started in the checkout's root folder (the browser it opens is
logged in, so the link needs no token), the button opens the chapter there, ready to run
(the kernel starts in book/, as when the book is built); README, "Running the chapters in
JupyterLab". Binder and Colab buttons need the public repository's URL in `_config.yml`
(`repository.url`); this one needs nothing online.
The server address is the Sphinx setting `local_jupyterlab_url`.
"""

from urllib.parse import quote


def _add_button(app, pagename, templatename, context, doctree):
    if not context.get("page_source_suffix", "").endswith(".ipynb") or "header_buttons" not in context:
        return
    url = f"{app.config.local_jupyterlab_url.rstrip('/')}/lab/tree/{quote(pagename)}.ipynb"
    button = {
        "type": "link",
        "text": "JupyterLab (local)",
        "tooltip": ("Open in your JupyterLab: start it in the course folder with "
                    "`jupyter lab --port 8888` (README: Running the chapters in JupyterLab)"),
        "icon": "fas fa-laptop-code",
        "url": url,
        "label": "launch-jupyterlab-local",
    }
    groups = [b for b in context["header_buttons"] if b.get("label") == "launch-buttons"]
    if groups:
        groups[0]["buttons"].append(button)
    else:
        context["header_buttons"].append({"type": "group", "tooltip": "Launch interactive content",
                                          "icon": "fas fa-rocket", "buttons": [button],
                                          "label": "launch-buttons"})


def setup(app):
    app.add_config_value("local_jupyterlab_url", "http://localhost:8888", "html")
    # after sphinx-book-theme has assembled the header buttons (its handlers run at 501)
    app.connect("html-page-context", _add_button, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
