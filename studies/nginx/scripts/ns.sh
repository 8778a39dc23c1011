#!/usr/bin/env bash
# The study's scripts inside the network namespace made by netns.sh (the commands of
# nginx_server_netns.yaml and nginx_client_netns.yaml):
#
#   ns.sh start | stop | bench          start.sh, stop.sh, bench.sh with nginx and wrk run
#                                       under `ip netns exec` on the namespace's 127.0.0.1
#   ns.sh param get|set|list|reset ...  param.sh (the work folder defaults to work-netns)
#   ns.sh sysctl get NAME               a net.* sysctl as the namespace sees it
#   ns.sh sysctl set NAME VALUE         written inside the namespace only
#
# NAME is one of the per-namespace sysctls listed below, or lo.mtu (the namespace's loopback
# MTU). Every command that touches the namespace first checks that it exists and that it
# is not the host's own network namespace, so a missing namespace can never turn a set into
# a change of the host.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

export NGINX_STUDY_NETNS=${NGINX_STUDY_NETNS:-nginx-study}
export NGINX_STUDY_DIR=${NGINX_STUDY_DIR:-$STUDY_HOME/work-netns}
NETNS=$NGINX_STUDY_NETNS
case $NETNS in ''|*[!A-Za-z0-9_-]*) die "NGINX_STUDY_NETNS=$NETNS: use letters, digits, _ and -" ;; esac

# Sysctls that are per network namespace on Linux >= 4.15 (the rest of net.core is global).
SYSCTLS="net.core.somaxconn net.ipv4.tcp_max_syn_backlog net.ipv4.tcp_tw_reuse
net.ipv4.tcp_fin_timeout net.ipv4.tcp_rmem net.ipv4.tcp_wmem net.ipv4.ip_local_port_range
net.ipv4.tcp_slow_start_after_idle net.ipv4.tcp_autocorking net.ipv4.tcp_notsent_lowat"

require_ns() {
    ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$NETNS" ||
        die "network namespace $NETNS does not exist: run studies/nginx/scripts/netns.sh up"
    local host inner
    host=$(readlink /proc/self/ns/net)
    inner=$(ip netns exec "$NETNS" readlink /proc/self/ns/net) || die "cannot enter namespace $NETNS"
    [ -n "$inner" ] && [ "$inner" != "$host" ] || die "namespace $NETNS is the host's network namespace; refusing"
}

sysctl_known() {
    [ "$1" = lo.mtu ] && return 0
    case " $(echo $SYSCTLS) " in *" $1 "*) return 0 ;; esac
    die "sysctl '$1' is not tuned by the study (known: lo.mtu $(echo $SYSCTLS))"
}

cmd=${1:-}; shift || true
case $cmd in
    start|bench) require_ns; exec bash "$SCRIPTS/$cmd.sh" "$@" ;;
    stop|param) exec bash "$SCRIPTS/$cmd.sh" "$@" ;;
    sysctl)
        op=${1:-}; name=${2:-}
        sysctl_known "$name"
        require_ns
        case $op in
            get)
                [ $# -eq 2 ] || die "usage: ns.sh sysctl get NAME"
                if [ "$name" = lo.mtu ]; then
                    ip netns exec "$NETNS" cat /sys/class/net/lo/mtu
                else
                    ip netns exec "$NETNS" sysctl -n "$name" | tr -s ' \t' '  '
                fi
                ;;
            set)
                [ $# -eq 3 ] || die "usage: ns.sh sysctl set NAME VALUE"
                value=$3
                case $value in ''|*[!0-9\ ]*) die "value '$value' for $name: expected numbers" ;; esac
                if [ "$name" = lo.mtu ]; then
                    ip netns exec "$NETNS" ip link set dev lo mtu "$value"
                else
                    ip netns exec "$NETNS" sysctl -q -w "$name=$value"
                fi
                ;;
            *) die "usage: ns.sh sysctl get NAME | set NAME VALUE" ;;
        esac
        ;;
    *) die "usage: ns.sh start|stop|bench|param ...|sysctl get|set ..." ;;
esac
