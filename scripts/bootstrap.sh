# Shared by start.sh and test.sh: make .venv with a Python >= 3.11 and the given requirements file.
# Usage: source scripts/bootstrap.sh requirements.txt
set -euo pipefail

_as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Kubedrill needs Python 3.11 or newer (found: $("$PYTHON" --version 2>&1))." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  # Debian/Ubuntu ship venv's pip bootstrap separately (python3-venv).
  if ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then
    ver=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    _as_root apt-get update -qq
    _as_root apt-get install -y -qq "python${ver}-venv" || _as_root apt-get install -y -qq python3-venv
  fi
  "$PYTHON" -m venv .venv
fi
req_file=$1
stamp=.venv/.installed-$(basename "$req_file")
if [ ! -f "$stamp" ] || [ "$req_file" -nt "$stamp" ] || [ requirements.txt -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -r "$req_file"
  touch "$stamp"
fi
