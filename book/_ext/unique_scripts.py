"""Drop repeated <script> tags from every page.

sphinx-thebe (pulled in by Jupyter Book 1.x) registers its inline configuration script each
time Sphinx reads documents, so a page can carry the same `const THEBE_JS_URL = ...` several
times, and the browser reports "Identifier 'THEBE_JS_URL' has already been declared".
"""


def _key(script):
    """Same file (or same inline body) and same attributes; the priority does not matter."""
    attributes = getattr(script, "attributes", {}) or {}
    return (str(getattr(script, "filename", script) or ""), tuple(sorted(attributes.items())))


def _deduplicate(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"][:] = unique


def setup(app):
    # early: Sphinx stops calling handlers of this event after the first that returns a value
    app.connect("html-page-context", _deduplicate, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
