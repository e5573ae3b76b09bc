"""The built website in a real browser: Debian's headless Chromium, driven by Selenium.

The site is built from the committed, already executed notebooks (execution off, so this
takes seconds; `scripts/setup.sh` builds it with fresh execution) into a temporary folder,
served on 127.0.0.1, and every chapter page is checked: it loads, every image has a
non-zero natural size and real alt text (not a file name), no cell output shows an error
or traceback, exercise solutions start collapsed, and no page logs a console error.
Nothing is hidden sideways: at 1400 px every code input, output, code block, display
equation and table fits its box and the content column (scrollWidth against clientWidth),
also when printed (print media) and, for code and outputs, on a 390 px phone screen, where a
wide table or equation may scroll inside its own box but the page never scrolls sideways.
Figures are sharp (2x PNG or SVG) and their tick labels legible at 1400 px, and each is
followed by its numbered caption, "Figure N.k. ...", numbered 1, 2, 3, ... per chapter.
The site must work offline: Chromium resolves no host name but 127.0.0.1 and talks to the
network only through a proxy address where nothing listens, so a request to anywhere else
fails, and every request a page attempts (Chrome's performance log) must be to the local
server (or a data:/blob: URL). Every HTML page of the build is opened and checked this way.
Accessible: axe-core (npm package, installed into node_modules/ by scripts/setup.sh and
served by the test's own server) finds no serious or critical violation on any page; alt
texts carry no raw TeX; every page has a favicon and a meta description; the glossary's rows
and the chapters link to each other. Every explorer or playground cell (its output removed
on the website) is followed by a static figure before the next heading. Every page links the
course bundle; with no repository URL configured, no page shows repository, Binder or Colab
buttons (tests/test_repository_links.py builds with one).
Skips with a message when Chromium, chromedriver or Selenium is missing; without axe-core
the axe checks skip (test_axe_core_is_installed says so).
"""

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import offline_chromium
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM, CHROMEDRIVER = offline_chromium.CHROMIUM, offline_chromium.CHROMEDRIVER
CHAPTERS = sorted(p.stem for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_URL_PATH = "/_axe/axe.min.js"
# a cell that shows an explorer or the playground (ipywidgets, output removed on the website)
EXPLORER_CALL = re.compile(r"\b\w+_explorer\s*\(|Playground\s*\(.*\)\s*\.widget\s*\(\s*\)")
RAW_TEX = re.compile(r"\\[A-Za-z]|\$|[_^]\{|[{}]")
APPENDICES = sorted(p.stem for p in (ROOT / "book" / "appendix").glob("*.md"))

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="Chromium and chromedriver not installed (Debian packages chromium, chromium-driver;"
           " scripts/setup.sh installs them where apt-get is available)",
)


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory):
    """Build the book without executing notebooks; returns the folder of the HTML pages.
    COURSE_NN_SITE=<folder of HTML pages> checks an existing build instead (e.g. _build/html)."""
    if os.environ.get("COURSE_NN_SITE"):
        html = Path(os.environ["COURSE_NN_SITE"]).resolve()
        assert (html / "book" / "index.html").is_file(), f"no built book in {html}"
        _add_axe(html)
        return html
    out = tmp_path_factory.mktemp("site")
    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    config = re.sub(r"execute_notebooks: \w+", "execute_notebooks: \"off\"", config)
    config = config.replace(": book/_ext", f": {ROOT / 'book' / '_ext'}")  # relative to the config
    config_path = out / "_config.yml"
    config_path.write_text(config, encoding="utf-8")
    jb = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run([str(jb), "build", str(ROOT), "--config", str(config_path),
                             "--path-output", str(out), "-W", "--keep-going"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = out / "_build" / "html"
    _add_axe(html)
    return html


def _add_axe(html):
    """axe-core, served by the test's own server like the pages."""
    if AXE.is_file():
        (html / AXE_URL_PATH.strip("/")).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(AXE, html / AXE_URL_PATH.strip("/"))


@pytest.fixture(scope="module")
def site(site_dir):
    """Serve the built book on 127.0.0.1; yields the base URL."""
    handler = functools.partial(QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("selenium.webdriver")
    # "performance" records every network request a page attempts, blocked or not;
    # axe-core on a long chapter, on a busy machine, may take minutes
    driver = offline_chromium.start(logs=("browser", "performance"), script_timeout=300)
    yield driver
    driver.quit()


def _open(browser, url):
    browser.get(url)
    browser.execute_script("return document.readyState")
    # wait until every image has finished loading (or failed)
    browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const imgs = Array.from(document.images);
        Promise.all(imgs.map(i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })))
               .then(() => done());
    """)
    # and until MathJax has typeset the page and the web fonts are in: both change widths
    browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const typeset = (window.MathJax && MathJax.startup && MathJax.startup.promise)
                        || Promise.resolve();
        Promise.all([typeset, document.fonts.ready]).then(() => done(), () => done());
    """)


