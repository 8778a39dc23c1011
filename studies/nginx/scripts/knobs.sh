# The study's nginx knobs (sourced): name, baseline value, allowed values.
#
# The baseline is Debian 12's stock /etc/nginx/nginx.conf with its commented gzip block
# switched on (gzip_comp_level 6 and the usual gzip_types), a setup many servers run.
# nginx_server.yaml declares the search domain; the patterns here are the scripts' own guard
# against a value that would break nginx.conf, not the domain.

KNOBS="worker_processes worker_connections multi_accept reuseport worker_cpu_affinity
access_log sendfile tcp_nopush tcp_nodelay keepalive_requests keepalive_timeout
open_file_cache gzip gzip_comp_level"

knob_default() {
    case $1 in
        worker_processes) echo auto ;;
        worker_connections) echo 768 ;;
        multi_accept) echo off ;;
        reuseport) echo off ;;
        worker_cpu_affinity) echo off ;;
        access_log) echo on ;;
        sendfile) echo on ;;
        tcp_nopush) echo on ;;
        tcp_nodelay) echo on ;;
        keepalive_requests) echo 1000 ;;
        keepalive_timeout) echo 65 ;;
        open_file_cache) echo off ;;
        gzip) echo on ;;
        gzip_comp_level) echo 6 ;;
        *) return 1 ;;
    esac
}

# knob_valid NAME VALUE: whether VALUE can be written into nginx.conf for NAME.
knob_valid() {
    local n=$2
    case $1 in
        worker_processes) [ "$n" = auto ] && return 0 ;;
        multi_accept|reuseport|sendfile|tcp_nopush|tcp_nodelay|open_file_cache)
            case $n in on|off) return 0 ;; *) return 1 ;; esac ;;
        worker_cpu_affinity) case $n in off|auto) return 0 ;; *) return 1 ;; esac ;;
        access_log) case $n in on|off|buffered) return 0 ;; *) return 1 ;; esac ;;
        gzip) case $n in on|off|static) return 0 ;; *) return 1 ;; esac ;;
    esac
    case $n in ''|*[!0-9]*) return 1 ;; esac
    [ ${#n} -le 6 ] || return 1
    n=$((10#$n))
    case $1 in
        worker_processes) [ "$n" -ge 1 ] && [ "$n" -le 64 ] ;;
        worker_connections) [ "$n" -ge 16 ] && [ "$n" -le 65535 ] ;;
        keepalive_requests) [ "$n" -ge 1 ] && [ "$n" -le 1000000 ] ;;
        keepalive_timeout) [ "$n" -ge 0 ] && [ "$n" -le 3600 ] ;;
        gzip_comp_level) [ "$n" -ge 1 ] && [ "$n" -le 9 ] ;;
        *) return 1 ;;
    esac
}

# knob_value NAME: the value in force: params.env in the work folder, else the baseline.
knob_value() {
    local line
    if [ -n "${WORK:-}" ] && [ -f "$WORK/params.env" ]; then
        line=$(grep -m1 "^$1=" "$WORK/params.env" || true)
        if [ -n "$line" ]; then echo "${line#*=}"; return 0; fi
    fi
    knob_default "$1"
}
