#!/bin/sh
# Toy service: get_kv.sh KEY prints the value of KEY in service.conf.
sed -n "s/^$1=//p" service.conf