# what must not scroll sideways, first match wins; `hidden` is the width a reader cannot see:
# what the box scrolls (scrollWidth - clientWidth) or how far it sticks out of the content
# column. Closed <details> (hidden inputs) are opened first.
OVERFLOW_JS = """
const [kinds, onlyScroll] = arguments;
document.querySelectorAll('details').forEach(d => { d.open = true; });
const article = document.querySelector('article.bd-article') || document.querySelector('main');
const style = getComputedStyle(article);
const columnRight = article.getBoundingClientRect().right - parseFloat(style.paddingRight);
const seen = new Set(), found = [];
for (const [kind, selector] of kinds) {
  for (const e of article.querySelectorAll(selector)) {
    if (seen.has(e)) continue;
    seen.add(e);
    if (e.offsetWidth === 0 || e.closest('.wide-figure')) continue;
    const box = e.tagName === 'TABLE' ? (e.closest('.pst-scrollable-table-container') || e) : e;
    let hidden = box.scrollWidth - box.clientWidth;
    if (!onlyScroll) hidden = Math.max(hidden, e.getBoundingClientRect().right - columnRight);
    if (hidden > 2) {
      found.push([kind, Math.round(hidden), e.textContent.replace(/\\s+/g, ' ').trim().slice(0, 70)]);
    }
  }
}
const page = document.documentElement.scrollWidth - document.documentElement.clientWidth;
if (page > 2) found.push(['the page itself', page, document.title]);
return found;
"""
CODE_KINDS = [["code input", "div.cell_input div.highlight pre"],
              ["output", "div.cell_output pre, div.cell_output div.text_html"],
              ["code block", "div.highlight pre"]]
ALL_KINDS = CODE_KINDS + [["display equation", "div.math, mjx-container[display='true']"],
                          ["table", "table"]]


def _hidden_sideways(browser, page):
    """Everything that overflows, as 'page: kind hides N px: text', at 1400 px, in print and
    on a 390 px phone screen (there only code and outputs; tables and equations may scroll
    inside their own box, the page may not)."""
    problems = [f"{page}: {kind} hides {px} px at 1400 px: {text!r}"
                for kind, px, text in browser.execute_script(OVERFLOW_JS, ALL_KINDS, False)]
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        problems += [f"{page}: {kind} hides {px} px in print: {text!r}"
                     for kind, px, text in browser.execute_script(OVERFLOW_JS, ALL_KINDS, True)]
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    try:
        problems += [f"{page}: {kind} hides {px} px at 390 px: {text!r}"
                     for kind, px, text in browser.execute_script(OVERFLOW_JS, CODE_KINDS, True)]
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return problems


def _forget_logs(browser):
    """Discard what earlier pages logged and requested, and what they stored: the next page
    is checked as on a first visit (the theme keeps the colour mode in localStorage)."""
    browser.execute_script("try { localStorage.clear(); sessionStorage.clear(); } catch (e) {}")
    browser.get_log("browser")
    browser.get_log("performance")


