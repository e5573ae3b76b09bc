"""The built website in a real browser: Debian's headless Chromium, driven by Selenium.

The site is built from the committed, already executed notebooks (execution off, so this
takes seconds; `scripts/setup.sh` builds it with fresh execution) into a temporary folder,
served on 127.0.0.1, and every chapter page is checked: it loads, every image has a
non-zero natural size and real alt text (not a file name), no cell output shows an error
or traceback, exercise solutions start collapsed, and the project's own scripts log no
console errors.
Skips with a message when Chromium, chromedriver or Selenium is missing.
"""

import functools
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
CHAPTERS = sorted(p.stem for p in (ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
APPENDICES = sorted(p.stem for p in (ROOT / "book" / "appendix").glob("*.md"))

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="Chromium and chromedriver not installed (Debian packages chromium, chromium-driver;"
           " scripts/setup.sh installs them where apt-get is available)",
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Build the book without executing notebooks and serve it; yields the base URL."""
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
    handler = functools.partial(QuietHandler, directory=str(html))
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
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1280,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
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
    browser.get_log("browser")  # discard what earlier pages logged
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

    # Errors from the project's pages and files; not from the theme's bundled scripts, the
    # absent favicon, or CDN resources (MathJax, widget manager) that this offline sandbox
    # cannot reach.
    errors = [e["message"] for e in browser.get_log("browser")
              if e["level"] == "SEVERE" and e["message"].startswith(site)
              and "/_static/scripts/" not in e["message"] and "favicon.ico" not in e["message"]]
    assert not errors, f"{page}: console errors: {errors}"


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
