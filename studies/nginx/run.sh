#!/usr/bin/env bash
# Run the nginx study end to end on a Debian machine with Python >= 3.10:
#
#   bash studies/nginx/run.sh
#
# 1. installs what is missing: nginx and wrk (apt-get), and .venv at the repository root
#    with the project and its local,report,dashboard extras (scripts/bootstrap.sh);
# 2. starts a private nginx on 127.0.0.1:$NGINX_STUDY_PORT from studies/nginx/work (no root
#    needed; the system's nginx is never touched) at the baseline settings;
# 3. runs `atune-bridge tune` on nginx_server.yaml / nginx_client.yaml with the offline local
#    model and a SQLite study, a trial being a restart of nginx and a short wrk run;
# 4. stops nginx and prints where the HTML report is and how to browse the study.
#
# Running it again resumes the same study (same SQLite file, same study name).
#
# Environment overrides:
#   TRIALS=12        trials the study reaches, baseline and earlier runs included
#   LLM=local        model spec for the sampler (local, none = TPE alone, openai:..., ...)
#   STORAGE=URL      Optuna storage (default sqlite:///<repo>/studies/nginx/work/nginx.db)
#   STUDY=NAME       study name (default nginx-<LLM with : and / replaced>)
#   DURATION=3       seconds of wrk per trial (NGINX_STUDY_DURATION)
#   SEED=0           sampler seed
#   OUTPUT=DIR       report folder (default studies/nginx/work/report)
#   NETNS=1          also tune sysctls in a network namespace made for the study (root only;
#                    nginx_server_netns.yaml; the host's sysctls are never changed)
#   SETUP=1          run the installation step even when everything looks installed
#   NGINX_STUDY_PORT, NGINX_STUDY_DIR, NGINX_STUDY_CONNECTIONS: see scripts/common.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$root"
study_dir=studies/nginx
say() { printf '\n== %s\n' "$*"; }

TRIALS=${TRIALS:-12}
LLM=${LLM:-local}
DURATION=${DURATION:-3}
SEED=${SEED:-0}
NETNS=${NETNS:-}
export NGINX_STUDY_DURATION=$DURATION

# ------------------------------------------------------------------ 1. install what is missing
venv_ok() {  # the venv has the project, the report's plotly and, for LLM=local, llama.cpp
    [ -x .venv/bin/atune-bridge ] && LLM=$LLM .venv/bin/python - <<'EOF' 2>/dev/null
import importlib.util, os, sys
need = ["optuna", "optuna_llm_sampler", "atune_bridge", "plotly", "optuna_dashboard"]
if os.environ["LLM"] == "local":
    need += ["llama_cpp", "langchain_core"]
sys.exit(0 if all(importlib.util.find_spec(m) for m in need) else 1)
EOF
}
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }

if [ -n "${SETUP:-}" ] || ! have nginx || ! have wrk || ! venv_ok; then
    say "installing: nginx and wrk (Debian packages), .venv with optuna-llm-sampler[local,report,dashboard]"
    bash scripts/bootstrap.sh local,report,dashboard nginx wrk
fi
venv_ok || { echo "run.sh: .venv is not usable; run again with SETUP=1" >&2; exit 1; }

# ------------------------------------------------------------------ 2. the private nginx
server=$study_dir/nginx_server.yaml
client=$study_dir/nginx_client.yaml
work=${NGINX_STUDY_DIR:-$study_dir/work}
if [ -n "$NETNS" ]; then
    [ "$(id -u)" = 0 ] || { echo "run.sh: NETNS=1 needs root (ip netns add)" >&2; exit 1; }
    server=$study_dir/nginx_server_netns.yaml
    client=$study_dir/nginx_client_netns.yaml
    work=${NGINX_STUDY_DIR:-$study_dir/work-netns}
fi
mkdir -p "$work"
work=$(cd "$work" && pwd -P)
STORAGE=${STORAGE:-sqlite:///$work/nginx.db}
STUDY=${STUDY:-nginx-$(printf '%s' "$LLM" | tr ':/' '--')${NETNS:+-netns}}
OUTPUT=${OUTPUT:-$work/report}

cleanup() {
    if [ -n "$NETNS" ]; then
        bash $study_dir/scripts/ns.sh stop || true
        bash $study_dir/scripts/netns.sh down || true
    else
        bash $study_dir/scripts/stop.sh || true
    fi
}
trap cleanup EXIT

say "starting a private nginx at the baseline settings (work folder $work)"
if [ -n "$NETNS" ]; then
    bash $study_dir/scripts/netns.sh up
    bash $study_dir/scripts/ns.sh param reset
    bash $study_dir/scripts/ns.sh start
else
    # The baseline is the study's defaults, also after an interrupted run left trial values.
    bash $study_dir/scripts/param.sh reset
    bash $study_dir/scripts/start.sh
fi

# ------------------------------------------------------------------ 3. tune
say "tuning: $TRIALS trials, llm=$LLM, ${DURATION}s of wrk each, study '$STUDY' in $STORAGE"
.venv/bin/atune-bridge tune \
    --server "$server" --client "$client" \
    --storage "$STORAGE" --study "$STUDY" \
    --llm "$LLM" --trials "$TRIALS" --seed "$SEED" \
    --knowledge $study_dir/knowledge.md \
    --output "$OUTPUT" \
    --benchmark-timeout $((DURATION + 60)) \
    --workdir "$root"

# ------------------------------------------------------------------ 4. where to look
say "done"
report=$OUTPUT/index.html
[ -f "$report" ] || report=$OUTPUT
echo "HTML report:   $report  (open it in a browser)"
echo "Study:         '$STUDY' in $STORAGE"
echo "               running this script again resumes it; TRIALS=N with a larger N adds trials"
dashboard=".venv/bin/optuna-dashboard $STORAGE"
case "$STORAGE" in  # the runner keeps the model's prompts and replies next to a SQLite file
    sqlite:///*) artifacts="${STORAGE#sqlite:///}"; artifacts="${artifacts%.*}.artifacts"
                 [ -d "$artifacts" ] && dashboard="$dashboard --artifact-dir $artifacts" ;;
esac
echo "Dashboard:     $dashboard   # then open http://127.0.0.1:8080/"
