"""Turn the book's {doc} roles into markdown links to the notebook or page, which work in
both places a learner reads it.

    .venv/bin/python scripts/doc_links.py book/01_introduction.ipynb ...   # rewrite
    .venv/bin/python scripts/doc_links.py --check book/*.ipynb book/index.md book/appendix/*.md

On the website (Jupyter Book 1.x, myst-parser) a relative link to a source file,
``[Activation functions](03_activations.ipynb)``, resolves to that page as {doc} does. In
JupyterLab (jupyterlab-myst 2.7) the same link opens the notebook in a new tab, while
{doc}`03_activations` renders as the bare name and points at ``/files/book/03_activations``,
a file that does not exist. An empty link text, ``[](03_activations.ipynb)``, would show the
page title on the website but the file name in JupyterLab, so the link text is written out:
the role's own text (``{doc}`Optimizers <07_optimizers>```) or else the target's title, its
first ``# `` heading, which is what the website showed. In a notebook only markdown cells
are changed; afterwards ``jupytext --sync`` brings the twins along. The landing page and the
appendices (MyST .md files, which the course bundle ships for JupyterLab too) are converted
whole. tests/test_chapter_links.py keeps the {doc} role out of all of them.
"""

import argparse
import json
import re
import sys
from pathlib import Path

ROLE = re.compile(r"\{doc\}`(?:(?P<text>[^`<]*?)\s*<(?P<target>[^`>]+)>|(?P<bare>[^`<>]+))`")


def _target_file(notebook, name):
    """The source file a {doc} name means, relative to the notebook's folder."""
    base = notebook.parent
    name = name.strip()
    for suffix in (".ipynb", ".md"):
        if (base / (name + suffix)).is_file():
            return name + suffix
    raise SystemExit(f"{notebook}: {{doc}} target {name!r} has no .ipynb or .md file")


def _title(path):
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        lines = [line for c in cells if c["cell_type"] == "markdown"
                 for line in "".join(c["source"]).splitlines()]
    else:
        lines = path.read_text(encoding="utf-8").splitlines()
    for line in lines:
        if line.startswith("# "):
            return line[2:].strip()
    raise SystemExit(f"{path}: no '# ' title")


def convert(text, notebook):
    def link(match):
        target = _target_file(notebook, match.group("target") or match.group("bare"))
        words = match.group("text") or _title(notebook.parent / target)
        return f"[{words}]({target})"
    return ROLE.sub(link, text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="report {doc} roles, write nothing")
    args = parser.parse_args(argv)
    found = 0
    for path in args.notebooks:
        if path.suffix == ".md":  # a MyST page: converted whole
            text = path.read_text(encoding="utf-8")
            changed = len(ROLE.findall(text))
            if changed and not args.check:
                path.write_text(convert(text, path), encoding="utf-8")
        else:  # a notebook: its markdown cells
            notebook = json.loads(path.read_text(encoding="utf-8"))
            changed = 0
            for cell in notebook["cells"]:
                if cell["cell_type"] != "markdown":
                    continue
                source = "".join(cell["source"])
                new = convert(source, path)
                if new != source:
                    changed += len(ROLE.findall(source))
                    cell["source"] = new.splitlines(keepends=True)
            if changed and not args.check:
                path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n",
                                encoding="utf-8")
        found += changed
        if changed:
            print(f"{path}: {changed} {{doc}} role(s){' to convert' if args.check else ' converted'}")
    return 1 if args.check and found else 0


if __name__ == "__main__":
    sys.exit(main())
