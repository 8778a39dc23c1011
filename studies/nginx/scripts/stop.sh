#!/usr/bin/env bash
# Stop the study's private nginx (the server YAML's stopworkload). Idempotent.
#
# Stops the master named by the pid file and every other nginx process holding a file open
# in this work folder (workers orphaned by a killed master), first with TERM, then after 5 s
# with KILL. Processes of any other nginx are never signalled.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

work_dir || exit 0   # no work folder: nothing of ours can be running

pids=$( { master_pid; our_pids; } | sort -u)
[ -n "$pids" ] || { rm -f "$WORK/logs/nginx.pid"; exit 0; }
kill -TERM $pids 2>/dev/null || true
for _ in $(seq 1 50); do
    left=""
    for p in $pids; do alive "$p" && left="$left $p"; done
    [ -z "$left" ] && break
    sleep 0.1
done
left=$(our_pids)
if [ -n "$left" ]; then
    note "nginx did not stop within 5 s; killing $left"
    kill -KILL $left 2>/dev/null || true
    sleep 0.2
fi
rm -f "$WORK/logs/nginx.pid"
[ -n "${NGINX_STUDY_QUIET:-}" ] || note "nginx stopped (prefix $WORK)"
