#!/usr/bin/env bash
# The study's benchmark (the client YAML's benchmark command): sysbench's OLTP read-write
# transactions against the private server on loopback, printing one line the evaluation reads:
#
#   tps 312.45 qps 6249.10 errors 0.00 seconds 5 threads 8 latency_p95 55.82ms
#
# A transaction is sysbench's oltp_read_write: 10 point selects, 4 range queries (a plain
# range, a SUM, an ORDER BY, a DISTINCT), 2 updates, a delete and an insert, in one commit.
# tps and qps are the means over the per-second reports after the first
# MARIADB_STUDY_WARMUP seconds (default 1): a restarted server starts with a cold buffer pool,
# and the warm-up is not what a running server does (with no warm-up: the whole run's means). errors are the deadlocks and lock waits
# sysbench retried, a second. Bounded: sysbench runs WARMUP + DURATION seconds under `timeout`.
#
# Environment: MARIADB_STUDY_DURATION (s measured, default 5), MARIADB_STUDY_WARMUP (s, 1),
# MARIADB_STUDY_THREADS (client connections, default 8), and those of data.sh (table count
# and size). Starts the server first when it is not running (the runner measures the
# baseline before any restart); the raw sysbench output of the last run is kept in
# WORK/logs/sysbench-last.txt.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$SCRIPTS/data.sh"

DURATION=${MARIADB_STUDY_DURATION:-5}
WARMUP=${MARIADB_STUDY_WARMUP:-1}
THREADS=${MARIADB_STUDY_THREADS:-8}
for v in DURATION THREADS; do
    case ${!v} in ''|*[!0-9]*|0) die "MARIADB_STUDY_$v=${!v}: expected a positive whole number" ;; esac
done
case $WARMUP in ''|*[!0-9]*) die "MARIADB_STUDY_WARMUP=$WARMUP: expected a whole number" ;; esac
[ ${#DURATION} -le 3 ] && [ "$DURATION" -le 600 ] || die "MARIADB_STUDY_DURATION=$DURATION: at most 600 s"
[ ${#WARMUP} -le 3 ] && [ "$WARMUP" -le 600 ] || die "MARIADB_STUDY_WARMUP=$WARMUP: at most 600 s"
[ ${#THREADS} -le 4 ] && [ "$THREADS" -le 1000 ] || die "MARIADB_STUDY_THREADS=$THREADS: at most 1000"
need_sysbench

work_dir create
if [ -z "$(server_pid)" ]; then
    note "MariaDB is not running: starting it"
    MARIADB_STUDY_QUIET=1 bash "$SCRIPTS/start.sh"
fi

raw=$WORK/logs/sysbench-last.txt
total=$((WARMUP + DURATION))
if ! timeout -k 5 $((total + 60)) "$SYSBENCH_BIN" oltp_read_write "${SYSBENCH_ARGS[@]}" \
        --threads="$THREADS" --time="$total" --report-interval=1 run > "$raw" 2>&1; then
    die "sysbench failed: $(grep -m3 -iE 'fatal|error' "$raw" | tr '\n' ' ')"
fi

# Per-second reports: "[ 3s ] thds: 8 tps: 337.35 qps: 6781.78 (r/w/o: ...) lat (ms,95%): 53.85 err/s: 0.00 ...";
# without a warm-up, the totals of the whole run ("transactions: 1645 (272.01 per sec.)"), which
# a run of a second may end before its first report.
awk -v warmup="$WARMUP" -v threads="$THREADS" -v duration="$DURATION" '
    $1 == "[" && $3 == "]" && $4 == "thds:" {
        t = $2; sub(/s$/, "", t)
        if (t + 0 <= warmup) next
        for (i = 4; i < NF; i++) {
            if ($i == "tps:") tps += $(i + 1)
            else if ($i == "qps:") qps += $(i + 1)
            else if ($i == "err/s:") err += $(i + 1)
            else if ($i == "(ms,95%):") { p = $(i + 1) + 0; if (p > p95) p95 = p }
        }
        n++
    }
    $1 == "transactions:" { all_tps = $3; sub(/^\(/, "", all_tps) }
    $1 == "queries:" { all_qps = $3; sub(/^\(/, "", all_qps) }
    $1 == "ignored" && $2 == "errors:" { all_err = $4; sub(/^\(/, "", all_err) }
    $1 == "95th" { all_p95 = $3 }
    END {
        if (warmup == 0 && all_tps != "") {
            printf "tps %.2f qps %.2f errors %.2f seconds %d threads %d latency_p95 %.2fms\n", \
                all_tps, all_qps, all_err, duration, threads, all_p95
            exit 0
        }
        if (n == 0) { print "mariadb-study: no sysbench report after the warm-up" > "/dev/stderr"; exit 1 }
        printf "tps %.2f qps %.2f errors %.2f seconds %d threads %d latency_p95 %.2fms\n", \
            tps / n, qps / n, err / n, n, threads, p95
    }' "$raw"
