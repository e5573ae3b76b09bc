"""No typed results: every measured number the book's text states is produced or checked by code.

The book's markdown (chapter notebooks, appendices, landing page) is scanned for decimal
numbers, numbers in scientific notation and percentages. Each one must be one of:

- pasted by myst-nb ``glue`` (``{glue:text}`key:.3f```): not typed at all (the scan skips roles,
  and ``test_glue_references_resolve`` checks that every pasted key exists);
- in a chapter, a whole token of that chapter's committed text outputs: nbval re-executes every
  cell and compares those outputs, so a sentence quoting one is re-checked on every run (and a
  changed result that no longer matches the sentence fails this test);
- in a chapter, a literal in that chapter's code: an input or constant (a learning rate, 0.5 in
  a formula), not a result. A percentage counts as its fraction: "70 %" is the literal 0.7;
- in the allowlist (``typed_results_allowlist.txt``), one line per number with the reason
  (a percentage is written with its sign, ``41%``).

Not results, and skipped: inline code spans (verbatim quotations of the notes in the errata
are written as code, and ``test_source_map.py`` checks them against the notes), fenced code,
links' targets, headings, the text of links to a heading (a heading's name), "Figure N.M",
"section N.M" and "§N.M" references, a chapter's references to its own numbered headings
("(4.2)" in a chapter with a heading "4.2 ..."), arXiv identifiers, and the first column of the
source map, which quotes each note heading verbatim (``test_source_map.py`` checks each is one).

Appendices and the landing page have no code of their own: their results must be pasted with
glue from the chapter that computes them (``{glue:text}`../NN_chapter.ipynb::key:.3f```).
"""

import json
import math
import re
from ast import literal_eval
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
PAGES = sorted((BOOK / "appendix").glob("*.md")) + [BOOK / "index.md"]
ALLOWLIST = ROOT / "tests" / "typed_results_allowlist.txt"
SOURCE_MAP = BOOK / "appendix" / "source_map.md"

NUMBER = re.compile(
    r"(?<![\w.\-/#§:])"  # not inside a word, path, anchor or identifier
    r"(\d+(?:\.\d+)?[eE][+\-−]?\d+"  # 1e-7, 3.7e16
    r"|\d+\.\d+"  # 0.389
    r"|\d+(?:\.\d+)?(?=\s?%))"  # 41 %, 92.7%
)
SKIP = [
    re.compile(r"```.*?```", re.S),  # fenced code and directives' bodies are handled below
    re.compile(r"`[^`\n]*`"),  # inline code and roles (glue pastes)
    re.compile(r"\[[^\]\n]*\]\([^)\s]*#[^)\s]*\)"),  # a link to a heading: its text is the heading's name
    re.compile(r"\]\([^)]*\)"),  # link targets
    re.compile(r"<!--.*?-->", re.S),
    re.compile(r"^#+ .*$", re.M),  # headings
    re.compile(r"(?:Figure|Fig\.|Table|section|Section|sections|§)\s*\d+(?:\.\d+)*"
               r"(?:\s*[–-]\s*\d+(?:\.\d+)*)?"),
    re.compile(r"\b\d{4}\.\d{4,5}\b"),  # arXiv identifiers
]
HEADING_NUMBER = re.compile(r"^#{1,6}\s+(\d+(?:\.\d+)+)\.?\s", re.M)
LITERAL = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?(?:[eE][+\-]?\d+)?)")
GLUE = re.compile(r"\{glue(?::(\w+))?\}`([^`]+)`")
GLUE_MIME = "application/papermill.record/"


def prose(markdown):
    """The markdown without code, roles, link targets, headings and section references.
    Directives' titles and bodies (```{note}, admonitions, dropdowns) are prose and are kept."""
    text = re.sub(r"```\{[^}]*\}([^\n]*)\n(.*?)```", lambda m: m.group(1) + "\n" + m.group(2),
                  markdown, flags=re.S)
    text = re.sub(r"^:::.*$", "", text, flags=re.M)
    text = re.sub(r"^:\w+:.*$", "", text, flags=re.M)  # directive options (:class:, :label:)
    for pattern in SKIP:
        text = pattern.sub(" ", text)
    return text


