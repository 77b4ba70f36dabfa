"""Every tile shows its breaker's last transition and reason, also for transitions that happened
before the page was opened, and after the daemon restarted (the daemon persists them)."""
import shutil
import tempfile
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from breakerd import Daemon
from conftest import console_errors, open_page


def last_lines(driver, names):
    return driver.execute_script(
        "return arguments[0].map(n => { const t = document.querySelector(`#tiles li[data-name=\"${n}\"] .last`);"
        " return t ? t.textContent : null; })", names)


def expect_last_lines(driver, daemon):
    console_errors(driver)
    open_page(driver, daemon)
    expected = {
        "early-trip": "closed → open (failure_threshold), ",
        "early-forced": "closed → forced open (forced_open), ",
        "early-back": "half open → closed (success_threshold), ",
        "early-quiet": "created ",
    }
    names = list(expected)
    WebDriverWait(driver, 10, poll_frequency=0.05).until(lambda d: None not in last_lines(d, names))
    lines = last_lines(driver, names)
    for name, line in zip(names, lines):
        assert line.startswith(expected[name]) and line.endswith(" ago"), (name, line)
    # Once the whole list is in (not only the daemon's first screen), the tiles say the same.
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return window.__breakerd.listPaintMs !== null"))
    assert last_lines(driver, names) == lines
    assert console_errors(driver) == []


def test_transitions_before_the_page_opened_and_across_a_restart_show_on_their_tiles(browser, binary):
    data = tempfile.mkdtemp(prefix="breakerd-ui-restart-")
    try:
        first = Daemon(binary, data_dir=data)
        try:
            admin = first.client(auth=True)
            for name in ("early-trip", "early-forced", "early-back", "early-quiet"):
                # early-back half-opens after 1 s; the others stay as they are for a minute.
                timeout = 1000 if name == "early-back" else 60000
                assert admin.request({"op": "configure", "breaker": name,
                                      "config": {"failure_threshold": 1, "success_threshold": 1, "timeout_ms": timeout}})["ok"]
            assert admin.request({"op": "record-failure", "breaker": "early-trip"})["state"] == "open"
            assert admin.request({"op": "force-open", "breaker": "early-forced", "reason": "drill"})["ok"]
            assert admin.request({"op": "record-failure", "breaker": "early-back"})["state"] == "open"
            # After the timeout the next call is a trial; its success closes the breaker.
            trial = {}
            for _ in range(100):
                trial = admin.request({"op": "should-attempt", "breaker": "early-back"})
                if trial.get("permit"):
                    break
                time.sleep(0.05)  # a real daemon's real timeout: nothing to wake on but time
            assert trial.get("permit"), trial
            closed = admin.request({"op": "record-success", "breaker": "early-back", "permit": trial["permit"]})
            assert closed["state"] == "closed", closed
            expect_last_lines(browser, first)
        finally:
            first.stop()
        second = Daemon(binary, data_dir=data)
        try:
            expect_last_lines(browser, second)
            text = browser.find_element(By.CSS_SELECTOR, '#tiles li[data-name="early-forced"] .forced-line').text
            assert text == "forced open by alice: drill"
        finally:
            second.stop()
    finally:
        shutil.rmtree(data, ignore_errors=True)
