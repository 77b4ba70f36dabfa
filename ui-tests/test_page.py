"""The status page in a real browser (Debian's chromium, Selenium) against a real breakerd."""
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from breakerd import ADMIN_NAME, ADMIN_TOKEN
from conftest import console_errors, open_page


def wait(driver, condition, timeout=5, poll=0.02):
    return WebDriverWait(driver, timeout, poll_frequency=poll).until(lambda d: condition())


def tiles(driver):
    return driver.execute_script(
        "return [...document.querySelectorAll('#tiles li')].map(t => [t.dataset.name, t.dataset.state,"
        " t.querySelector('.badge').textContent])")


def filter_to(driver, prefix, sort="name"):
    Select(driver.find_element(By.ID, "sort")).select_by_value(sort)
    box = driver.find_element(By.ID, "filter")
    box.clear()
    box.send_keys(prefix)


@pytest.fixture(scope="module")
def seeded(daemon):
    """Ten breakers: three tripped, one forced open by alice, the rest closed."""
    admin = daemon.client(auth=True)
    for i in range(10):
        assert admin.request({"op": "configure", "breaker": f"seed-{i:02d}", "config": {"failure_threshold": 2}})["ok"]
    for i in (1, 4, 7):
        for _ in range(2):
            admin.request({"op": "record-failure", "breaker": f"seed-{i:02d}"})
    assert admin.request({"op": "force-open", "breaker": "seed-09", "reason": "seeding"})["ok"]
    return admin


def test_page_loads_without_console_errors_and_tiles_match_list(browser, daemon, seeded):
    console_errors(browser)  # start clean
    open_page(browser, daemon)
    filter_to(browser, "seed-")
    listed = seeded.request({"op": "list", "prefix": "seed-"})["breakers"]
    words = {"closed": "closed", "open": "open", "half_open": "half open", "forced_open": "forced open"}
    expected = [[b["name"], b["state"], words[b["state"]]] for b in listed]
    wait(browser, lambda: tiles(browser) == expected)
    assert sorted({t[1] for t in tiles(browser)}) == ["closed", "forced_open", "open"]
    forced = browser.find_element(By.CSS_SELECTOR, '#tiles li[data-name="seed-09"] .forced-line').text
    assert forced == f"forced open by {ADMIN_NAME}: seeding"
    # A few seconds of live updates (summaries) must not log errors either.
    wait(browser, lambda: browser.execute_script("return window.__breakerd.summaries") >= 2, timeout=5)
    assert browser.find_element(By.ID, "conn").text == "live"
    errors = console_errors(browser)
    assert errors == [], errors


def test_a_trip_over_the_protocol_shows_within_a_second_then_half_open_then_closed(browser, daemon):
    admin = daemon.client(auth=True)
    name = "trip-me"
    assert admin.request({"op": "configure", "breaker": name,
                          "config": {"failure_threshold": 1, "success_threshold": 1, "timeout_ms": 1500}})["ok"]
    open_page(browser, daemon)
    filter_to(browser, name)
    wait(browser, lambda: tiles(browser) and tiles(browser)[0][1] == "closed")
    # Record every state the tile takes, with the browser's wall clock.
    browser.execute_script("""
        window.__seen = [];
        const record = () => {
          const t = document.querySelector('#tiles li[data-name="trip-me"]');
          const s = t && t.dataset.state;
          if (s && (window.__seen.length === 0 || window.__seen[window.__seen.length - 1][0] !== s))
            window.__seen.push([s, Date.now()]);
        };
        record();
        new MutationObserver(record).observe(document.getElementById('tiles'),
          {subtree: true, childList: true, attributes: true, attributeFilter: ['data-state']});
    """)
    sent = time.time() * 1000
    assert admin.request({"op": "record-failure", "breaker": name})["state"] == "open"
    wait(browser, lambda: browser.execute_script("return window.__seen.some(s => s[0] === 'open')"), timeout=3)
    seen = browser.execute_script("return window.__seen")
    opened_at = next(t for s, t in seen if s == "open")
    print(f"\ntrip shown on the page {opened_at - sent:.0f} ms after the protocol request was sent")
    assert opened_at - sent < 1000, seen
    assert "half-open in" in browser.find_element(By.CSS_SELECTOR, '#tiles li[data-name="trip-me"] .until').text
    # Time alone moves it to half-open (pushed by the daemon), a successful trial closes it.
    wait(browser, lambda: browser.execute_script("return window.__seen.some(s => s[0] === 'half_open')"), timeout=5)
    decision = admin.request({"op": "should-attempt", "breaker": name})
    assert decision["allow"] and decision["state"] == "half_open", decision
    assert admin.request({"op": "record-success", "breaker": name, "permit": decision["permit"]})["state"] == "closed"
    wait(browser, lambda: browser.execute_script("return window.__seen[window.__seen.length - 1][0] === 'closed'"), timeout=3)
    states = [s for s, _ in browser.execute_script("return window.__seen")]
    assert states == ["closed", "open", "half_open", "closed"], states
    last = browser.find_element(By.CSS_SELECTOR, '#tiles li[data-name="trip-me"] .last').text
    assert last.startswith("half open → closed (success_threshold)"), last