def _assert_offline_and_quiet(browser, site, page):
    """Since the last _forget_logs: every request went to the local server, and the console
    shows no error (a blocked request logs one too, but is reported here by its URL)."""
    requested = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requested.append(message["params"]["request"]["url"])
        elif message["method"] == "Network.webSocketCreated":
            requested.append(message["params"]["url"])
    external = sorted({url for url in requested
                       if not url.startswith((site + "/", "data:", "blob:", "about:"))})
    assert not external, f"{page}: requests outside the site (fail offline): {external}"
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, f"{page}: console errors: {errors}"


AXE_JS = """
const [src, done] = [arguments[0], arguments[arguments.length - 1]];
const run = () => axe.run(document, {resultTypes: ['violations']}).then(
    r => done(r.violations.map(v => [v.id, v.impact, v.help, v.nodes.length,
                                     v.nodes.slice(0, 3).map(n => n.target.join(' '))])),
    e => done([['axe-error', 'critical', String(e), 0, []]]));
if (window.axe) { run(); } else {
  const script = document.createElement('script');
  script.src = src;
  script.onload = run;
  script.onerror = () => done([['axe-not-loaded', 'critical', src, 0, []]]);
  document.head.appendChild(script);
}
"""


def _axe_serious(browser, page):
    """axe-core's serious and critical violations on the open page (all its rules: WCAG 2.x
    A and AA and best practices), as readable lines; [] without axe-core installed."""
    if not AXE.is_file():
        return []
    return [f"{page}: {rule} ({impact}): {help_text}; {count} element(s), e.g. {targets}"
            for rule, impact, help_text, count, targets in browser.execute_async_script(AXE_JS, AXE_URL_PATH)
            if impact in ("serious", "critical")]


def _explorer_cells(page):
    """The last line of each explorer/playground call in a chapter's remove-output cells."""
    notebook = json.loads((ROOT / "book" / f"{page}.ipynb").read_text(encoding="utf-8"))
    calls = []
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and "remove-output" in cell.get("metadata", {}).get("tags", []) \
                and EXPLORER_CALL.search(source):
            calls.append([line for line in source.splitlines() if EXPLORER_CALL.search(line)][-1].strip())
    return calls


# for each cell whose output is removed: its input text, and whether an <img> follows it before
# the next heading (a later sibling that is a heading or a nested section ends the search)
PICTURED_JS = """
return Array.from(document.querySelectorAll('div.cell.tag_remove-output')).map(cell => {
  let node = cell.nextElementSibling, pictured = false;
  while (node && !/^(H[1-6]|SECTION)$/.test(node.tagName)) {
    if (node.tagName === 'IMG' || node.querySelector('img')) { pictured = true; break; }
    node = node.nextElementSibling;
  }
  const input = cell.querySelector('.cell_input');
  return [input ? input.innerText : '', pictured];
});
"""


EXPLORER_CHAPTERS = [page for page in CHAPTERS if _explorer_cells(page)]


@pytest.mark.parametrize("page", EXPLORER_CHAPTERS)
def test_explorers_are_pictured(site, browser, page):
    """Where an explorer or the playground would be (its cell's output is removed on the
    website), a static figure follows the cell before the next heading."""
    _open(browser, f"{site}/book/{page}.html")
    shown = browser.execute_script(PICTURED_JS)
    for call in _explorer_cells(page):
        places = [pictured for text, pictured in shown if call in text]
        assert places, f"{page}: the explorer cell {call!r} is not on the page"
        assert all(places), (f"{page}: the explorer cell {call!r} is not followed by a static"
                             " figure (an image) before the next heading")


def test_axe_core_is_installed():
    if not AXE.is_file():
        pytest.skip(f"axe-core not installed ({AXE.relative_to(ROOT)}; scripts/setup.sh installs it"
                    " with npm): the accessibility checks of the website are skipped")


