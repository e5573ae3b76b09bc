"""Give every notebook figure real alt text: the caption paragraph that follows its cell.

The chapters put a caption (what to see in the figure) in the markdown right after each
plotting cell. myst-nb sets an output image's alt text to its file name; this extension
replaces it with the first sentences of that caption, for screen readers and for readers
whose images do not load. Formulas in the caption are read out in plain text, not TeX:
`$\\partial L/\\partial \\hat y$` becomes "∂L/∂ŷ", `$10^{-4}$` "10⁻⁴", `$\\frac12$` "½"
(`tex_to_text`); an alt text written by hand gets the same treatment.
"""

import re

from docutils import nodes

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
    parent = cell.parent
    if parent is None:
        return None
    siblings = parent.children
    for node in siblings[siblings.index(cell) + 1:]:
        if isinstance(node, nodes.paragraph):
            return _words(node)
        if _is_cell(node) or isinstance(node, nodes.section):
            return None
    return None


def _shorten(text):
    text = " ".join(text.split())
    if len(text) <= LIMIT:
        return text
    cut = text[:LIMIT]
    end = cut.rfind(". ")
    return cut[: end + 1] if end > 80 else cut.rsplit(" ", 1)[0] + "…"


def _set_alt(app, doctree, docname):
    for image in doctree.findall(nodes.image):
        alt = image.get("alt", "")
        if alt and not alt.endswith((".png", ".svg", ".jpg")) and alt != image.get("uri"):
            image["alt"] = _hand_written(alt)
            continue
        cell = image.parent
        while cell is not None and not _is_cell(cell):
            cell = cell.parent
        caption = _caption_after(cell) if cell is not None else None
        image["alt"] = _shorten(caption) if caption else "Figure produced by the code cell above."


def setup(app):
    app.connect("doctree-resolved", _set_alt)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
