#!/usr/bin/env bash
# Install what the tests need (.venv, pinned packages, Debian's chromium) and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh requirements-test.txt
if ! command -v chromium >/dev/null 2>&1; then
  _as_root apt-get update -qq
  _as_root apt-get install -y -qq chromium
fi
exec .venv/bin/python -m pytest "$@"
