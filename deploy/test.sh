#!/usr/bin/env bash
# Installs the dependencies, builds Berth and runs every test (unit and integration) with
# ctest. Needs root: the integration tests start berthd, runc, CNI plugins and a registry.
#
# When tests fail, their whole output is printed again at the end (ctest prints it where the
# test finished, deep in a long log), and the failed tests run once more, alone. The run fails
# if any of them fails again; one that passes the second time is reported as FLAKY, with the
# output of its failure, and does not fail the run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: run as root: sudo ./deploy/test.sh" >&2
  exit 1
fi
# Test output may hold raw bytes (a daemon's log, a container's output): printed as plain text
# with lines cut short, so whatever reads this log (a CI page) shows all of it.
sanitize() { LC_ALL=C sed -u 's/[^[:print:]\t]/?/g' | cut -c1-2000; }
./deploy/install-deps.sh
./deploy/build.sh release
# A failed test's output (which may hold a daemon's whole debug log) is cut to its first and
# last 24 KiB, so the log of a run stays short enough to be read whole.
ctest_args=(--test-dir build --output-on-failure --timeout 600 --test-output-size-failed 49152
            --test-output-truncation middle)
if ctest "${ctest_args[@]}" -j"$(nproc)" "$@" | sanitize; then
  exit 0
fi
temporary=build/Testing/Temporary
failed=$(cut -d: -f2- "$temporary/LastTestsFailed.log")
cp "$temporary/LastTest.log" "$temporary/FirstRun.log"
while IFS= read -r name; do
  echo "==================== output of the failed test $name ===================="
  # Each test's block in ctest's log runs from "N/M Testing: name" to its "end time" line.
  awk -v name="$name" '
    !on && sub(/^[0-9]+\/[0-9]+ Testing: /, "") && $0 == name { on = 1; print "Testing: " name; next }
    on { print }
    on && index($0, "\"" name "\" end time:") == 1 { exit }
  ' "$temporary/FirstRun.log" | tail -n 300 | sanitize
done <<<"$failed"
echo "==================== running the failed tests again, one at a time ===================="
if ctest "${ctest_args[@]}" -j1 --rerun-failed | sanitize; then
  echo "FLAKY (failed once, passed alone): $(tr '\n' ' ' <<<"$failed")"
  exit 0
fi
echo "FAILED twice: $(cut -d: -f2- "$temporary/LastTestsFailed.log" | tr '\n' ' ')"
exit 1
