#!/usr/bin/env bash
# Installs Debian's Chromium for the /docs browser test (playwright-core drives it; no browser download).
# Where it cannot be installed, says so: the test then reports that it does not run.
set -u
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  if $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium; then
    exit 0
  fi
fi
echo "Chromium could not be installed here: the /docs browser test will not run."
exit 0
