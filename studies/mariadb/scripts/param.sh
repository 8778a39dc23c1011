#!/usr/bin/env bash
# Read or write one MariaDB knob of the study: the server YAML's get and set commands.
#
#   param.sh get NAME          print the value in force (params.env, else the baseline)
#   param.sh set NAME VALUE    write it to WORK/params.env (start.sh renders my.cnf from it)
#   param.sh list              print every knob as name=value
#   param.sh reset             forget every set value (back to the baseline)
#   param.sh save              keep the values in force in WORK/params.saved (run.sh, before
#                              tuning); a copy already there is kept: it is older, from a run
#                              that was killed before it could restore
#   param.sh restore           put the saved values back and forget the copy (run.sh, on exit)
#
# Nothing is applied to a running server here: every knob has needrestart "true", so the
# runner calls stop.sh and start.sh after changing one.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
source "$SCRIPTS/knobs.sh"

usage() { die "usage: param.sh get NAME | set NAME VALUE | list | reset | save | restore"; }
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
    save)
        [ $# -eq 0 ] || usage
        work_dir create
        [ -e "$WORK/params.saved" ] && exit 0
        # "#none" stands for no params.env at all (every knob at its baseline).
        { if [ -f "$WORK/params.env" ]; then cat "$WORK/params.env"; else echo "#none"; fi; } > "$WORK/params.saved.tmp"
        mv -f "$WORK/params.saved.tmp" "$WORK/params.saved"
        ;;
    restore)
        [ $# -eq 0 ] || usage
        work_dir || exit 0
        [ -e "$WORK/params.saved" ] || exit 0
        if [ "$(cat "$WORK/params.saved")" = "#none" ]; then
            rm -f "$WORK/params.env"
        else
            cp "$WORK/params.saved" "$WORK/params.env.tmp" && mv -f "$WORK/params.env.tmp" "$WORK/params.env"
        fi
        rm -f "$WORK/params.saved"
        ;;
    *) usage ;;
esac
