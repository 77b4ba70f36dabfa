"""Without --admin-token-file the page's actions are disabled, and it says why."""
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from breakerd import Daemon
from conftest import console_errors, open_page


def test_actions_are_disabled_with_the_reason(binary, browser):
    d = Daemon(binary, tokens=False)
    try:
        c = d.client()
        assert c.request({"op": "should-attempt", "breaker": "lonely"})["allow"]
        console_errors(browser)
        open_page(browser, d)
        notice = browser.find_element(By.ID, "actions-disabled")
        assert notice.is_displayed() and "--admin-token-file" in notice.text, notice.text
        tile = browser.find_element(By.CSS_SELECTOR, '#tiles li[data-name="lonely"]')
        tile.send_keys(Keys.ENTER)
        WebDriverWait(browser, 5).until(lambda b: b.find_element(By.ID, "detail").get_attribute("open") is not None)
        for button in ("act-force-open", "act-release", "act-reset"):
            assert not browser.find_element(By.ID, button).is_enabled()
        assert "--admin-token-file" in browser.find_element(By.ID, "actions-note").text
        browser.find_element(By.ID, "detail-close").click()
        assert console_errors(browser) == []
    finally:
        d.stop()


def test_no_ui_turns_the_page_off(binary):
    import urllib.error
    import urllib.request
    d = Daemon(binary, extra_args=("--no-ui",))
    try:
        for path in ("", "events", "api/breakers"):
            try:
                urllib.request.urlopen(d.url + path, timeout=5)
                raise AssertionError(f"/{path} answered with --no-ui")
            except urllib.error.HTTPError as e:
                assert e.code == 404, (path, e.code)
        assert urllib.request.urlopen(d.url + "healthz", timeout=5).status == 200
    finally:
        d.stop()
