# Shared by the study's scripts (sourced, not run). Resolves the work folder and guards it.
#
# Environment:
#   NGINX_STUDY_DIR    work folder (default: studies/nginx/work). Everything the study writes
#                      lives there; a folder that exists, is not empty and was not made by the
#                      study is refused.
#   NGINX_STUDY_PORT   loopback port nginx listens on (default 18080)
#   NGINX_STUDY_NETNS  network namespace to run nginx and wrk in (set by ns.sh; default none)
#   NGINX_BIN, WRK_BIN the binaries (default: nginx and wrk from PATH, /usr/sbin, /usr/bin)

set -euo pipefail

STUDY_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
SCRIPTS=$STUDY_HOME/scripts
PORT=${NGINX_STUDY_PORT:-18080}
NETNS=${NGINX_STUDY_NETNS:-}
MARKER=.nginx-study-work

die() { echo "nginx-study: $*" >&2; exit 1; }
note() { echo "nginx-study: $*" >&2; }

case $PORT in
    ''|*[!0-9]*) die "NGINX_STUDY_PORT=$PORT is not a port number" ;;
esac
[ "$PORT" -ge 1024 ] && [ "$PORT" -le 65535 ] || die "NGINX_STUDY_PORT=$PORT: use 1024..65535 (no root needed)"

find_bin() {  # find_bin NAME: the binary from PATH or the usual Debian places
    command -v "$1" 2>/dev/null || { for d in /usr/sbin /usr/bin /sbin; do
        [ -x "$d/$1" ] && { echo "$d/$1"; return 0; }; done; return 1; }
}
NGINX_BIN=${NGINX_BIN:-$(find_bin nginx || true)}
WRK_BIN=${WRK_BIN:-$(find_bin wrk || true)}

# Commands that must run inside the study's namespace when there is one.
in_ns() {
    if [ -n "$NETNS" ]; then ip netns exec "$NETNS" "$@"; else "$@"; fi
}

# work_dir [create]: set WORK to the absolute work folder. With "create", make it (and its
# marker) when missing or empty; refuse a folder the study did not make.
work_dir() {
    local raw=${NGINX_STUDY_DIR:-$STUDY_HOME/work}
    if [ "${1:-}" = create ]; then
        mkdir -p -- "$raw"
    elif [ ! -d "$raw" ]; then
        WORK=$raw; return 1
    fi
    WORK=$(cd -- "$raw" && pwd -P)
    case $WORK in
        *[!A-Za-z0-9._/+-]*) die "work folder $WORK: use only letters, digits and ._/+- in its path (it goes into nginx.conf)" ;;
    esac
    if [ ! -e "$WORK/$MARKER" ]; then
        if [ -n "$(ls -A -- "$WORK")" ]; then
            die "refusing to use $WORK: it is not empty and has no $MARKER (not made by this study)"
        fi
        [ "${1:-}" = create ] || return 1
        echo "made by studies/nginx; safe to delete when nginx is stopped" > "$WORK/$MARKER"
    fi
    mkdir -p "$WORK/conf" "$WORK/html" "$WORK/logs" "$WORK/tmp"
}

# our_pids: nginx processes (master and workers, orphans included) that hold a file open
# inside this work folder. That is how a stale run is recognised without a pid file.
our_pids() {
    local p exe fd
    for p in /proc/[0-9]*; do
        exe=$(readlink "$p/exe" 2>/dev/null) || continue
        case $exe in */nginx|*/nginx\ \(deleted\)) ;; *) continue ;; esac
        for fd in "$p"/fd/*; do
            case $(readlink "$fd" 2>/dev/null) in
                "$WORK"/*) echo "${p#/proc/}"; break ;;
            esac
        done
    done
}

# alive PID: the process exists and is not a zombie waiting to be reaped.
alive() {
    local state
    state=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# master_pid: the pid in the pid file when that process is alive and ours, else nothing.
master_pid() {
    local pid
    [ -s "$WORK/logs/nginx.pid" ] || return 0
    pid=$(tr -dc 0-9 < "$WORK/logs/nginx.pid")
    [ -n "$pid" ] || return 0
    # Not `our_pids | grep -q`: grep quitting early would fail the pipeline under pipefail.
    case " $(our_pids | tr '\n' ' ') " in *" $pid "*) echo "$pid" ;; esac
}
