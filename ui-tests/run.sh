#!/usr/bin/env bash
# Browser tests of the status page: Debian's chromium + chromium-driver (see APT-PACKAGES),
# Selenium and pytest from PyPI in a virtual environment, against the real breakerd at
# $BREAKERD_BIN (default: <repo>/.build/debug/breakerd; build it with
# `swift build --product breakerd`). Each test module starts its own daemon on free ports with a
# temp data dir and an admin token file. Exits non-zero on any failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
export BREAKERD_BIN=${BREAKERD_BIN:-$repo/.build/debug/breakerd}
venv=${UI_TESTS_VENV:-$here/.venv}

for tool in /usr/bin/chromium /usr/bin/chromedriver; do
    [ -x "${tool}" ] || { echo "ui-tests: $tool missing: apt-get install -y $(tr '\n' ' ' < "$here/APT-PACKAGES")" >&2; exit 2; }
done
[ -x "$BREAKERD_BIN" ] || { echo "ui-tests: no breakerd at $BREAKERD_BIN (swift build --product breakerd)" >&2; exit 2; }

if [ ! -x "$venv/bin/pytest" ] || ! "$venv/bin/python" -c 'import selenium, pytest_timeout' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
fi

cd "$here"
# -s: the tests print their measured figures; the last line is pytest's summary.
exec "$venv/bin/python" -m pytest -v -s -p no:cacheprovider --timeout=150 "$@"
