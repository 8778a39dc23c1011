# Shared by the study's scripts (sourced, not run). Resolves the work folder and guards it.
#
# Environment:
#   MARIADB_STUDY_DIR   work folder (default: studies/mariadb/work). Everything the study
#                       writes lives there: the data directory, socket, pid file, logs, binary
#                       logs. A folder that exists, is not empty and was not made by the study
#                       is refused.
#   MARIADB_STUDY_PORT  loopback TCP port the server listens on (default 13306)
#   MARIADBD_BIN, MARIADB_INSTALL_DB_BIN, MARIADB_BIN, SYSBENCH_BIN
#                       the binaries (default: from PATH, /usr/sbin, /usr/bin)

set -euo pipefail

STUDY_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
SCRIPTS=$STUDY_HOME/scripts
PORT=${MARIADB_STUDY_PORT:-13306}
MARKER=.mariadb-study-work
# sysbench's account on the private server (TCP on 127.0.0.1 only); not a secret.
DB_NAME=sbtest
DB_USER=sbtest
DB_PASSWORD=sbtest

die() { echo "mariadb-study: $*" >&2; exit 1; }
note() { echo "mariadb-study: $*" >&2; }

case $PORT in
    ''|*[!0-9]*) die "MARIADB_STUDY_PORT=$PORT is not a port number" ;;
esac
[ ${#PORT} -le 5 ] && [ "$PORT" -ge 1024 ] && [ "$PORT" -le 65535 ] ||
    die "MARIADB_STUDY_PORT=$PORT: use 1024..65535 (no root needed)"

find_bin() {  # find_bin NAME...: the first of the binaries found in PATH or the usual Debian places
    local name d
    for name in "$@"; do
        command -v "$name" 2>/dev/null && return 0
        for d in /usr/sbin /usr/bin /sbin; do
            [ -x "$d/$name" ] && { echo "$d/$name"; return 0; }
        done
    done
    return 1
}
MARIADBD_BIN=${MARIADBD_BIN:-$(find_bin mariadbd mysqld || true)}
MARIADB_INSTALL_DB_BIN=${MARIADB_INSTALL_DB_BIN:-$(find_bin mariadb-install-db mysql_install_db || true)}
MARIADB_BIN=${MARIADB_BIN:-$(find_bin mariadb mysql || true)}
SYSBENCH_BIN=${SYSBENCH_BIN:-$(find_bin sysbench || true)}

need_server() {
    [ -n "$MARIADBD_BIN" ] && [ -n "$MARIADB_INSTALL_DB_BIN" ] && [ -n "$MARIADB_BIN" ] ||
        die "MariaDB not found: install it (apt-get install -y mariadb-server)"
}
need_sysbench() {
    [ -n "$SYSBENCH_BIN" ] || die "sysbench not found: install it (apt-get install -y sysbench)"
}

# work_dir [create]: set WORK to the absolute work folder. With "create", make it (and its
# marker) when missing or empty; refuse a folder the study did not make.
work_dir() {
    local raw=${MARIADB_STUDY_DIR:-$STUDY_HOME/work}
    if [ "${1:-}" = create ]; then
        mkdir -p -- "$raw"
    elif [ ! -d "$raw" ]; then
        WORK=$raw; return 1
    fi
    WORK=$(cd -- "$raw" && pwd -P)
    case $WORK in
        *[!A-Za-z0-9._/+-]*) die "work folder $WORK: use only letters, digits and ._/+- in its path (it goes into my.cnf)" ;;
    esac
    # A Unix socket path holds at most 107 bytes; WORK/run/mariadb.sock must fit.
    [ ${#WORK} -le 80 ] || die "work folder $WORK: path longer than 80 characters (the server's socket lives in it); set MARIADB_STUDY_DIR to a shorter one"
    if [ ! -e "$WORK/$MARKER" ]; then
        if [ -n "$(ls -A -- "$WORK")" ]; then
            die "refusing to use $WORK: it is not empty and has no $MARKER (not made by this study)"
        fi
        [ "${1:-}" = create ] || return 1
        echo "made by studies/mariadb; safe to delete when the server is stopped" > "$WORK/$MARKER"
    fi
    mkdir -p "$WORK/conf" "$WORK/data" "$WORK/run" "$WORK/logs" "$WORK/tmp" "$WORK/binlog"
    SOCKET=$WORK/run/mariadb.sock
    CNF=$WORK/conf/my.cnf
}

# our_pids: server processes started with this work folder's my.cnf (orphans included).
# That is how a stale run is recognised without trusting a pid file. The pattern goes to grep
# from a file, so that grep's own command line never matches it.
our_pids() {
    local f p
    for f in $(grep -lzxF -f <(printf -- '--defaults-file=%s\n' "$WORK/conf/my.cnf") /proc/[0-9]*/cmdline 2>/dev/null); do
        p=${f#/proc/}; p=${p%/cmdline}
        alive "$p" && echo "$p"
    done
    return 0
}

# alive PID: the process exists and is not a zombie waiting to be reaped.
alive() {
    local state
    state=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# server_pid: the running server of this work folder, else nothing.
server_pid() {
    our_pids | head -n 1
}

# sql STATEMENTS: run SQL as sysbench's account over TCP (no root account needed).
sql() {
    "$MARIADB_BIN" --no-defaults --protocol=tcp -h 127.0.0.1 -P "$PORT" -u "$DB_USER" \
        -p"$DB_PASSWORD" --batch --skip-column-names -e "$1" "$DB_NAME"
}
