#!/usr/bin/env bash
# The one test command: builds everything and runs every test (Swift Testing), on a fresh machine too.
# The registry tests drive real parts: Debian's docker-registry (distribution) as the upstream, skopeo, podman and
# containerd as clients, curl, openssl and htpasswd; they are installed here with apt-get when missing, so a clean clone needs
# nothing but Swift. Under this script those tests never skip: a missing tool fails them.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"

need=()
for tool in skopeo:skopeo docker-registry:docker-registry curl:curl openssl:openssl htpasswd:apache2-utils podman:podman containerd:containerd; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool#*:}")
done
if [ "${#need[@]}" -gt 0 ]; then
    echo "== installing ${need[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
        || { echo "cannot install ${need[*]}"; exit 1; }
fi
export MIRRORD_REQUIRE_TOOLS=1

echo "== build (debug, with tests)"
swift build --build-tests 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]'
[ "${PIPESTATUS[0]}" -eq 0 ] || { echo "build failed"; exit 1; }

echo "== test"
swift test --skip-build 2>&1 | tee .build/test-output.log | grep -vE '^(Test Suite|Test Case|◇ )'
exit "${PIPESTATUS[0]}"
