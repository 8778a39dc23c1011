#!/usr/bin/env bash
# Stop the study's private MariaDB server (the server YAML's stopworkload). Idempotent.
#
# Sends TERM (a clean shutdown: InnoDB writes its dirty pages and closes the redo log) to
# every server process started with this work folder's my.cnf, whatever the pid file says,
# waits up to MARIADB_STUDY_STOP_TIMEOUT seconds (default 60), then KILLs what is left (the
# next start then runs InnoDB's crash recovery). Servers of any other folder, and the
# system's MariaDB, are never signalled.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

work_dir || exit 0   # no work folder: nothing of ours can be running
STOP_TIMEOUT=${MARIADB_STUDY_STOP_TIMEOUT:-60}
case $STOP_TIMEOUT in ''|*[!0-9]*|0) die "MARIADB_STUDY_STOP_TIMEOUT=$STOP_TIMEOUT: expected a positive whole number" ;; esac

pids=$(our_pids)
[ -n "$pids" ] || { rm -f "$WORK/run/mariadb.pid"; exit 0; }
kill -TERM $pids 2>/dev/null || true
for _ in $(seq 1 $((STOP_TIMEOUT * 10))); do
    left=""
    for p in $pids; do alive "$p" && left="$left $p"; done
    [ -z "$left" ] && break
    sleep 0.1
done
left=$(our_pids)
if [ -n "$left" ]; then
    note "mariadbd did not stop within $STOP_TIMEOUT s; killing $left"
    kill -KILL $left 2>/dev/null || true
    sleep 0.2
fi
rm -f "$WORK/run/mariadb.pid"
[ -n "${MARIADB_STUDY_QUIET:-}" ] || note "MariaDB stopped (data $WORK/data)"
