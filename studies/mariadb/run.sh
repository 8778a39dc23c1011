#!/usr/bin/env bash
# Run the MariaDB study end to end on a Debian machine with Python >= 3.10:
#
#   bash studies/mariadb/run.sh
#
# 1. installs what is missing: mariadb-server and sysbench (apt-get), and .venv at the
#    repository root with the project and its local,report,dashboard extras
#    (scripts/bootstrap.sh);
# 2. starts a private MariaDB server on 127.0.0.1:$MARIADB_STUDY_PORT with its data in
#    studies/mariadb/work (no root needed; the system's MariaDB is never touched) at the
#    baseline settings, making the data directory and sysbench's tables on the first run;
# 3. runs `atune-bridge tune` on mariadb_server.yaml / mariadb_client.yaml with the offline
#    local model and a SQLite study, a trial being a restart of the server and a short
#    sysbench OLTP read-write run;
# 4. stops the server, puts the knob values in force before the run back, and prints where
#    the HTML report is and how to browse the study.
#
# Step 4 runs on every exit: the end, an error, Ctrl-C, SIGTERM or SIGHUP to this script
# (passed on to the tuner, which sets its values back first), and a tuner that was killed.
# Running it again resumes the same study (same SQLite file, same study name).
#
# Environment overrides:
#   TRIALS=12        trials the study reaches, baseline and earlier runs included
#   LLM=local        model spec for the sampler (local, none = TPE alone, random = the
#                    random stand-in, openai:..., ...)
#   STORAGE=URL      Optuna storage (default sqlite:///<repo>/studies/mariadb/work/mariadb.db)
#   STUDY=NAME       study name (default mariadb-<LLM with : and / replaced>)
#   DURATION=5       seconds of sysbench measured per trial, after a 1 s warm-up
#                    (MARIADB_STUDY_DURATION)
#   SEED=0           sampler seed
#   OUTPUT=DIR       report folder (default studies/mariadb/work/report)
#   SETUP=1          run the installation step even when everything looks installed
#   MARIADB_STUDY_PORT, MARIADB_STUDY_DIR, MARIADB_STUDY_THREADS, MARIADB_STUDY_TABLES,
#   MARIADB_STUDY_TABLE_SIZE, MARIADB_STUDY_WARMUP: see scripts/common.sh, data.sh, bench.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$root"
study_dir=studies/mariadb
say() { printf '\n== %s\n' "$*"; }
fail() { echo "run.sh: $*" >&2; exit 1; }

TRIALS=${TRIALS:-12}
LLM=${LLM:-local}
DURATION=${DURATION:-5}
SEED=${SEED:-0}
export MARIADB_STUDY_DURATION=$DURATION
for v in TRIALS DURATION SEED; do
    case ${!v} in ''|*[!0-9]*) fail "$v=${!v}: expected a whole number" ;; esac
done
warmup=${MARIADB_STUDY_WARMUP:-1}
case $warmup in ''|*[!0-9]*) fail "MARIADB_STUDY_WARMUP=$warmup: expected a whole number" ;; esac

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

if [ -n "${SETUP:-}" ] || ! have mariadbd || ! have mariadb-install-db || ! have sysbench || ! venv_ok; then
    say "installing: mariadb-server and sysbench (Debian packages), .venv with optuna-llm-sampler[local,report,dashboard]"
    bash scripts/bootstrap.sh local,report,dashboard mariadb-server sysbench
fi
venv_ok || fail ".venv is not usable; run again with SETUP=1"

# ------------------------------------------------------------------ 2. the private server
server=$study_dir/mariadb_server.yaml
client=$study_dir/mariadb_client.yaml
work=${MARIADB_STUDY_DIR:-$study_dir/work}
export MARIADB_STUDY_DIR=$work
# Keep the values in force now (refuses a folder the study did not make); put them back on exit.
bash $study_dir/scripts/param.sh save
work=$(cd "$work" && pwd -P)
STORAGE=${STORAGE:-sqlite:///$work/mariadb.db}
STUDY=${STUDY:-mariadb-$(printf '%s' "$LLM" | tr ':/' '--')}
OUTPUT=${OUTPUT:-$work/report}

tune_pid=""
caught=""
cleanup() {
    local status=$?
    trap - INT TERM HUP
    if [ -n "$tune_pid" ] && kill -0 "$tune_pid" 2>/dev/null; then
        kill -TERM "$tune_pid" 2>/dev/null || true
        wait "$tune_pid" 2>/dev/null || true
    fi
    bash $study_dir/scripts/stop.sh || true
    if bash $study_dir/scripts/param.sh restore; then
        echo "run.sh: the knob values in force before the run are set back ($work/params.env)" >&2
    else
        echo "run.sh: could not put the saved values back: see $work/params.saved" >&2
    fi
    [ -z "$caught" ] || exit $((128 + caught))
    exit "$status"
}
trap cleanup EXIT
# A signal to this script stops the tuner (which sets its values back) and then cleans up.
on_signal() {
    caught=$1
    [ -n "$tune_pid" ] && kill -TERM "$tune_pid" 2>/dev/null || true
    [ -n "$tune_pid" ] || exit $((128 + caught))
}
trap 'on_signal 2' INT
trap 'on_signal 15' TERM
trap 'on_signal 1' HUP

say "starting a private MariaDB at the baseline settings (work folder $work)"
# The baseline is the study's defaults, whatever values are in force outside the run.
bash $study_dir/scripts/param.sh reset
bash $study_dir/scripts/start.sh

# ------------------------------------------------------------------ 3. tune
say "tuning: $TRIALS trials, llm=$LLM, ${warmup}+${DURATION}s of sysbench each, study '$STUDY' in $STORAGE"
# In the background so that this script can pass a signal on and wait for the tuner to set
# its values back; `wait` returns early when a trapped signal arrives, hence the loop.
.venv/bin/atune-bridge tune \
    --server "$server" --client "$client" \
    --storage "$STORAGE" --study "$STUDY" \
    --llm "$LLM" --trials "$TRIALS" --seed "$SEED" \
    --knowledge $study_dir/knowledge.md \
    --output "$OUTPUT" \
    --benchmark-timeout $((warmup + DURATION + 90)) \
    --workdir "$root" < /dev/null &
tune_pid=$!
status=0
while kill -0 "$tune_pid" 2>/dev/null; do
    wait "$tune_pid" && status=0 || status=$?
done
tune_pid=""
[ -z "$caught" ] || exit $((128 + caught))
[ "$status" -eq 0 ] || fail "atune-bridge tune exited with status $status"

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
