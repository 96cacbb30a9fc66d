#!/usr/bin/env bash
# CI gate for a lessons store: verify it and leave a JUnit report for the dashboard.
#
#   scripts/ci/verify.sh [store] [report.xml]
#
# Exit 0 when the store is consistent, 1 with findings (the report and the log say which and
# how to fix each), 2 when verify could not run (no store, unreadable path).
# Set LESSONS_VERIFY_DEEP=1 to re-hash every object and file too (slower; nightly jobs).
set -euo pipefail

store=${1:-${LESSONS_DIR:-memory}}
report=${2:-reports/lessons-verify.xml}
lessons=${LESSONS_BIN:-lessons}

# Without lessons, verify cannot run: exit 2 as promised above, not the shell's 127.
read -r -a lessons_cmd <<<"$lessons"
if ! command -v "${lessons_cmd[0]}" >/dev/null 2>&1; then
  echo "lessons verify: '${lessons_cmd[0]}' is not on PATH; install lessons or set LESSONS_BIN" >&2
  exit 2
fi

mkdir -p "$(dirname "$report")"
deep=()
if [[ ${LESSONS_VERIFY_DEEP:-0} == 1 ]]; then deep=(--deep); fi

set +e
"${lessons_cmd[@]}" --dir "$store" verify "${deep[@]}" --junit "$report"
status=$?
set -e
echo "lessons verify: exit $status, JUnit report at $report"
exit $status
