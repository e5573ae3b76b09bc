"""Headless Chromium for the browser tests, offline: no host name resolves but the local
server's address, and everything but 127.0.0.1 goes to a proxy where nothing listens (port 9),
so a page that tries to reach the network fails visibly instead of fetching."""

import shutil

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--window-size=1400,1000",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
         "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1")


def start(extra_flags=(), logs=("browser",), script_timeout=300):
    """A selenium Chrome driver on CHROMIUM with FLAGS (plus ``extra_flags``), recording the
    given log types ("browser": the console; "performance": every network request)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, *extra_flags):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {log: "ALL" for log in logs})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(script_timeout)
    return driver
