#!/usr/bin/env bash
# Runs the README's demo against an existing build on free ports and checks
# that the sink printed the webhooks the demo's messages should produce.
set -euo pipefail
root=$1
build=$2
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
DEMO_SKIP_SETUP=1 DEMO_EXIT_AFTER=1 BUILD_DIR=$build \
  DEMO_MQTT_PORT=$(free_port) DEMO_GRPC_PORT=$(free_port) DEMO_SINK_PORT=$(free_port) \
  DEMO_ADMIN_PORT=$(free_port) timeout 120 bash "$root/deploy/demo.sh" > "$out" 2>&1
fail() { echo "FAIL: $*"; cat "$out"; exit 1; }
grep -q '"action": "message_publish"' "$out" || fail "no message_publish body"
grep -q '"topic": "demo/temperature"' "$out" || fail "demo/temperature missing"
grep -q '"from_username": "alice"' "$out" || fail "username of sensor-1 missing"
grep -q '"topic": "demo/humidity"' "$out" || fail "demo/humidity missing"
grep -q '"retain": true' "$out" || fail "retained publish missing"
if grep -q '"topic": "other/topic"' "$out"; then fail "other/topic is not selected by the rule"; fi
grep -q '"action": "client_connect"' "$out" || fail "no client_connect body"
echo "demo_test: 1 passed, 0 failed"
