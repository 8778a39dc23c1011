#!/usr/bin/env bash
# The README's test command: installs everything the tests need, then runs pytest.
#   bash scripts/test.sh [PYTEST ARGS...]
# Debian packages: nginx and wrk (the nginx study), mariadb-server and sysbench (the MariaDB
# study; its tests start their own private server), postgresql (the shared-storage tests; the
# tests start their own private server). Python: .venv with every extra (bench: torch for
# GPSampler, scikit-learn, matplotlib) and the dev tools.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash scripts/bootstrap.sh all,dev,bench nginx wrk mariadb-server sysbench postgresql
exec .venv/bin/python -m pytest "$@"
