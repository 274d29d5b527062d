#!/usr/bin/env bash
# Measure the README's test command as on a fresh machine: a fresh clone (no .venv, empty
# .cache), an empty Maven repository and no pip cache; then the stack's start-up with caches.
#   scripts/measure-fresh.sh            (takes a few minutes; leaves nothing running)
# Debian packages already installed stay installed (uninstalling them would break a running
# stack); `apt-get install` of clickhouse-server, clickhouse-client and prometheus adds its own
# time on a machine without them.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d /tmp/ticketstream-fresh-XXXXXX)"
trap 'rm -rf "$work"' EXIT
git clone -q . "$work/clone"
mkdir -p "$work/m2"
start=$(date +%s)
rc=0
(cd "$work/clone" && CI=true PIP_NO_CACHE_DIR=1 TICKETSTREAM_MAVEN_REPO_LOCAL="$work/m2" \
  bash .ci/run) >"$work/run.log" 2>&1 || rc=$?
end=$(date +%s)
tail -n 3 "$work/run.log"
echo "fresh clone: .ci/run exit $rc in $((end - start)) s (commit $(git -C "$work/clone" rev-parse --short HEAD))"
echo "stack start-up with caches in place:"
"$work/clone/.venv/bin/python" -m ticketstream.devstack.measure
exit "$rc"
