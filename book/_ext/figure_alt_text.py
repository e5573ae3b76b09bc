"""Figure captions: one style with figure numbers, and real alt text for every notebook figure.

The chapters put a caption (what to see in the figure) in the markdown right after each
plotting cell: an italic paragraph, in one of the forms the chapters grew (`*What to see:*
...`, `*Figure: ...*`, `*Left: ...*`, `**Figure 5.1.** ...`). On the website each becomes
"**Figure N.k.** <caption>" (N the chapter's number in the table of contents, k the figure's
place in the chapter; a cell that draws several figures gets "Figures N.k and N.k+1."), in
one style: the leading "What to see:" or "Figure:" label and a hand-typed number are dropped,
the italics of the whole-paragraph forms are removed, the first letter is a capital, and
the paragraph gets the class `figure-caption` and the id `figure-N-k` (a link target). So a
notebook numbers nothing by hand and a new figure gets its number. A figure cell in a
numbered chapter without such a caption (the first paragraph after the cell, before the next
figure or heading, starting in italics) is a build warning, which fails the `-W` build; so is
a hand-typed number that disagrees with the computed one (prose may cite "Figure 5.3").

myst-nb sets an output image's alt text to its file name; this extension replaces it with the
first sentences of that caption (without its number), for screen readers and for readers
whose images do not load. Formulas in the caption are read out in plain text, not TeX:
`$\\partial L/\\partial \\hat y$` becomes "∂L/∂ŷ", `$10^{-4}$` "10⁻⁴", `$\\frac12$` "½"
(`tex_to_text`); an alt text written by hand gets the same treatment.
"""

import re

from docutils import nodes
from sphinx.util import logging

logger = logging.getLogger(__name__)

LIMIT = 300


def _is_cell(node):
    return isinstance(node, nodes.container) and "cell" in node.get("classes", [])


SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε",
    "zeta": "ζ", "eta": "η", "theta": "θ", "kappa": "κ", "lambda": "λ", "mu": "μ", "nu": "ν",
    "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ", "varphi": "φ",
    "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ",
    "Lambda": "Λ", "Sigma": "Σ", "Phi": "Φ", "Omega": "Ω", "partial": "∂", "nabla": "∇",
    "cdot": "·", "times": "×", "pm": "±", "mp": "∓", "to": "→", "rightarrow": "→",
    "leftarrow": "←", "mapsto": "↦", "ll": "≪", "gg": "≫", "le": "≤", "leq": "≤", "ge": "≥",
    "geq": "≥", "ne": "≠", "neq": "≠", "approx": "≈", "sim": "∼", "propto": "∝", "infty": "∞",
    "sum": "Σ", "prod": "Π", "int": "∫", "in": "∈", "odot": "⊙", "circ": "∘", "top": "ᵀ",
    "dots": "…", "ldots": "…", "cdots": "⋯", "lvert": "|", "rvert": "|", "vert": "|",
    "lVert": "‖", "rVert": "‖", "Vert": "‖", "mid": "|", "langle": "⟨", "rangle": "⟩",
    "star": "*", "ast": "*", "prime": "′", "emptyset": "∅", "forall": "∀", "exists": "∃",
    "quad": " ", "qquad": " ", "left": "", "right": "", "big": "", "Big": "", "bigl": "",
    "bigr": "", "displaystyle": "", "limits": "", "nolimits": "", "{": "(", "}": ")",
    ",": " ", ";": " ", ":": " ", "!": "", " ": " ", "%": "%", "_": "_", "&": "&", "#": "#",
}
FUNCTIONS = ("log", "ln", "exp", "sin", "cos", "tan", "tanh", "max", "min", "arg", "argmax",
             "argmin", "det", "lim", "sup", "inf", "softmax", "sign", "mod")