def test_every_chapter_and_appendix_is_in_the_site(site, browser):
    _open(browser, site + "/book/index.html")
    links = browser.execute_script(
        "return Array.from(document.querySelectorAll('nav a.reference.internal')).map(a => a.href)")
    for page in CHAPTERS:
        assert any(page in link for link in links), f"{page} missing from the navigation"
    for page in APPENDICES:
        assert any(f"appendix/{page}" in link for link in links), f"appendix {page} missing"


@pytest.mark.parametrize("page", CHAPTERS + [f"appendix/{a}" for a in APPENDICES] + ["index"])
def test_page_renders_cleanly(site, browser, page):
    _forget_logs(browser)
    _open(browser, f"{site}/book/{page}.html")
    titles = browser.execute_script(
        "return Array.from(document.querySelectorAll('main h1')).filter(h => h.offsetHeight > 0)"
        ".map(h => h.innerText.trim())")
    assert titles and titles[0], f"{page}: no visible title"

    images = browser.execute_script("""
        return Array.from(document.querySelectorAll('main img')).map(
            i => [i.currentSrc, i.naturalWidth, i.naturalHeight, i.getAttribute('alt')]);
    """)
    broken = [src for src, w, h, _ in images if not (w > 0 and h > 0)]
    assert not broken, f"{page}: images that did not load: {broken}"
    if page in CHAPTERS:
        assert images, f"{page}: a chapter should show at least one figure"
    no_alt = [src for src, _, _, alt in images
              if not alt or alt.strip().endswith((".png", ".svg", ".jpg"))]
    assert not no_alt, f"{page}: images without alt text: {no_alt}"
    tex = [alt[:120] for _, _, _, alt in images if alt and RAW_TEX.search(alt)]
    assert not tex, f"{page}: alt texts with raw TeX (book/_ext/figure_alt_text.py): {tex}"

    icon, description = browser.execute_script("""
        const icon = document.querySelector('link[rel~="icon"]');
        const meta = document.querySelector('meta[name="description"]');
        return [icon && icon.href, meta && meta.content];
    """)
    assert icon, f"{page}: no favicon"
    with urllib.request.urlopen(icon) as response:
        assert response.status == 200 and b"<svg" in response.read(), f"{page}: favicon {icon}"
    assert description and len(description) > 40 and not RAW_TEX.search(description), \
        f"{page}: meta description {description!r}"


    outputs = browser.execute_script("""
        return Array.from(document.querySelectorAll('.cell_output')).map(o => o.innerText);
    """)
    for text in outputs:
        assert "Traceback (most recent call last)" not in text, f"{page}: traceback in an output"
        assert not re.search(r"^\w*Error: ", text, re.M), f"{page}: error in an output: {text[:200]}"
        assert "Warning:" not in text, f"{page}: a warning leaked into an output: {text[:200]}"

    solutions = browser.execute_script("""
        return Array.from(document.querySelectorAll('div.solution')).map(s => [s.className,
            Array.from(s.children).filter(c => !c.classList.contains('admonition-title'))
                 .reduce((total, c) => total + c.offsetHeight, 0)]);
    """)
    for cls, visible_height in solutions:
        assert "dropdown" in cls, f"{page}: a solution is not a dropdown"
        assert "toggle-hidden" in cls and visible_height == 0, f"{page}: a solution starts open"

    _assert_offline_and_quiet(browser, site, page)
    violations = _axe_serious(browser, page)
    assert not violations, "axe-core: serious or critical violations:\n" + "\n".join(violations)
    hidden = _hidden_sideways(browser, page)
    assert not hidden, f"{len(hidden)} boxes hide content sideways:\n" + "\n".join(hidden)
    # lean: no saved ipywidgets state (the widgets' outputs are removed; book/_ext/no_widget_state.py)
    widget_scripts = browser.execute_script(
        "return document.querySelectorAll('script[type*=\"jupyter.widget\"]').length")
    assert widget_scripts == 0, f"{page}: the page embeds ipywidgets state or views"


