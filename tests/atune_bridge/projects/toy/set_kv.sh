#!/bin/sh
# Toy service: set_kv.sh KEY VALUE writes KEY=VALUE into service.conf and logs it to set.log.
# Exactly two arguments: a value of several words must arrive quoted, as one argument.
[ "$#" -eq 2 ] || { echo "set_kv.sh: expected KEY VALUE, got $# arguments: $*" >&2; exit 2; }
grep -v "^$1=" service.conf > service.conf.tmp
echo "$1=$2" >> service.conf.tmp
mv service.conf.tmp service.conf
echo "$1=$2" >> set.log
