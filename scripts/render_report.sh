#!/usr/bin/env bash
# Render the runner's HTML report in headless Chromium and check its trials table (see
# scripts/render_report.py and docs/dashboard.md). Installs Debian's chromium, which is large,
# so it is not part of scripts/test.sh.
#   bash scripts/render_report.sh [--out DIR] [--trials N] [--width PX] [--report index.html]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/bootstrap.sh" report chromium fonts-dejavu-core
exec "$root/.venv/bin/python" "$root/scripts/render_report.py" "$@"