def test_every_other_page_is_offline_and_quiet(site_dir, site, browser):
    """The pages test_page_renders_cleanly does not open: search, index, redirects."""
    checked = {f"book/{page}.html" for page in CHAPTERS + [f"appendix/{a}" for a in APPENDICES]}
    checked.add("book/index.html")
    others = sorted(p.relative_to(site_dir).as_posix() for p in site_dir.rglob("*.html")
                    if not p.relative_to(site_dir).parts[0].startswith("_"))
    others = [page for page in others if page not in checked]
    assert "search.html" in others and "index.html" in others
    violations = []
    for page in others:
        _forget_logs(browser)
        _open(browser, f"{site}/{page}")
        _assert_offline_and_quiet(browser, site, page)
        violations += _axe_serious(browser, page)
    assert not violations, "axe-core: serious or critical violations:\n" + "\n".join(violations)


# matplotlib's defaults: tick labels 10 pt ("medium" of font.size 10) at figure.dpi 100, so
# 13.9 px in a figure shown at its 1x size; a scaled-down figure shrinks them with it
TICK_LABEL_PX_1X = 10 / 72 * 100
LEGIBLE_PX = 9


@pytest.mark.parametrize("page", CHAPTERS)
def test_figures_are_sharp_and_legible(site, browser, page):
    """Every figure a cell outputs is an SVG or a PNG with at least twice the pixels it is
    shown with at 1x (course_nn/_display.py: retina PNGs), and at 1400 px it is shown large
    enough for 9 px tick labels (book/_ext/wide_figures.py lets wide ones use the margin)."""
    _open(browser, f"{site}/book/{page}.html")
    figures = browser.execute_script("""
        return Array.from(document.querySelectorAll('div.cell_output img')).map(i => {
            const declared = parseFloat(i.style.width) || parseFloat(i.getAttribute('width'));
            return [i.currentSrc.split('/').pop(), i.naturalWidth, declared || i.naturalWidth,
                    i.clientWidth];
        });
    """)
    blurry = [f"{name}: {natural} px for {width_1x:.0f} px at 1x" for name, natural, width_1x, _
              in figures if not name.endswith(".svg") and natural < 1.9 * width_1x]
    assert not blurry, (f"{page}: {len(blurry)} of {len(figures)} figures are not 2x PNGs "
                        "(re-execute the chapter: course_nn makes the inline figures retina): "
                        + "; ".join(blurry))
    small = [f"{name}: {width_1x:.0f} px wide at 1x, shown at {shown} px, tick labels "
             f"{TICK_LABEL_PX_1X * shown / width_1x:.1f} px"
             for name, _, width_1x, shown in figures
             if TICK_LABEL_PX_1X * shown / width_1x < LEGIBLE_PX]
    assert not small, (f"{page}: figures too wide to show {LEGIBLE_PX} px tick labels at 1400 px"
                       " (fewer panels a row, or a smaller figsize): " + "; ".join(small))


# for each cell that outputs images: how many, and the numbered caption that follows it before
# the next heading or the next cell with images (None if there is none); then every caption
# on the page, and whether any of them is set in italics (one caption style, upright)
CAPTIONS_JS = """
const withImages = c => c.matches('div.cell') && c.querySelector('div.cell_output img');
const figures = Array.from(document.querySelectorAll('div.cell')).filter(withImages).map(cell => {
  let node = cell.nextElementSibling, caption = null;
  while (node && !/^(H[1-6]|SECTION)$/.test(node.tagName) && !withImages(node)) {
    if (node.matches('p.figure-caption')) { caption = node; break; }
    node = node.nextElementSibling;
  }
  const input = cell.querySelector('.cell_input');
  return [cell.querySelectorAll('div.cell_output img').length,
          caption && caption.innerText.replace(/\\s+/g, ' ').trim(),
          caption && caption.id, input ? input.innerText.slice(0, 80) : ''];
});
const captions = Array.from(document.querySelectorAll('p.figure-caption')).map(
    p => [p.innerText.replace(/\\s+/g, ' ').trim(), getComputedStyle(p).fontStyle]);
return [figures, captions];
"""
CAPTION = re.compile(r"^Figures? (\d+)\.(\d+)(?:(?: and |–)(\d+)\.(\d+))?\. (\S)")