def without_quoted_headings(markdown):
    """The source map without its first table column (each cell a note heading, verbatim)."""
    lines = []
    for line in markdown.split("\n"):
        if line.startswith("|"):
            cells = line.strip().strip("|").split("|")
            line = "| |" + "|".join(cells[1:]) + "|"
        lines.append(line)
    return "\n".join(lines)


def numbers(markdown, heading_numbers=()):
    """The numbers of the prose of ``markdown``; a percentage keeps its sign ("41%")."""
    text = prose(markdown)
    found = []
    for m in NUMBER.finditer(text):
        token = m.group(1).replace("−", "-")
        if re.match(r"\s?%", text[m.end():m.end() + 2]):
            token += "%"
        if token not in heading_numbers:
            found.append(token)
    return found


def page_numbers(path):
    text = path.read_text(encoding="utf-8")
    if path == SOURCE_MAP:
        text = without_quoted_headings(text)
    return numbers(text)


def contains_token(token, text):
    """``token`` occurs in ``text`` as a whole number (0.37 is not in 0.371 or 10.37)."""
    body = token.rstrip("%").strip()
    return re.search(r"(?<![\d.])" + re.escape(body) + r"(?![\d])", text) is not None


def literal_values(text):
    """Every number written in ``text`` (code or outputs), as floats."""
    values = set()
    for m in LITERAL.finditer(text):
        try:
            values.add(float(m.group(1)))
        except ValueError:
            pass
    return values


def percentage_is_a_fraction_of(token, values):
    """A percentage "70" whose fraction 0.7 is one of ``values``."""
    fraction = float(token) / 100
    return any(math.isclose(fraction, v, rel_tol=1e-12, abs_tol=1e-15) for v in values)


def read_chapter(path):
    nb = json.loads(path.read_text())
    code, outputs, markdown = [], [], []
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown":
            markdown.append(source)
            continue
        code.append(source)
        for out in cell.get("outputs", []):
            if "text" in out:
                outputs.append("".join(out["text"]))
            for mime in ("text/plain", "text/markdown", "text/html"):
                if mime in out.get("data", {}):
                    outputs.append("".join(out["data"][mime]))
    return "\n".join(code), "\n".join(outputs), markdown


def heading_numbers(markdown_cells):
    return {m.group(1) for cell in markdown_cells for m in HEADING_NUMBER.finditer(cell)}


def chapter_numbers(path):
    markdown = read_chapter(path)[2]
    own = heading_numbers(markdown)
    return [n for cell in markdown for n in numbers(cell, own)]


def allowlist():
    """{(file, number): reason} from lines ``file | number | reason``."""
    allowed = {}
    for line in ALLOWLIST.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        file, number, reason = (part.strip() for part in line.split("|", 2))
        assert reason, f"allowlist: {file} {number} needs a reason"
        assert (file, number) not in allowed, f"allowlist: {file} {number} is listed twice"
        allowed[(file, number)] = reason
    return allowed


