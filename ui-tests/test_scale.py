"""100,000 breakers: the first paint and filtering stay fast. Exact figures go to the log."""
import os
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from breakerd import Daemon, pipeline_parallel
from conftest import console_errors, open_page

COUNT = 100_000
# The targets are 2 s and 200 ms. The asserts are generous, so a busy shared machine does
# not fail them by chance, and the log prints the exact figures (BENCHMARKS.md). The first paint
# waits only for the daemon's first screen (api/breakers?limit=60); the whole list (the daemon
# walking and encoding 100,000 breakers, seconds on a busy machine) follows in the background.
def first_paint_bound_ms(binary):
    default = 4000 if "/release/" in binary else 15000
    return float(os.environ.get("UI_FIRST_PAINT_BOUND_MS", default))


FILTER_BOUND_MS = 400


@pytest.fixture(scope="module")
def big(binary):
    d = Daemon(binary)
    started = time.time()
    lines = [f'{{"op":"should-attempt","breaker":"bench-{i:06d}"}}\n'.encode() for i in range(COUNT)]
    assert pipeline_parallel(d.port, lines, connections=4) == 0
    # Some traffic, so "most active" means something: 200 breakers with calls, 20 tripped.
    busy = [f'{{"op":"record-success","breaker":"bench-{i:06d}","count":{1 + i % 50}}}\n'.encode() for i in range(0, 100_000, 500)]
    tripped = [f'{{"op":"record-failure","breaker":"bench-{i:06d}","count":5}}\n'.encode() for i in range(0, 100_000, 5000)]
    assert pipeline_parallel(d.port, busy + tripped, connections=2) == 0
    print(f"\ncreated {COUNT} breakers in {time.time() - started:.1f} s")
    yield d
    d.stop()


def test_hundred_thousand_breakers_first_paint_and_filter(browser, big, binary):
    console_errors(browser)
    started = time.time()
    timings = open_page(browser, big, timeout=30)
    wall = (time.time() - started) * 1000
    first_paint = timings["firstPaintMs"]
    first_tiles = browser.execute_script("return [...document.querySelectorAll('#tiles li')].map(t => t.dataset.name)")
    more = browser.find_element(By.ID, "more").text
    # Then the whole list, in the background: filtering works on all of it from then on.
    WebDriverWait(browser, 30, poll_frequency=0.05).until(
        lambda d: d.execute_script("return window.__breakerd.listPaintMs !== null"))
    timings = browser.execute_script("return window.__breakerd")
    print(f"\n100k breakers: first paint {first_paint:.0f} ms after navigation start "
          f"(first screen fetch+parse {timings['screenFetchMs']:.0f} ms, selenium wall {wall:.0f} ms); "
          f"whole list drawn at {timings['listPaintMs']:.0f} ms (list fetch+parse {timings['listFetchMs']:.0f} ms)")
    assert len(first_tiles) == 60
    assert more.startswith("and 99,940 more"), more
    # The daemon's first screen is what the page itself chooses once it has every breaker.
    assert browser.execute_script("return [...document.querySelectorAll('#tiles li')].map(t => t.dataset.name)") == first_tiles
    assert first_tiles[:20] == [f"bench-{i:06d}" for i in range(0, 100_000, 5000)]
    bound = first_paint_bound_ms(binary)
    print(f"first paint bound {bound:.0f} ms ({binary})")
    assert first_paint < bound

    # Filtering: set the prefix and dispatch the input event as typing does; the time includes
    # choosing the tiles, rebuilding them and the browser's style and layout.
    measure = """
        const box = document.getElementById('filter');
        const t0 = performance.now();
        box.value = arguments[0];
        box.dispatchEvent(new Event('input'));
        document.body.getBoundingClientRect(); document.body.offsetHeight;
        return [performance.now() - t0, document.querySelectorAll('#tiles li').length,
                document.getElementById('shown').textContent];
    """
    figures = []
    for prefix, expected_shown in (("bench-09999", "showing 10 of 10"), ("bench-05", "showing 60 of 10,000"),
                                   ("bench-1", "showing 0 of 0"), ("", "showing 60 of 100,000")):
        ms, count, shown = browser.execute_script(measure, prefix)
        figures.append(ms)
        print(f"filter {prefix!r:14} -> {shown:26} in {ms:.1f} ms")
        assert shown == expected_shown
    # By state and sorted by last change, too.
    Select(browser.find_element(By.ID, "state-filter")).select_by_value("open")
    WebDriverWait(browser, 5).until(lambda d: d.find_element(By.ID, "shown").text == "showing 20 of 20")
    ms, _, shown = browser.execute_script(measure, "bench-0")
    print(f"filter 'bench-0' + state open -> {shown} in {ms:.1f} ms")
    figures.append(ms)
    Select(browser.find_element(By.ID, "state-filter")).select_by_value("")
    Select(browser.find_element(By.ID, "sort")).select_by_value("change")
    ms, _, shown = browser.execute_script(measure, "")
    print(f"sorted by last change, no filter -> {shown} in {ms:.1f} ms")
    figures.append(ms)
    print(f"filter worst {max(figures):.1f} ms")
    assert max(figures) < FILTER_BOUND_MS
    errors = console_errors(browser)
    assert errors == [], errors
