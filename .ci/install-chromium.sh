#!/usr/bin/env bash
# Install Debian's headless Chromium for the report rendering test (the regulator's HTML
# report is opened and screenshotted). Idempotent; run as root on Debian 12.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! command -v chromium >/dev/null 2>&1; then
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null
fi
chromium --version