def test_the_scanner_finds_results_and_skips_references():
    text = ("Accuracy 0.389 (41 % of errors; 1.1e13), see section 4.3, §2.2–2.4, Figure 5.4,\n"
            "`lr=0.01`, {glue:text}`acc:.3f`, [x](a/b1.2.png), arXiv 1412.6980,\n"
            "[03 › 1.2 Stacked layers](../03_activations.ipynb#12-stacked-layers), (4.2).\n"
            "### 4.5 Heading\n```{admonition} Erratum: 0.25 in a title\n:class: warning\nbody 0.5\n```\n")
    assert numbers(text) == ["0.389", "41%", "1.1e13", "4.2", "0.25", "0.5"]
    assert numbers(text, {"4.2"}) == ["0.389", "41%", "1.1e13", "0.25", "0.5"]
    assert contains_token("0.37", "p = 0.37\n") and not contains_token("0.37", "0.371 10.37")
    assert percentage_is_a_fraction_of("70", literal_values("split(0.7, 0.15)"))
    assert not percentage_is_a_fraction_of("70", literal_values("x = 70.5, 0.71"))
    assert numbers(without_quoted_headings("| 1.1 节点 | 12 | [01 › x](../01_x.ipynb#x) | 0.5 |")) == ["0.5"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_text_states_only_checked_numbers(path):
    code, outputs, markdown = read_chapter(path)
    allowed = allowlist()
    name = path.relative_to(ROOT).as_posix()
    values = literal_values(code) | literal_values(outputs)
    typed = [n for n in chapter_numbers(path)
             if not (contains_token(n, outputs) or contains_token(n, code)
                     or (n.endswith("%") and percentage_is_a_fraction_of(n[:-1], values))
                     or (name, n) in allowed)]
    assert not typed, (
        f"{name}: numbers in the text that no output or code of the chapter produces: {typed}. "
        f"Print the result and quote it, glue it, or (for a quotation of a note) allowlist it "
        f"in {ALLOWLIST.name}")


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_pages_paste_their_results(path):
    allowed = allowlist()
    name = path.relative_to(ROOT).as_posix()
    typed = [n for n in page_numbers(path) if (name, n) not in allowed]
    assert not typed, (f"{name}: typed numbers {typed}; paste results with glue from the chapter "
                       f"that computes them, or allowlist quotations in {ALLOWLIST.name}")


def test_allowlist_has_no_stale_entries():
    found = {}
    for path in CHAPTERS:
        found[path.relative_to(ROOT).as_posix()] = chapter_numbers(path)
    for path in PAGES:
        found[path.relative_to(ROOT).as_posix()] = page_numbers(path)
    stale = [key for key in allowlist() if key[1] not in found.get(key[0], [])]
    assert not stale, f"allowlist entries no longer in the text: {stale}"


def glued_values(path):
    """{key: text/plain of the glued value} from a notebook's committed outputs."""
    values = {}
    for cell in json.loads(path.read_text())["cells"]:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is not None:
                data = out.get("data", {})
                values[name] = data.get(GLUE_MIME + "text/plain", data.get("text/plain"))
    return values


def glue_problems(path, markdown):
    """What would make the build warn about the glue roles of ``markdown`` (a chapter's or a
    page's): an unknown document or key, no text/plain, or a value the format cannot take."""
    from myst_nb.core.variables import format_plain_text

    problems, cache = [], {}
    for match in GLUE.finditer(markdown):
        gtype, content = match.group(1) or "any", match.group(2)
        fmt = None
        if gtype == "text":
            if ":" not in content.replace("::", ""):
                if "::" in content:
                    problems.append(f"{match.group(0)}: give a format spec (key:.3f) with path::key")
                    continue
            else:
                content, fmt = content.rsplit(":", 1)
        doc, key = content.split("::", 1) if "::" in content else (None, content)
        target = (path.parent / doc).resolve() if doc else path
        if target.suffix != ".ipynb" or not target.is_file():
            problems.append(f"{match.group(0)}: no notebook {target.name} to paste from")
            continue
        if target not in cache:
            cache[target] = glued_values(target)
        if key not in cache[target]:
            problems.append(f"{match.group(0)}: {target.name} glues no key {key!r}")
            continue
        text = cache[target][key]
        if fmt is not None:
            if text is None:
                problems.append(f"{match.group(0)}: {key!r} has no text/plain")
                continue
            try:
                format_plain_text("".join(text), fmt)
                if fmt[-1] in "eEfFgGn%":
                    float(literal_eval("".join(text)))
            except Exception as exc:  # noqa: BLE001 - any failure is a build warning
                problems.append(f"{match.group(0)}: cannot format {''.join(text)!r} with "
                                f"{fmt!r} ({exc}); glue a Python float, e.g. round(float(x), 4)")
    return problems


@pytest.mark.parametrize("path", CHAPTERS + PAGES, ids=lambda p: p.name)
def test_glue_references_resolve(path):
    """Every pasted key exists in the committed outputs of the notebook it names, and its
    value takes the format: what the website build (-W) would otherwise report."""
    if path.suffix == ".ipynb":
        markdown = "\n".join(read_chapter(path)[2])
    else:
        markdown = path.read_text(encoding="utf-8")
    problems = glue_problems(path, markdown)
    assert not problems, "\n".join(problems)
