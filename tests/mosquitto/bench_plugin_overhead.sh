#!/usr/bin/env bash
# What the plugin costs mosquitto: the time for N QoS 0 messages from one
# publisher to reach one subscriber, without the plugin and with it
# streaming every event to webhook-fake-gateway. Not a ctest test (timings
# are machine-dependent); run by hand:
#   bench_plugin_overhead.sh BUILD_DIR [N]
set -euo pipefail
build=$(cd "$1" && pwd)
n=${2:-200000}
plugin=$build/broker_adapter/mosquitto/webhookgw_mosquitto.so
fake=$build/broker_adapter/webhook-fake-gateway
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing listens on port $1" >&2
  return 1
}

run() {
  local mode=$1 gport mport fake_pid broker_pid sub_pid start end
  gport=$(free_port)
  mport=$(free_port)
  "$fake" "$gport" >"$work/fake.$mode.log" 2>&1 &
  fake_pid=$!
  {
    echo "listener $mport 127.0.0.1"
    echo "allow_anonymous true"
    echo "max_queued_messages 0"
    [ "$(id -u)" = 0 ] && echo "user root"
    if [ "$mode" = with ]; then
      echo "plugin $plugin"
      echo "plugin_opt_target 127.0.0.1:$gport"
      echo "plugin_opt_shutdown_timeout_ms 30000"
    fi
  } >"$work/$mode.conf"
  mosquitto -c "$work/$mode.conf" >"$work/broker.$mode.log" 2>&1 &
  broker_pid=$!
  wait_port "$mport"
  wait_port "$gport"
  mosquitto_sub -p "$mport" -t 'b/#' -C "$n" -q 0 >/dev/null &
  sub_pid=$!
  sleep 0.3  # let the subscription land; not part of the timing
  start=$(date +%s.%N)
  seq 1 "$n" | sed 's/^/payload-/' | mosquitto_pub -p "$mport" -t b/x -l -q 0
  wait "$sub_pid"
  end=$(date +%s.%N)
  kill "$broker_pid"; wait "$broker_pid" || true
  kill "$fake_pid"; wait "$fake_pid" || true
  printf '%-7s plugin: %d messages in %.3f s  %s  %s\n' "$mode" "$n" \
    "$(echo "$end - $start" | bc)" \
    "$(grep -o 'stopped.*' "$work/broker.$mode.log" || true)" \
    "$(grep -o 'received.*' "$work/fake.$mode.log" || true)"
}

run without
run with
