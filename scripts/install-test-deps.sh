#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, when they are missing:
#   chromium      the dashboard's browser test (driven by playwright-core)
#   redis-server  the Redis store's contract tests (they start their own server on a free port)
#   prometheus    promtool: `promtool check metrics` / `check rules` (test/prometheus-conventions.test.ts)
# Run as root (CI is root). As another user it only reports what is missing.
set -euo pipefail
needed=()
command -v chromium >/dev/null 2>&1 || needed+=(chromium)
command -v redis-server >/dev/null 2>&1 || needed+=(redis-server)
command -v promtool >/dev/null 2>&1 || needed+=(prometheus)
if [ ${#needed[@]} -eq 0 ]; then
  echo "test dependencies present: chromium, redis-server, promtool"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${needed[*]}; run as root: apt-get install -y ${needed[*]}" >&2
  exit 1
fi
echo "installing ${needed[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${needed[@]}"