@pytest.mark.parametrize("page", CHAPTERS)
def test_figures_are_numbered(site, browser, page):
    """Every figure a chapter's cells output is followed, before the next heading or figure,
    by its caption in the one style "Figure N.k. <what to see>" (book/_ext/figure_alt_text.py
    numbers the italic caption paragraphs of the notebooks): N is the chapter's number, the
    k run 1, 2, 3, ... down the page (a cell of two figures: "Figures N.k and N.k+1."), the
    text after the number starts with a capital (no "What to see:" or "Figure:" label left)
    and is upright, and every numbered caption belongs to a figure."""
    _open(browser, f"{site}/book/{page}.html")
    figures, captions = browser.execute_script(CAPTIONS_JS)
    chapter = int(page[:2])
    assert figures, f"{page}: no figures"
    uncaptioned = [source for _, caption, _, source in figures if caption is None]
    assert not uncaptioned, (f"{page}: figures without a numbered caption after them (an italic"
                             f" paragraph right after the cell): {uncaptioned}")
    expected = 1
    for count, caption, anchor, _ in figures:
        match = CAPTION.match(caption)
        assert match, f"{page}: caption not in the form 'Figure N.k. Text': {caption[:100]!r}"
        n, first, n_last, last, initial = match.groups()
        numbers = [(int(n), int(first))] + ([(int(n_last), int(last))] if last else [])
        assert all(number == chapter for number, _ in numbers), \
            f"{page}: figure numbered in chapter {n}, not {chapter}: {caption[:60]!r}"
        assert numbers[0][1] == expected and numbers[-1][1] == expected + count - 1, \
            (f"{page}: {caption[:40]!r} should number {count} figure(s) from {chapter}.{expected}"
             " (numbers run 1, 2, 3, ... down the page)")
        assert anchor == f"figure-{chapter}-{expected}", f"{page}: caption id {anchor!r}"
        assert not initial.islower(), f"{page}: caption starts in lower case: {caption[:80]!r}"
        label = caption[match.start(5):]
        assert not re.match(r"(What to see|Figure)\b", label), \
            f"{page}: a caption label is left after the number: {caption[:80]!r}"
        expected += count
    assert len(captions) == len(figures), \
        f"{page}: numbered captions that follow no figure: {len(captions)} for {len(figures)}"
    italic = [text[:60] for text, style in captions if style != "normal"]
    assert not italic, f"{page}: captions in italics (one upright style): {italic}"


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_can_be_launched_and_downloaded(site, browser, page):
    """The launch menu opens the chapter in a local JupyterLab; the download is the notebook."""
    _open(browser, f"{site}/book/{page}.html")
    launch = browser.execute_script(
        "return Array.from(document.querySelectorAll('a.btn-launch-jupyterlab-local')).map(a => a.href)")
    assert launch == [f"http://localhost:8888/lab/tree/book/{page}.ipynb"]
    downloads = browser.execute_script(
        "return Array.from(document.querySelectorAll('a')).map(a => a.href)"
        ".filter(h => h.endsWith('.ipynb') && h.includes('/_sources/'))")
    assert downloads, f"{page}: no download-as-notebook link"
    with urllib.request.urlopen(downloads[0]) as response:
        notebook = json.loads(response.read())
    assert notebook["nbformat"] == 4 and notebook["cells"], f"{page}: the download is not the notebook"
    # no repository URL in _config.yml: no repository, Binder or Colab button
    buttons = browser.execute_script(
        "return Array.from(document.querySelectorAll('.article-header-buttons a')).map(a => a.href)")
    online = [b for b in buttons if re.search(r"github\.com|mybinder|colab\.research", b)]
    assert not online, f"{page}: repository buttons without a repository URL: {online}"


