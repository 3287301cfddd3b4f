#!/usr/bin/env bash
# Reproduces the `callsim load` figures on this machine: the generator pinned to core 0, the
# target on core 1, and the Node `ws` anchor (../shared/bench/node-anchor) in the same session.
#
#   bench/run.sh            # the full run (about 6 minutes)
#   QUICK=1 bench/run.sh    # a short version (about 2 minutes)
#
# Needs: taskset, node, and the `ws` package in $NODE_DIR (npm install ws@8 bufferutil
# utf-8-validate). Writes every report and raw line to $OUT (default bench/out) and prints a
# summary table; bench/README.md quotes what it printed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$ROOT/bench/out}
ANCHOR=${ANCHOR:-$ROOT/../shared/bench/node-anchor}
NODE_DIR=${NODE_DIR:-$OUT/node}
if [[ -n "${QUICK:-}" ]]; then
  ECHO_CALLS=${ECHO_CALLS:-"500 1000 2000"}
  NODE_CALLS=${NODE_CALLS:-"600"}
  REF_LADDER=${REF_LADDER:-"10,100,200"}
  WINDOW=${WINDOW:-8}
  STEP=${STEP:-12s}
else
  ECHO_CALLS=${ECHO_CALLS:-"1000 2000 4000"}
  NODE_CALLS=${NODE_CALLS:-"600 800"}
  REF_LADDER=${REF_LADDER:-"10,200,500,1000,2000"}
  WINDOW=${WINDOW:-15}
  STEP=${STEP:-20s}
fi
RATE=${RATE:-200}
mkdir -p "$OUT"

if [[ ! -d "$NODE_DIR/node_modules/ws" ]]; then
  mkdir -p "$NODE_DIR"
  (cd "$NODE_DIR" && npm install --no-audit --no-fund ws@8 bufferutil utf-8-validate >/dev/null)
fi
export NODE_PATH="$NODE_DIR/node_modules"

(cd "$ROOT" && cargo build --release -q -p sim -p server-under-test)
CALLSIM="$ROOT/target/release/callsim"
SERVER="$ROOT/target/release/call-server"

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
wait_port() { for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; return 1; }
json() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/summary.txt"

# 1. The cheapest target: Node's raw echo on core 1, driven by callsim and by the Node generator
#    on core 0. callsim runs a two-step ladder of the same size: step 1 is the ramp at $RATE
#    calls/s, step 2 the steady-state window that is quoted.
taskset -c 1 node "$ANCHOR/server.js" --role rawecho --port 9101 >/dev/null & PIDS+=($!)
wait_port 9101
printf '\n%-28s %7s %9s %9s %9s %9s %12s %10s %9s\n' generator calls late_p50 late_p99 late_max rtt_p99 sent/expect cpu_ms/cs rss_KiB/call | tee -a "$OUT/summary.txt"
for n in $ECHO_CALLS; do
  ramp=$(( n / RATE + 3 ))
  step=$(( ramp > WINDOW ? ramp : WINDOW ))
  hold=$(( 2 * step + 5 ))
  taskset -c 0 "$CALLSIM" -q load --calibrate --echo-url ws://127.0.0.1:9101/ --ladder "$n,$n" --step "${step}s" \
    --rate "$RATE" --hold "${hold}s" --generator-cpu 0 --json "$OUT/echo-callsim-$n.json" >/dev/null 2>&1 || true
  json "$OUT/echo-callsim-$n.json" "'%-28s %7d %9.2f %9.2f %9.2f %9.2f %12s %10.3f %9.1f' % ('callsim load', $n, r['steps'][1]['latency_ms']['frame_lateness']['p50'], r['steps'][1]['latency_ms']['frame_lateness']['p99'], r['steps'][1]['latency_ms']['frame_lateness']['max'], r['steps'][1]['latency_ms'].get('echo_rtt',{}).get('p99',-1), '%d/%d' % (r['steps'][1]['counts']['frames_sent'], $n*50*r['steps'][1]['duration_s']), r['steps'][1]['generator'][0]['cpu_ms_per_call_second'], r['steps'][1]['generator'][0]['rss_kib']/$n)" | tee -a "$OUT/summary.txt"
