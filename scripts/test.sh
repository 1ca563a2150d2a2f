#!/usr/bin/env bash
# Install what the tests need (.venv, pinned packages, Debian's chromium and postgresql) and run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh requirements-test.txt
if ! command -v chromium >/dev/null 2>&1; then
  _as_root apt-get update -qq
  _as_root apt-get install -y -qq chromium
fi
# The persistence tests start a throwaway PostgreSQL server from Debian's server binaries.
if ! compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null; then
  _as_root apt-get update -qq
  # No debconf prompt on a fresh CI machine. The system cluster the package may start on port 5432 is
  # left alone: the suite runs its own throwaway server on a free port (tests/conftest.py).
  _as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
fi
# One pytest-xdist worker per core: the suite is ~36 min in one process on a 2-core machine, ~6 min in two.
exec .venv/bin/python -m pytest -n auto "$@"
