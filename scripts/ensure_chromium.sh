#!/bin/sh
# Installs Debian's chromium for the dashboard's browser tests, once. Idempotent: does nothing when present.
# Playwright drives this binary (executable_path=/usr/bin/chromium); `playwright install` is not used, so no
# browser is downloaded from outside the distribution.
set -eu

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure_chromium: $CHROMIUM is missing and apt-get is not available; install Chromium yourself" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "ensure_chromium: installing chromium needs root (or sudo)" >&2
        exit 1
    fi
fi

echo "ensure_chromium: installing Debian's chromium package" >&2
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
test -x "$CHROMIUM"
