#!/usr/bin/env bash
# The study's benchmark (the client YAML's benchmark command): a short wrk run against the
# private nginx on loopback, printing one line the evaluation reads:
#
#   rps 23456.78 requests 70370 non2xx 0 errors 0 seconds 3.00 latency_avg 2.71ms
#
# rps counts successful (2xx/3xx) responses a second; errors are wrk's socket errors.
# Bounded: wrk runs NGINX_STUDY_DURATION seconds (default 3) under `timeout`.
#
# Environment: NGINX_STUDY_DURATION (s, default 3), NGINX_STUDY_THREADS (default 2),
# NGINX_STUDY_CONNECTIONS (default 64), NGINX_STUDY_WRK_TIMEOUT (per request, default 2s).
# Starts nginx first when it is not running (the runner measures the baseline before any
# restart); the raw wrk output of the last run is kept in WORK/logs/wrk-last.txt.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DURATION=${NGINX_STUDY_DURATION:-3}
THREADS=${NGINX_STUDY_THREADS:-2}
CONNS=${NGINX_STUDY_CONNECTIONS:-64}
REQ_TIMEOUT=${NGINX_STUDY_WRK_TIMEOUT:-2s}
for v in DURATION THREADS CONNS; do
    case ${!v} in ''|*[!0-9]*|0) die "$v=${!v}: expected a positive whole number" ;; esac
done
[ "$DURATION" -le 600 ] || die "NGINX_STUDY_DURATION=$DURATION: at most 600 s"
[ -n "$WRK_BIN" ] || die "wrk not found: install it (apt-get install -y wrk)"

work_dir create
if [ -z "$(master_pid)" ]; then
    note "nginx is not running: starting it"
    NGINX_STUDY_QUIET=1 bash "$SCRIPTS/start.sh"
fi
: > "$WORK/logs/access.log"   # keep the disk bounded when access_log is on

raw=$WORK/logs/wrk-last.txt
if ! in_ns timeout -k 2 $((DURATION + 15)) "$WRK_BIN" -t"$THREADS" -c"$CONNS" -d"${DURATION}s" \
        --timeout "$REQ_TIMEOUT" --latency -s "$SCRIPTS/mix.lua" "http://127.0.0.1:$PORT/" \
        > "$raw" 2>&1; then
    die "wrk failed: $(tr '\n' ' ' < "$raw")"
fi

awk '
    / requests in / {   # "113423 requests in 2.00s, 575.12MB read" (1.00m for a minute)
        requests = $1; d = $4; sub(/,$/, "", d)
        unit = d; sub(/^[0-9.]+/, "", unit); secs = d + 0
        if (unit == "ms") secs /= 1000; else if (unit == "m") secs *= 60; else if (unit == "h") secs *= 3600
    }
    /Non-2xx or 3xx responses:/ { non2xx = $NF }
    /Socket errors:/ { gsub(/,/, ""); errors = $4 + $6 + $8 + $10 }
    $1 == "Latency" && avg == "" { avg = $2 }
    END {
        if (secs <= 0) { print "nginx-study: cannot read wrk output" > "/dev/stderr"; exit 1 }
        ok = requests - non2xx
        printf "rps %.2f requests %d non2xx %d errors %d seconds %.2f latency_avg %s\n", \
            ok / secs, requests, non2xx, errors, secs, avg
    }' "$raw"
