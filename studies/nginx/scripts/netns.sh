#!/usr/bin/env bash
# Create or delete the network namespace the netns variant of the study runs in (root only).
#
#   netns.sh up       make namespace $NGINX_STUDY_NETNS (default nginx-study) with lo up
#   netns.sh down     stop the study's nginx in it and delete it (its sysctls go with it)
#   netns.sh status   say whether it exists
#
# The namespace has only a loopback interface: nothing in it can reach another host, and
# the net.* sysctls tuned in it (ns.sh sysctl) are its own, never the host's.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NETNS=${NGINX_STUDY_NETNS:-nginx-study}
case $NETNS in ''|*[!A-Za-z0-9_-]*) die "NGINX_STUDY_NETNS=$NETNS: use letters, digits, _ and -" ;; esac
exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$NETNS"; }

case ${1:-} in
    up)
        [ "$(id -u)" = 0 ] || die "making a network namespace needs root"
        command -v ip >/dev/null || die "ip not found: apt-get install -y iproute2"
        exists || ip netns add "$NETNS"
        ip netns exec "$NETNS" ip link set lo up
        note "network namespace $NETNS is up (loopback only)"
        ;;
    down)
        if exists; then
            NGINX_STUDY_NETNS=$NETNS bash "$SCRIPTS/ns.sh" stop || true
            ip netns del "$NETNS"
            note "network namespace $NETNS deleted"
        fi
        ;;
    status)
        if exists; then echo "$NETNS: up"; else echo "$NETNS: absent"; exit 1; fi
        ;;
    *) die "usage: netns.sh up | down | status" ;;
esac
