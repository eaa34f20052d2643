#!/usr/bin/env bash
# The README's test command: installs what the tests need, lints (ruff, mypy), then runs all of them.
# Python extras go into .venv from pyproject.toml (pinned by constraints.txt);
# the browser tests need Debian's chromium and chromium-driver, installed here if missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium and chromium-driver (Debian packages) for the browser tests"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null
  else
    echo "error: the browser tests need chromium; install Debian's 'chromium' and 'chromium-driver' (as root)." >&2
    exit 2
  fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
PIP_CONSTRAINT="$PWD/constraints.txt" .venv/bin/python -m pip install -q -c constraints.txt -e ".[test]"
echo "lint: ruff check, ruff format --check, mypy app"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
