import os
import pathlib

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from breakerd import Daemon

REPO = pathlib.Path(__file__).resolve().parent.parent


def breakerd_bin():
    return os.environ.get("BREAKERD_BIN", str(REPO / ".build" / "debug" / "breakerd"))


@pytest.fixture(scope="session")
def binary():
    path = breakerd_bin()
    assert os.access(path, os.X_OK), f"no breakerd binary at {path}: swift build --product breakerd, or set BREAKERD_BIN"
    return path


@pytest.fixture(scope="module")
def daemon(binary):
    d = Daemon(binary)
    yield d
    d.stop()


def make_browser():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM_BIN", "/usr/bin/chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(os.environ.get("CHROMEDRIVER_BIN", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=options)


@pytest.fixture(scope="session")
def browser():
    driver = make_browser()
    yield driver
    driver.quit()


def console_errors(driver):
    """Console entries since the last call that are errors (SEVERE)."""
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def open_page(driver, daemon, timeout=10):
    """Loads the page and waits until the list is drawn; returns the page's timings."""
    from selenium.webdriver.support.ui import WebDriverWait
    driver.get(daemon.url)
    WebDriverWait(driver, timeout, poll_frequency=0.05).until(
        lambda d: d.execute_script("return window.__breakerd && window.__breakerd.firstPaintMs !== null"))
    return driver.execute_script("return window.__breakerd")
