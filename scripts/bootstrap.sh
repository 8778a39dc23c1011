#!/usr/bin/env bash
# Set up what the project needs on a Debian machine with Python >= 3.10, idempotently:
#   bash scripts/bootstrap.sh EXTRAS [DEBIAN_PACKAGES...]
# EXTRAS is a comma-separated list of pyproject extras (e.g. "local,report" or "all,dev").
# Creates .venv at the repository root, installs the project editable with those extras,
# and installs the Debian packages named after EXTRAS when they are missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
extras="${1:-}"
shift || true

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "bootstrap: need root to run: $*" >&2; return 1; fi
}

apt_updated=""
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

python="${PYTHON:-}"
if [ -z "$python" ]; then
    for candidate in python3.11 python3.12 python3.13 python3.10 python3; do
        if command -v "$candidate" >/dev/null; then python="$candidate"; break; fi
    done
fi
[ -n "$python" ] || { apt_install python3 python3-venv; python=python3; }

# llama-cpp-python is built from source: it needs a C/C++ compiler.
if [[ ",$extras," == *",local,"* || ",$extras," == *",all,"* ]]; then
    command -v g++ >/dev/null && command -v make >/dev/null || apt_install build-essential
fi
if [ $# -gt 0 ]; then apt_install "$@"; fi

venv="$root/.venv"
if [ ! -x "$venv/bin/python" ]; then
    if ! "$python" -m venv "$venv" 2>/dev/null; then
        rm -rf "$venv"
        apt_install python3-venv
        "$python" -m venv "$venv"
    fi
fi
"$venv/bin/python" -m pip install -q --upgrade pip
# torch (the bench extra, for GPSampler): pin the CPU build 2.13.0 first, which pip takes from
# this machine's local wheel store; a bare "torch" would pull a multi-GB CUDA build instead.
if [[ ",$extras," == *",bench,"* ]] && ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
    echo "bootstrap: installing torch 2.13.0 (CPU) for GPSampler"
    "$venv/bin/python" -m pip install -q "torch==2.13.0"
fi
spec="$root"
[ -n "$extras" ] && spec="$root[$extras]"
# The pip cache keeps the llama-cpp-python wheel: only the first install builds it (~5 min).
"$venv/bin/python" -m pip install -q -e "$spec"
# HEBO (the benchmark's hebo arm) declares numpy<1.25 and pymoo==0.6.0, which clash with numpy 2;
# it runs on both (see the bench extra in pyproject.toml, which lists what it imports), so it is
# installed without its declared dependencies.
if [[ ",$extras," == *",bench,"* ]] && ! "$venv/bin/python" -c "import hebo" 2>/dev/null; then
    echo "bootstrap: installing HEBO 0.3.6 without its numpy<1.25 and pymoo==0.6.0 pins"
    "$venv/bin/python" -m pip install -q --no-deps "HEBO==0.3.6"
fi