def set_token(driver, token):
    driver.find_element(By.ID, "token-forget").click()
    box = driver.find_element(By.ID, "token")
    box.send_keys(token)
    box.send_keys(Keys.ENTER)
    wait(driver, lambda: driver.find_element(By.ID, "token-state").text == "token set for this tab")


def open_detail(driver, name):
    filter_to(driver, name)
    wait(driver, lambda: tiles(driver) and tiles(driver)[0][0] == name)
    tile = driver.find_element(By.CSS_SELECTOR, f'#tiles li[data-name="{name}"]')
    tile.send_keys(Keys.ENTER)  # keyboard works as well as a click
    wait(driver, lambda: driver.find_element(By.ID, "detail").get_attribute("open") is not None)


def force_open_from_page(driver, reason):
    reason_box = driver.find_element(By.ID, "reason")
    reason_box.clear()
    reason_box.send_keys(reason)
    wait(driver, lambda: driver.find_element(By.ID, "act-force-open").is_enabled())
    driver.find_element(By.ID, "act-force-open").click()
    wait(driver, lambda: driver.find_element(By.ID, "action-result").text not in ("", "force-open…"))
    return driver.find_element(By.ID, "action-result").text


def test_force_open_from_the_page_rejects_calls_and_history_shows_who_and_why(browser, daemon):
    client = daemon.client()
    name = "pay-api"
    assert client.request({"op": "should-attempt", "breaker": name})["allow"]
    open_page(browser, daemon)
    set_token(browser, ADMIN_TOKEN)
    open_detail(browser, name)
    result = force_open_from_page(browser, "provider maintenance")
    assert result == "force-open done: forced open", result
    decision = client.request({"op": "should-attempt", "breaker": name})
    assert decision["allow"] is False and decision["state"] == "forced_open", decision
    history = client.request({"op": "history", "breaker": name})["transitions"]
    assert history[0]["to"] == "forced_open"
    assert history[0]["actor"] == ADMIN_NAME and history[0]["note"] == "provider maintenance", history[0]
    # The page's own history table says the same.
    wait(browser, lambda: "provider maintenance" in browser.find_element(By.ID, "detail-history").text)
    row = browser.find_element(By.CSS_SELECTOR, "#detail-history tbody tr").text
    assert ADMIN_NAME in row and "forced open" in row, row
    browser.find_element(By.ID, "detail-close").click()
    wait(browser, lambda: tiles(browser)[0][1] == "forced_open")


def test_a_wrong_token_shows_the_error_and_changes_nothing(browser, daemon):
    client = daemon.client()
    name = "wrong-token-target"
    assert client.request({"op": "should-attempt", "breaker": name})["allow"]
    open_page(browser, daemon)
    set_token(browser, "not-the-token-0123456789")
    open_detail(browser, name)
    result = force_open_from_page(browser, "should not happen")
    assert result == "unauthorized: invalid admin token", result
    alert = browser.find_element(By.ID, "error")
    assert alert.is_displayed() and "unauthorized: invalid admin token" in alert.text
    assert client.request({"op": "inspect", "breaker": name})["breaker"]["state"] == "closed"
    assert client.request({"op": "history", "breaker": name})["transitions"] == []
    browser.find_element(By.ID, "detail-close").click()
    browser.execute_script("sessionStorage.clear()")
