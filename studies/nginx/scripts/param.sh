#!/usr/bin/env bash
# Read or write one nginx knob of the study: the server YAML's get and set commands.
#
#   param.sh get NAME          print the value in force (params.env, else the baseline)
#   param.sh set NAME VALUE    write it to WORK/params.env (start.sh renders nginx.conf from it)
#   param.sh list              print every knob as name=value
#   param.sh reset             forget every set value (back to the baseline)
#
# Nothing is applied to a running nginx here: every knob has needrestart "true", so the
# runner calls stop.sh and start.sh after changing one.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$SCRIPTS/knobs.sh"

usage() { die "usage: param.sh get NAME | set NAME VALUE | list | reset"; }
known() { knob_default "$1" >/dev/null || die "unknown knob '$1' (known: $(echo $KNOBS))"; }

cmd=${1:-}; shift || true
case $cmd in
    get)
        [ $# -eq 1 ] || usage
        known "$1"
        work_dir || true
        knob_value "$1"
        ;;
    set)
        [ $# -eq 2 ] || usage
        known "$1"
        knob_valid "$1" "$2" || die "value '$2' is not allowed for $1"
        work_dir create
        tmp=$WORK/params.env.tmp.$$
        { [ -f "$WORK/params.env" ] && grep -v "^$1=" "$WORK/params.env" || true; echo "$1=$2"; } > "$tmp"
        mv -f "$tmp" "$WORK/params.env"
        ;;
    list)
        [ $# -eq 0 ] || usage
        work_dir || true
        for k in $KNOBS; do echo "$k=$(knob_value "$k")"; done
        ;;
    reset)
        [ $# -eq 0 ] || usage
        if work_dir; then rm -f "$WORK/params.env"; fi
        ;;
    *) usage ;;
esac
