#!/bin/sh
# Toy benchmark: numbers that depend deterministically on the configuration.
#   workers (needs a restart) is read from running.conf, the rest from service.conf.
#   rps     = 1000 - 10 (workers - 6)^2 - 5 ((cache - 512) / 64)^2 + bonus(mode) - 100 (ratio - 0.3)^2
#             bonus: safe 0, fast 40, "very fast" 60  -> optimum 1060 at 6, 512, very fast, 0.3
#   latency = 20 + 2 (workers - 4)^2 + cache / 64 + (mode == safe ? 0 : 3)
# Failure hooks: workers=1 crashes (exit 3); cache=1024 prints "n/a" for both metrics;
# a file hang_at holding N makes the N-th benchmark call sleep (its pid in the file hanging).
echo bench >> bench.log
n=$(wc -l < bench.log)
if [ -f hang_at ] && [ "$n" -eq "$(cat hang_at)" ]; then echo $$ > hanging; sleep 60; fi
workers=$(sed -n 's/^workers=//p' running.conf)
cache=$(sed -n 's/^cache=//p' service.conf)
mode=$(sed -n 's/^mode=//p' service.conf)
ratio=$(sed -n 's/^ratio=//p' service.conf)
if [ "$workers" = 1 ]; then echo "toy: service crashed with one worker" >&2; exit 3; fi
if [ "$cache" = 1024 ]; then echo "TIMING: requests 5000 rps n/a"; echo "latency_ms: n/a"; exit 0; fi
awk -v w="$workers" -v c="$cache" -v m="$mode" -v r="$ratio" 'BEGIN {
  bonus = (m == "fast") ? 40 : ((m == "very fast") ? 60 : 0)
  rps = 1000 - 10 * (w - 6) ^ 2 - 5 * ((c - 512) / 64) ^ 2 + bonus - 100 * (r - 0.3) ^ 2
  lat = 20 + 2 * (w - 4) ^ 2 + c / 64 + ((m == "safe") ? 0 : 3)
  printf "TIMING: requests 5000 rps %.3f\n", rps
  printf "latency_ms: %.3f\n", lat
}'
