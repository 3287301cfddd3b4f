#!/usr/bin/env bash
# The kernel's CPU floor for `callsim load --calibrate`'s traffic beside callsim's own figure, in
# one session: for each call count, REPEAT runs of each, the minimum CPU ms per call-second quoted
# (the machine may be shared; contention only ever adds CPU time, so the minimum is the figure).
#
#   bench/floor.sh                         # 500, 1000, 2000 calls, 3 runs each (about 9 minutes)
#   CALLS="1000" REPEAT=1 bench/floor.sh   # one quick look
#
# The floor is `sim/examples/kernel_floor.rs` (one socket per call, one write per 20 ms frame,
# epoll, no runtime, no codec): generator thread on core 0, its raw echo thread on core 1.
# callsim runs as bench/run.sh runs it (`--calibrate --ladder N,N`, step 2 quoted) against the
# Node `ws` raw echo on core 1 (ECHO=callsim: callsim's own `--serve-echo` instead).
# Raw lines and reports land in $OUT (default bench/out/floor).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/bench/out/floor}
ANCHOR=${ANCHOR:-$ROOT/../shared/bench/node-anchor}
NODE_DIR=${NODE_DIR:-$ROOT/bench/out/node}
CALLS=${CALLS:-"500 1000 2000"}
REPEAT=${REPEAT:-3}
SECS=${SECS:-8}
RATE=${RATE:-200}
ECHO=${ECHO:-node}
mkdir -p "$OUT"

(cd "$ROOT" && cargo build --release -q -p sim --bin callsim --example kernel_floor)
CALLSIM="$ROOT/target/release/callsim"
FLOOR="$ROOT/target/release/examples/kernel_floor"

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
wait_port() { for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; return 1; }
json() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
# The minimum of the first fields of the lines on stdin, and the whole line it came from.
min_line() { sort -g | head -1; }

if [[ "$ECHO" == node ]]; then
  if [[ ! -d "$NODE_DIR/node_modules/ws" ]]; then
    mkdir -p "$NODE_DIR"
    (cd "$NODE_DIR" && npm install --no-audit --no-fund ws@8 bufferutil utf-8-validate >/dev/null)
  fi
  NODE_PATH="$NODE_DIR/node_modules" taskset -c 1 node "$ANCHOR/server.js" --role rawecho --port 9101 >/dev/null & PIDS+=($!)
else
  taskset -c 1 "$CALLSIM" load --serve-echo 127.0.0.1:9101 >/dev/null 2>&1 & PIDS+=($!)
fi
wait_port 9101

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), echo for callsim: $ECHO" | tee "$OUT/summary.txt"
printf '%6s  %-26s %-26s %-26s %-30s %7s\n' calls "floor" "floor, reads to EAGAIN" "floor, sends only" "callsim load (late p99)" ratio | tee -a "$OUT/summary.txt"
for n in $CALLS; do
  : > "$OUT/floor-$n.txt"; : > "$OUT/floor-eagain-$n.txt"; : > "$OUT/floor-send-$n.txt"; : > "$OUT/callsim-$n.txt"
  for r in $(seq "$REPEAT"); do
    for variant in "floor:" "floor-eagain:--read-until-wouldblock" "floor-send:--send-only"; do
      name=${variant%%:*}; flag=${variant#*:}
      # shellcheck disable=SC2086 # $flag is one flag or none
      "$FLOOR" --calls "$n" --secs "$SECS" --warmup 2 --client-cpu 0 --echo-cpu 1 $flag > "$OUT/$name-$n-$r.raw"
      # "generator thread: 0.455 ms CPU per call-second (user 0.019 + sys 0.436), ..."
      sed -n 's/^generator thread: \([0-9.]*\) ms CPU per call-second (user \([0-9.]*\) + sys \([0-9.]*\)).*/\1 (user \2 + sys \3)/p' \
        "$OUT/$name-$n-$r.raw" >> "$OUT/$name-$n.txt"
    done
    ramp=$(( n / RATE + 3 ))
    step=$(( ramp > SECS ? ramp : SECS ))
    hold=$(( 2 * step + 5 ))
    taskset -c 0 "$CALLSIM" -q load --calibrate --echo-url ws://127.0.0.1:9101/ --ladder "$n,$n" --step "${step}s" \
      --rate "$RATE" --hold "${hold}s" --generator-cpu 0 --json "$OUT/callsim-$n-$r.json" >/dev/null 2>&1 || true
    json "$OUT/callsim-$n-$r.json" "'%.3f (%.2f ms)' % (r['steps'][1]['generator'][0]['cpu_ms_per_call_second'], r['steps'][1]['latency_ms']['frame_lateness']['p99'])" \
      >> "$OUT/callsim-$n.txt"
  done
  floor=$(min_line < "$OUT/floor-$n.txt")
  callsim=$(min_line < "$OUT/callsim-$n.txt")
  ratio=$(python3 -c "print('%.2f' % (float('${callsim%% *}') / float('${floor%% *}')))")
  printf '%6s  %-26s %-26s %-26s %-30s %7s\n' "$n" "$floor" "$(min_line < "$OUT/floor-eagain-$n.txt")" \
    "$(min_line < "$OUT/floor-send-$n.txt")" "$callsim" "${ratio}x" | tee -a "$OUT/summary.txt"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/summary.txt"
