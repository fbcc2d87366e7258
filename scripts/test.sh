#!/usr/bin/env bash
# The one test command: builds everything and runs every test (Swift Testing), on a fresh machine too.
# Later issues' tests drive real clients and registries (skopeo, docker-registry); they are installed here
# with apt-get when those tests arrive, so a clean clone needs nothing but Swift.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

echo "== build (debug, with tests)"
swift build --build-tests 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]'
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "build failed"; exit 1; }

echo "== test"
swift test --skip-build 2>&1 | tee .build/test-output.log | grep -vE '^(Test Suite|Test Case|◇ )'
exit "${PIPESTATUS[0]}"