ACCENTS = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303", "vec": "\u20d7", "dot": "\u0307"}
FONTS = ("text", "mathrm", "mathbf", "mathit", "mathcal", "mathbb", "operatorname", "boldsymbol",
         "mathsf", "mathtt", "textbf", "textit", "bm", "mbox", "textrm")
SUPER = dict(zip("0123456789+-=()nitTabcdefghjklmoprsuvwxyz*′,",
                 "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵗᵀᵃᵇᶜᵈᵉᶠᵍʰʲᵏˡᵐᵒᵖʳˢᵘᵛʷˣʸᶻ*′,"))
SUB = dict(zip("0123456789+-=()aehijklmnoprstuvx,", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ,"))


def _group(tex, i):
    """The argument starting at tex[i] (a {group}, a command or one character) and the index
    after it."""
    while i < len(tex) and tex[i] == " ":
        i += 1
    if i >= len(tex):
        return "", i
    if tex[i] == "{":
        depth, j = 0, i
        while j < len(tex):
            depth += {"{": 1, "}": -1}.get(tex[j], 0)
            if depth == 0:
                return tex[i + 1:j], j + 1
            j += 1
        return tex[i + 1:], len(tex)
    if tex[i] == "\\":
        match = re.match(r"\\([A-Za-z]+|.)", tex[i:])
        return match.group(0), i + len(match.group(0))
    return tex[i], i + 1


def _script(text, table, mark):
    text = text.strip()
    if text and all(c in table for c in text):
        return "".join(table[c] for c in text)
    return mark + (text if len(text) == 1 else f"({text})")


def _operand(text):
    return text if re.fullmatch(r"[\w∂.′\u0302]+", text) else f"({text})"


def tex_to_text(tex):
    """A TeX formula as plain text a screen reader can read (Unicode symbols, no commands)."""
    out, i = [], 0
    while i < len(tex):
        c = tex[i]
        if c == "\\":
            match = re.match(r"\\([A-Za-z]+|.)", tex[i:])
            name = match.group(1) if match else ""
            i += len(match.group(0)) if match else 1
            if name.isalpha() and i < len(tex) and tex[i] == " ":
                i += 1  # the space that ends a command's name
            if name == "frac" or name in ("dfrac", "tfrac"):
                num, i = _group(tex, i)
                den, i = _group(tex, i)
                num, den = tex_to_text(num), tex_to_text(den)
                halves = {("1", "2"): "½", ("1", "3"): "⅓", ("1", "4"): "¼", ("2", "3"): "⅔"}
                if (num, den) in halves:
                    out.append(halves[(num, den)])
                else:
                    out.append(f"{_operand(num)}/{_operand(den)}")
            elif name == "sqrt":
                arg, i = _group(tex, i)
                arg = tex_to_text(arg)
                out.append("√" + (arg if len(arg) <= 1 else f"({arg})"))
            elif name in ACCENTS:
                arg, i = _group(tex, i)
                out.append(tex_to_text(arg) + ACCENTS[name])
            elif name in FONTS:
                arg, i = _group(tex, i)
                out.append(tex_to_text(arg))
            elif name in FUNCTIONS:
                out.append(name + " ")
            elif name in SYMBOLS:
                out.append(SYMBOLS[name])
            else:
                out.append(name)
        elif c in "^_":
            arg, i = _group(tex, i + 1)
            text = tex_to_text(arg)
            out.append(_script(text, SUPER if c == "^" else SUB, "^" if c == "^" else "_"))
        elif c in "{}":
            i += 1
        elif c == "~":
            out.append(" ")
            i += 1
        else:
            out.append(c)
            i += 1
    text = "".join(out)
    text = re.sub(r"(\w) (?=[)/,.;:]|$)", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def _hand_written(alt):
    """An alt text typed by hand: formulas in $...$, and words holding TeX (a command, or a
    braced sub- or superscript), read out likewise; code names such as a_b stay as they are."""
    alt = re.sub(r"\$\$?(.+?)\$\$?", lambda m: tex_to_text(m.group(1)), alt)
    accent = r"\\(?:hat|bar|tilde|vec|dot|sqrt|text|mathrm|mathbf|log|ln|exp|partial)"
    return re.sub(rf"{accent}\s+\S+|\S*(?:\\[A-Za-z]|[_^]\{{)\S*",
                  lambda m: tex_to_text(m.group(0)), alt)


def _words(node):
    """The plain text of a caption paragraph, its formulas read out (tex_to_text)."""
    if isinstance(node, nodes.math):
        return tex_to_text(node.astext())
    if isinstance(node, nodes.Text):
        return str(node)
    return "".join(_words(child) for child in node.children)


def _caption_after(cell):
    """The caption paragraph of a figure cell: the first paragraph after it, before the next
    cell that draws a figure or the next heading (cells printing text may come between, as a
    caption may discuss their lines), if that paragraph starts in italics or with a bold
    "Figure" label. None otherwise."""
    parent = cell.parent
    if parent is None:
        return None
    siblings = parent.children
    for node in siblings[siblings.index(cell) + 1:]:
        if isinstance(node, nodes.paragraph):
            return node if _starts_as_caption(node) else None
        if isinstance(node, nodes.section) or (_is_cell(node) and node.next_node(nodes.image)):
            return None
    return None


def _first(paragraph):
    """The paragraph's first child that is not an empty text (markdown-it leaves one before a
    paragraph that starts with bold text)."""
    for child in paragraph.children:
        if not (isinstance(child, nodes.Text) and not str(child).strip()):
            return child
    return None


def _starts_as_caption(paragraph):
    first = _first(paragraph)
    if isinstance(first, nodes.emphasis):
        return True
    return isinstance(first, nodes.strong) and first.astext().strip().startswith("Figure")


# a caption's leading label: "What to see:", "What to see (means of five runs):", "Figure:",
# "Figure 5.1." (typed by hand)
LABEL = re.compile(r"^\s*(?:What to see|Figures?)\s*(?P<number>\d+\.\d+)?\s*"
                   r"(?:\((?P<aside>[^()]*)\))?\s*[:.]?\s*")


def _unwrap(node):
    """Replace an inline node by its children."""
    node.parent.replace(node, list(node.children))


def _normalize(paragraph):
    """Bring a caption paragraph to the one style: no italics around it, no label; returns
    the number typed by hand, if any."""
    while paragraph.children and paragraph.children[0] is not _first(paragraph):
        paragraph.remove(paragraph.children[0])
    first = paragraph.children[0]
    if isinstance(first, (nodes.emphasis, nodes.strong)):
        _unwrap(first)
    # merge the leading Text nodes, so that a label split over several is seen whole
    while (len(paragraph.children) > 1 and isinstance(paragraph.children[0], nodes.Text)
           and isinstance(paragraph.children[1], nodes.Text)):
        merged = nodes.Text(str(paragraph.children[0]) + str(paragraph.children[1]))
        paragraph.remove(paragraph.children[1])
        paragraph.replace(paragraph.children[0], merged)
    number = None
    head = paragraph.children[0] if paragraph.children else None
    if isinstance(head, nodes.Text):
        match = LABEL.match(str(head))
        if match and match.group(0).strip():
            rest = str(head)[match.end():]
            number = match.group("number")
            if match.group("aside"):  # "What to see (X): y" -> "X. Y"
                aside = match.group("aside").strip()
                rest = aside[:1].upper() + aside[1:] + ". " + rest[:1].upper() + rest[1:]
            if rest:
                paragraph.replace(head, nodes.Text(rest))
            else:
                paragraph.remove(head)
    if paragraph.children and isinstance(paragraph.children[0], nodes.Text):
        text = str(paragraph.children[0]).lstrip()
        paragraph.replace(paragraph.children[0], nodes.Text(text))
    _capitalize(paragraph)
    return number


def _capitalize(node):
    """Upper-case the caption's first letter, unless it is code or a formula."""
    for child in node.children:
        if isinstance(child, nodes.Text):
            text = str(child)
            if not text.strip():
                continue
            stripped = text.lstrip()
            if stripped[0].islower():
                node.replace(child, nodes.Text(text[:len(text) - len(stripped)]
                                               + stripped[0].upper() + stripped[1:]))
            return True
        if isinstance(child, (nodes.emphasis, nodes.strong)):
            if _capitalize(child):
                return True
            continue
        return True  # code, math, a link: leave as it is
    return False


def _label(chapter, first, count):
    if count == 1:
        return f"Figure {chapter}.{first}."
    if count == 2:
        return f"Figures {chapter}.{first} and {chapter}.{first + 1}."
    return f"Figures {chapter}.{first}–{chapter}.{first + count - 1}."


def _chapter_number(app, docname):
    """The chapter's number in the table of contents (Jupyter Book numbers the chapters of
    the numbered parts 1, 2, ... across parts), or None for an unnumbered page."""
    number = app.env.toc_secnumbers.get(docname, {}).get("")
    return ".".join(str(n) for n in number) if number else None


def _shorten(text):
    text = " ".join(text.split())
    if len(text) <= LIMIT:
        return text
    cut = text[:LIMIT]
    end = cut.rfind(". ")
    return cut[: end + 1] if end > 80 else cut.rsplit(" ", 1)[0] + "…"


def _figure_cells(doctree):
    """The cells that output images, in document order, each with its images."""
    cells = {}
    for image in doctree.findall(nodes.image):
        cell = image.parent
        while cell is not None and not _is_cell(cell):
            cell = cell.parent
        if cell is not None:
            cells.setdefault(id(cell), (cell, []))[1].append(image)
    return list(cells.values())


def _number_and_describe(app, doctree, docname):
    for image in doctree.findall(nodes.image):
        alt = image.get("alt", "")
        if alt and not alt.endswith((".png", ".svg", ".jpg")) and alt != image.get("uri"):
            image["alt"] = _hand_written(alt)
    chapter = _chapter_number(app, docname)
    k = 0
    for cell, images in _figure_cells(doctree):
        images = [image for image in images if image.get("alt", "").endswith((".png", ".svg", ".jpg"))
                  or image.get("alt") == image.get("uri") or not image.get("alt")]
        if not images:
            continue
        caption = _caption_after(cell)
        words = None
        if caption is not None and "figure-caption" not in caption["classes"]:
            typed = _normalize(caption)
            words = _words(caption)
            if chapter is not None:
                if typed is not None and typed != f"{chapter}.{k + 1}":
                    logger.warning(f"the caption typed 'Figure {typed}' is figure "
                                   f"{chapter}.{k + 1} on the website (the numbers are "
                                   "computed: drop the typed one, and check the prose's "
                                   "references)", location=caption)
                caption["classes"].append("figure-caption")
                caption["ids"].append(f"figure-{chapter.replace('.', '-')}-{k + 1}")
                caption.insert(0, [nodes.strong("", _label(chapter, k + 1, len(images)),
                                                classes=["caption-number"]),
                                   nodes.Text(" ")])
                k += len(images)
        elif caption is None and chapter is not None:
            logger.warning("a figure without a caption: give it an italic paragraph right after"
                           " its cell saying what to see (CONTRIBUTING.md, Figures); the website"
                           " numbers it", location=cell)
        for image in images:
            image["alt"] = _shorten(words) if words else "Figure produced by the code cell above."
    for image in doctree.findall(nodes.image):  # outside cells, with no alt text of its own
        if not image.get("alt") or image["alt"].endswith((".png", ".svg", ".jpg")) \
                or image["alt"] == image.get("uri"):
            image["alt"] = "Figure produced by the code cell above."


def setup(app):
    app.connect("doctree-resolved", _number_and_describe)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
