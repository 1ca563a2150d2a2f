#!/usr/bin/env bash
# Install what the app needs into .venv and start the dashboard (extra arguments go to app.py).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh requirements.txt
exec .venv/bin/python app.py "$@"
