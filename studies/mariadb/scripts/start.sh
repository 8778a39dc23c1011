#!/usr/bin/env bash
# Start the study's private MariaDB server (the server YAML's startworkload).
#
# Renders WORK/conf/my.cnf from the knobs (param.sh), stops any server still running from
# this work folder (also an orphan of a killed run, whatever the pid file says), makes the
# data directory on first use (mariadb-install-db, then sysbench's database and account),
# empties the binary log, and starts mariadbd with only that my.cnf (--defaults-file: the
# system's /etc/mysql is never read), its own data directory, socket, pid file and logs,
# listening on 127.0.0.1:$MARIADB_STUDY_PORT only. Waits until it answers, then loads the
# sysbench tables once (data.sh). No root needed; the system's MariaDB (/var/lib/mysql,
# /run/mysqld, port 3306) is never touched.
#
# Environment: MARIADB_STUDY_START_TIMEOUT (s to wait for the server, default 120; a larger
# redo log or a crash recovery takes longer), and those of common.sh and data.sh.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$SCRIPTS/knobs.sh"
source "$SCRIPTS/data.sh"

need_server
work_dir create
START_TIMEOUT=${MARIADB_STUDY_START_TIMEOUT:-120}
case $START_TIMEOUT in ''|*[!0-9]*|0) die "MARIADB_STUDY_START_TIMEOUT=$START_TIMEOUT: expected a positive whole number" ;; esac

for k in $KNOBS; do
    v=$(knob_value "$k")
    knob_valid "$k" "$v" || die "$WORK/params.env: value '$v' is not allowed for $k"
    printf -v "K_$k" '%s' "$v"
done

user=""
if [ "$(id -u)" = 0 ]; then
    # mariadbd refuses to run as root unless told to; run it as the work folder's owner.
    user="user=$(stat -c %U "$WORK")"
fi

cat > "$CNF.tmp" <<CONF
# Rendered by studies/mariadb/scripts/start.sh from params.env; edits are overwritten.
[mariadbd]
$user
datadir=$WORK/data
socket=$SOCKET
pid-file=$WORK/run/mariadb.pid
port=$PORT
bind-address=127.0.0.1
skip-name-resolve
log-error=$WORK/logs/error.log
tmpdir=$WORK/tmp
character-set-server=utf8mb4
collation-server=utf8mb4_general_ci
# the binary log, as a server that is backed up or replicated keeps it
log-bin=$WORK/binlog/mariadb-bin
server-id=1

# the tuned knobs
innodb_buffer_pool_size=$K_innodb_buffer_pool_size
innodb_log_buffer_size=$K_innodb_log_buffer_size
innodb_log_file_size=$K_innodb_log_file_size
innodb_flush_method=$K_innodb_flush_method
innodb_flush_log_at_trx_commit=$K_innodb_flush_log_at_trx_commit
innodb_doublewrite=$K_innodb_doublewrite
innodb_io_capacity=$K_innodb_io_capacity
innodb_adaptive_hash_index=$K_innodb_adaptive_hash_index
sync_binlog=$K_sync_binlog
thread_cache_size=$K_thread_cache_size
table_open_cache=$K_table_open_cache
sort_buffer_size=$K_sort_buffer_size
read_buffer_size=$K_read_buffer_size
read_rnd_buffer_size=$K_read_rnd_buffer_size
max_heap_table_size=$K_max_heap_table_size
max_connections=$K_max_connections
CONF
mv -f "$CNF.tmp" "$CNF"

# A running server of this work folder is replaced (a restart: the runner asks for one
# after changing a knob).
MARIADB_STUDY_QUIET=1 bash "$SCRIPTS/stop.sh"
rm -f "$WORK/run/mariadb.pid" "$SOCKET"

if [ ! -d "$WORK/data/mysql" ]; then
    init_datadir
fi
# Nothing replicates from this server: each start begins a fresh binary log so that its
# size stays bounded over hundreds of trials.
rm -f "$WORK"/binlog/mariadb-bin.*

# setsid: the server leaves the runner's process group, so ending a command never ends it.
setsid "$MARIADBD_BIN" --defaults-file="$CNF" </dev/null >>"$WORK/logs/mariadbd.out" 2>&1 &
launched=$!

waited=0
until [ -S "$SOCKET" ] && sql "SELECT 1" >/dev/null 2>&1; do
    if ! alive "$launched" && [ -z "$(server_pid)" ]; then
        die "mariadbd exited at start: $(tail -n 5 "$WORK/logs/error.log" 2>/dev/null | tr '\n' ' ')"
    fi
    [ "$waited" -lt $((START_TIMEOUT * 10)) ] ||
        die "mariadbd does not answer on 127.0.0.1:$PORT after ${START_TIMEOUT} s (port busy?); see $WORK/logs/error.log"
    sleep 0.1
    waited=$((waited + 1))
done
[ "$(sql "SELECT @@datadir")" = "$WORK/data/" ] ||
    die "another server answers on 127.0.0.1:$PORT (not ours: data directory $(sql "SELECT @@datadir")); set MARIADB_STUDY_PORT"

ensure_tables
[ -n "${MARIADB_STUDY_QUIET:-}" ] || note "MariaDB up on 127.0.0.1:$PORT (pid $(server_pid), data $WORK/data)"