done
for n in $NODE_CALLS; do
  taskset -c 0 node "$ANCHOR/gen.js" --url ws://127.0.0.1:9101 --calls "$n" --rate "$RATE" --warmup 3 --window "$WINDOW" \
    > "$OUT/echo-node-$n.txt" 2>&1 || true
  tail -1 "$OUT/echo-node-$n.txt" > "$OUT/echo-node-$n.json"
  json "$OUT/echo-node-$n.json" "'%-28s %7d %9.2f %9.2f %9.2f %9.2f %12s %10s %9s' % ('node ws (anchor)', r['calls'], r['late_ms']['p50'], r['late_ms']['p99'], r['late_ms']['max'], r['rtt_ms']['p99'], '%d/%d per s' % (r['sent_per_s'], r['expected_per_s']), '-', '-')" | tee -a "$OUT/summary.txt"
done
cleanup; PIDS=()

# 2. The reference server as a process plus callsim's mock AI, both on core 1; callsim's
#    generator on core 0; a ladder whose first step is the unloaded baseline.
taskset -c 1 "$SERVER" --listen 127.0.0.1:9200 --public-url https://callsim.test \
  --twilio-auth-token bench-auth-token --twilio-account-sid AC00000000000000000000000000000000 \
  --realtime-url "ws://127.0.0.1:9202/v1/realtime?model=gpt-realtime" --openai-api-key sk-callsim \
  --fixture-token bench-fixture-token >/dev/null 2>&1 & PIDS+=($!)
wait_port 9200
"$CALLSIM" load --target http://127.0.0.1:9200 --target-config "$ROOT/bench/reference-target.yaml" \
  --ai-listen 127.0.0.1:9202 --generator-cpu 0 --target-cpu 1 --ladder "$REF_LADDER" --step "$STEP" --rate "$RATE" \
  --json "$OUT/reference.json" --csv "$OUT/reference.csv" --html "$OUT/reference.html" -q \
  "$ROOT/scenarios/seed/both-prompts-set.yaml" > "$OUT/reference.txt" 2>&1 || true
echo | tee -a "$OUT/summary.txt"
printf '%-26s %7s %9s %9s %9s %9s %10s %9s\n' "reference server + mock AI" calls failed% turn_p50 turn_p95 turn_p99 late_p99 meets | tee -a "$OUT/summary.txt"
json "$OUT/reference.json" "'\n'.join('%-26s %7d %9.2f %9.1f %9.1f %9.1f %10.2f %9s' % ('  ' + s['label'], s['target_calls'], s['failed_pct'], s['latency_ms'].get('turn_latency',{}).get('p50',-1), s['latency_ms'].get('turn_latency',{}).get('p95',-1), s['latency_ms'].get('turn_latency',{}).get('p99',-1), s['latency_ms']['frame_lateness']['p99'], j['meets']) for s, j in zip(r['steps'], r['capacity']['steps']))" | tee -a "$OUT/summary.txt"
grep -E '^capacity' "$OUT/reference.txt" | tee -a "$OUT/summary.txt" || true
cleanup; PIDS=()

# 3. The anchor's call-server stand-in: Node relay + AI mock on core 1, the Node generator on core 0.
taskset -c 1 node "$ANCHOR/server.js" --role ai --port 9302 >/dev/null & PIDS+=($!)
taskset -c 1 node "$ANCHOR/server.js" --role relay --port 9303 --ai ws://127.0.0.1:9302 >/dev/null & PIDS+=($!)
wait_port 9302; wait_port 9303
echo | tee -a "$OUT/summary.txt"
for n in ${RELAY_CALLS:-400}; do
  taskset -c 0 node "$ANCHOR/gen.js" --url ws://127.0.0.1:9303 --calls "$n" --rate "$RATE" --warmup 3 --window "$WINDOW" \
    > "$OUT/relay-node-$n.txt" 2>&1 || true
  tail -1 "$OUT/relay-node-$n.txt" > "$OUT/relay-node-$n.json"
  json "$OUT/relay-node-$n.json" "'node relay + AI mock, %d calls: lateness p99 %.2f ms, rtt p50 %.1f p99 %.1f ms, recv %d/%d per s' % (r['calls'], r['late_ms']['p99'], r['rtt_ms']['p50'], r['rtt_ms']['p99'], r['recv_per_s'], r['expected_per_s'])" | tee -a "$OUT/summary.txt"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/summary.txt"
