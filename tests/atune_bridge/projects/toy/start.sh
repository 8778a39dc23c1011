#!/bin/sh
# Toy service: "starting" it loads service.conf into running.conf (what restart-only
# parameters are read from) and records the start.
cp service.conf running.conf
echo start >> restarts.log
