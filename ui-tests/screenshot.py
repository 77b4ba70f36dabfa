"""Takes docs/status-page.png: a real breakerd with a dozen breakers in every state and some
traffic, shown in headless chromium. Run: .venv/bin/python screenshot.py [output.png]"""
import random
import sys
import threading
import time

from breakerd import Daemon
from conftest import REPO, breakerd_bin, make_browser, open_page


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else str(REPO / "docs" / "status-page.png")
    d = Daemon(breakerd_bin())
    stop = threading.Event()
    try:
        admin = d.client(auth=True)
        services = {"payments-api": 0.02, "orders-db": 0.0, "search-cluster": 0.0, "inventory-svc": 0.05,
                    "kafka-orders": 0.01, "email-gateway": 0.1, "pricing-rules": 0.0, "user-profile": 0.03,
                    "recommendations": 0.0, "shipping-quotes": 0.04, "tax-service": 0.0, "image-resizer": 0.02}
        for name in services:
            admin.request({"op": "configure", "breaker": name, "config": {"failure_threshold": 5, "timeout_ms": 90_000}})
        admin.request({"op": "configure", "breaker": "search-cluster", "config": {"timeout_ms": 3000}})
        admin.request({"op": "configure", "breaker": "inventory-svc",
                       "config": {"policy": "rate", "window": {"kind": "count", "size": 100}, "minimum_calls": 10, "failure_rate_threshold": 50}})

        def traffic():
            c = d.client()
            while not stop.is_set():
                for name, failure in services.items():
                    if name in ("orders-db", "search-cluster", "payments-api"):
                        c.request({"op": "should-attempt", "breaker": name})
                        continue
                    c.request({"op": "should-attempt", "breaker": name})
                    c.request({"op": "record-success", "breaker": name, "count": random.randint(5, 40)})
                    if random.random() < failure:
                        c.request({"op": "record-failure", "breaker": name})
                time.sleep(0.2)

        threading.Thread(target=traffic, daemon=True).start()
        browser = make_browser()
        browser.set_window_size(1280, 860)
        open_page(browser, d)
        time.sleep(40)  # sparklines fill from the right: 40 s of a 5-minute window
        admin.request({"op": "force-open", "breaker": "payments-api", "reason": "provider maintenance 14:00-15:00"})
        admin.request({"op": "record-failure", "breaker": "orders-db", "count": 5})
        admin.request({"op": "record-failure", "breaker": "shipping-quotes", "count": 5})
        admin.request({"op": "record-failure", "breaker": "search-cluster", "count": 5})
        time.sleep(4)  # search-cluster goes half-open
        time.sleep(8)
        browser.save_screenshot(out)
        browser.quit()
        print("wrote", out)
    finally:
        stop.set()
        d.stop()


if __name__ == "__main__":
    main()
