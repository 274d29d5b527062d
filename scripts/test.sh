#!/usr/bin/env bash
# The test command: set up, lint, type-check, check schema compatibility, run every test.
# Integration tests start the real Kafka, ClickHouse and Prometheus themselves (tests/conftest.py)
# and stop them at the end of the session.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"; ruff check .
echo "== mypy"; mypy
if ticketstream schemas --help >/dev/null 2>&1; then echo "== schemas check"; ticketstream schemas check; fi
echo "== pytest"
python -m pytest "$@"
