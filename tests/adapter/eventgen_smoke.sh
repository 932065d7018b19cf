#!/usr/bin/env bash
# Runs webhook-eventgen against webhook-fake-gateway and checks from its JSON
# output that every emitted event was accepted and acknowledged.
# Usage: eventgen_smoke.sh EVENTGEN FAKE_GATEWAY
set -euo pipefail
eventgen=$1
fake=$2
port=$((20000 + $$ % 20000))
"$fake" "$port" >/dev/null &
fake_pid=$!
trap 'kill "$fake_pid" 2>/dev/null || true; wait "$fake_pid" 2>/dev/null || true' EXIT
sleep 0.5
out=$("$eventgen" --target "127.0.0.1:$port" --count 20000 --clients 100 --streams 3 \
  --kinds connect,publish:5,delivered,subscribe,disconnected --json)
echo "$out"
python3 - "$out" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
assert r["emitted"] == 20000, r
assert r["accepted"] == 20000, r
assert r["acked"] == 20000, r
assert r["dropped_stopped"] == 0 and r["dropped_invalid"] == 0, r
assert r["ack_latency_ms_p99"] > 0, r
PY
