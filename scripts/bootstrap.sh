#!/usr/bin/env bash
# Create/refresh the project's virtualenv (.venv) idempotently.
# Re-installs only when pyproject.toml changed since the last successful install.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${TICKETSTREAM_PYTHON:-}"
if [[ -z "$PY" ]]; then
  for c in python3.11 python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(0 if sys.version_info[:2]==(3,11) else 1)'; then PY="$c"; break; fi
  done
fi
if [[ -z "$PY" ]]; then
  echo "bootstrap: Python 3.11 not found; install python3.11 (Debian: apt-get install python3.11 python3.11-venv) or set TICKETSTREAM_PYTHON" >&2
  exit 1
fi
if [[ ! -x .venv/bin/python ]]; then
  echo "bootstrap: creating .venv with $PY" >&2
  "$PY" -m venv .venv
fi
stamp=".venv/.ticketstream-installed"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  echo "bootstrap: installing Python packages into .venv" >&2
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  if ! .venv/bin/python -m pip install -q -e '.[dev]'; then
    echo "bootstrap: 'pip install -e .[dev]' failed; check network access to PyPI and the error above" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi
