#!/usr/bin/env bash
# Installs what the test suite needs from Debian's packages when it is missing, so `npm test` passes
# on a fresh machine (it runs this first, as `pretest`; `.ci/run` calls it too):
#   promtool  (prometheus)            alert-rule checks (test/metrics)
#   ZooKeeper (zookeeper + a JRE)     real ZooKeeper for zk:// and HA tests (test/zk)
#   chromium                          the console's browser tests (test/console), driven by puppeteer-core
#                                     (SLUICE_CHROMIUM overrides the path; no browser is downloaded)
# Nothing is skipped when a part is absent: if it cannot be installed (no root, no sudo), this fails
# and says what to install.
set -euo pipefail

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
{ [ -f /usr/share/java/zookeeper.jar ] && command -v java >/dev/null 2>&1; } || missing+=(default-jre-headless zookeeper)
[ -x "${SLUICE_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
      echo "test-deps: missing Debian packages: ${missing[*]}" >&2
      echo "test-deps: install them as root: apt-get install --no-install-recommends ${missing[*]}" >&2
      exit 1
    fi
  fi
  echo "== test-deps: installing ${missing[*]} (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "== test-deps: $(promtool --version 2>&1 | head -1)"
echo "== test-deps: $(java -version 2>&1 | head -1), $(ls /usr/share/java/zookeeper-[0-9]*.jar 2>/dev/null | head -1)"
echo "== test-deps: $("${SLUICE_CHROMIUM:-/usr/bin/chromium}" --version 2>/dev/null | head -1)"