@pytest.mark.parametrize("page", ["index", CHAPTERS[0], CHAPTERS[-1], "appendix/glossary"])
def test_page_links_the_course_bundle(site, browser, page):
    """The download menu of every page (and the landing page's text) links the course bundle:
    course_nn's wheel, the notebooks, requirements and a README (book/_ext/course_bundle.py)."""
    _open(browser, f"{site}/book/{page}.html")
    links = browser.execute_script(
        "return Array.from(document.querySelectorAll('a.btn-download-bundle-button,"
        " a.course-bundle-link')).map(a => a.href)")
    assert links and all(link == f"{site}/course_nn-bundle.zip" for link in links), links
    if page == "index":
        assert len(links) == 2, f"the landing page should link the bundle in its text too: {links}"
    request = urllib.request.Request(links[0], method="HEAD")
    with urllib.request.urlopen(request) as response:
        assert response.headers["Content-Type"] == "application/zip", response.headers
        assert int(response.headers["Content-Length"]) > 1_000_000, "the bundle is too small"


def test_glossary_and_chapters_link_each_other(site_dir):
    """Each glossary row links to its chapter, most to the term's first use there
    (book/_ext/glossary_links.py), and every such first use links back to its row."""
    glossary = (site_dir / "book" / "appendix" / "glossary.html").read_text(encoding="utf-8")
    rows = re.findall(r'<tr[^>]*id="(term-[^"]+)"[^>]*>(.*?)</tr>', glossary, re.S)
    table_rows = [line for line in (ROOT / "book" / "appendix" / "glossary.md").read_text(
        encoding="utf-8").splitlines() if re.match(r"^\|.*\|\s*\d+\s*\|\s*$", line)]
    assert len(rows) == len(table_rows), "every glossary row needs its anchor and chapter link"
    anchored = 0
    pages = {}
    for row_id, row in rows:
        hrefs = re.findall(r'<a class="[^"]*glossary-chapter[^"]*" href="([^"]+)"', row)
        assert len(hrefs) == 1, f"glossary row {row_id}: no link to its chapter"
        target, _, fragment = hrefs[0].partition("#")
        path = (site_dir / "book" / "appendix" / target).resolve()
        assert path.is_file(), f"glossary row {row_id}: {target} does not exist"
        if fragment:
            anchored += 1
            text = pages.setdefault(path, path.read_text(encoding="utf-8"))
            assert f'id="{fragment}"' in text, f"glossary row {row_id}: no #{fragment} in {target}"
            tag = re.search(rf'<a [^>]*id="{fragment}"[^>]*>', text)
            back = re.search(r'href="([^"]*)"', tag.group(0)) if tag else None
            assert back and back.group(1).endswith(f"glossary.html#{row_id}"), \
                f"{target}#{fragment} does not link back to the glossary row {row_id}"
    assert anchored >= 0.8 * len(rows), f"only {anchored} of {len(rows)} terms found in their chapter"
    for page in CHAPTERS:
        text = (site_dir / "book" / f"{page}.html").read_text(encoding="utf-8")
        terms = re.findall(r'<a class="[^"]*glossary-term[^"]*" href="[^"]*#(term-[^"]+)"', text)
        assert terms, f"{page}: no term links to the glossary"
        missing = sorted(set(terms) - {row_id for row_id, _ in rows})
        assert not missing, f"{page}: links to glossary rows that do not exist: {missing}"


@pytest.mark.parametrize("query, page", [("backpropagation", "05_backprop_by_hand"),
                                         ("LSTM", "17_lstm_gru"), ("im2col", "13_convolutions")])
def test_search_finds_the_chapter(site, browser, query, page):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{site}/search.html?q={query}")
    WebDriverWait(browser, 30).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, "ul.search li a")
        or "did not match" in b.find_element(By.ID, "search-results").text)
    hits = browser.execute_script(
        "return Array.from(document.querySelectorAll('ul.search li a')).map(a => a.href)")
    assert any(page in hit for hit in hits), f"search for {query!r} did not list {page}: {hits[:5]}"
