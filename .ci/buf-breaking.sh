#!/usr/bin/env bash
# Fails when the protos break wire or source compatibility with main: against the branch
# main when this checkout is elsewhere, and against main's previous commit when it is main.
set -euo pipefail
cd "$(dirname "$0")/.."
buf=.venv/bin/buf
if [[ "$(git rev-parse HEAD)" != "$(git rev-parse main 2>/dev/null || true)" ]]; then
  against=".git#branch=main,subdir=protos"
elif git cat-file -e HEAD~1:protos/buf.yaml 2>/dev/null; then
  against=".git#ref=HEAD~1,subdir=protos"
else
  echo "buf breaking: no earlier protos to compare with"; exit 0
fi
echo "buf breaking against $against"
"$buf" breaking protos --against "$against"
