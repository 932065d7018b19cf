#!/usr/bin/env bash
# The demo: installs what is missing, builds, and runs mosquitto with the
# webhook plugin, a gateway configured with NanoMQ's webhook block, and an
# HTTP sink that prints every webhook it receives. Then it publishes a few
# messages with mosquitto_pub so that the bodies show up. Ctrl-C stops it all.
#
# Environment: DEMO_MQTT_PORT (18830), DEMO_GRPC_PORT (17070),
# DEMO_SINK_PORT (18080), DEMO_ADMIN_PORT (19090), BUILD_DIR (build),
# DEMO_EXIT_AFTER=1 stops after the messages (for tests), DEMO_SKIP_SETUP=1
# skips install and build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
mqtt_port=${DEMO_MQTT_PORT:-18830}
grpc_port=${DEMO_GRPC_PORT:-17070}
sink_port=${DEMO_SINK_PORT:-18080}
admin_port=${DEMO_ADMIN_PORT:-19090}

if [[ ${DEMO_SKIP_SETUP:-0} != 1 ]]; then
  bash "$root/cmake/install-deps.sh"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j "$(nproc)" --target webhook-gateway webhookgw_mosquitto
fi

work=$(mktemp -d)
# mosquitto started as root drops to its own user and must still read these.
chmod 755 "$work"
pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "stopping"
  # Broker first, then gateway, then sink: each stops after what feeds it.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap stop INT TERM EXIT

# NanoMQ's webhook block, as an operator would copy it from NanoMQ.
cat > "$work/gateway.conf" <<CONF
webhook = {
  url = "http://127.0.0.1:${sink_port}/webhook"
  headers.content-type = "application/json"
  body.encoding = "plain"
  pool_size = 4
  events = [
    { event = "on_client_connect" }
    { event = "on_client_disconnected" }
    { event = "on_client_subscribe" }
    { event = "on_message_publish", topic = "demo/#" }
  ]
}
gateway {
  grpc_listen = "127.0.0.1:${grpc_port}"
  admin_listen = "127.0.0.1:${admin_port}"
  dead_letter_path = "${work}/dead-letters.jsonl"
  spool_dir = "${work}/spool"
}
CONF

cat > "$work/mosquitto.conf" <<CONF
listener ${mqtt_port} 127.0.0.1
allow_anonymous true
plugin ${build}/broker_adapter/mosquitto/webhookgw_mosquitto.so
plugin_opt_target 127.0.0.1:${grpc_port}
plugin_opt_node demo-broker
CONF

/usr/bin/python3 -u "$root/deploy/demo/sink.py" --port "$sink_port" &
pids+=($!)
"$build/gateway/webhook-gateway" --config "$work/gateway.conf" &
pids+=($!)
mosquitto -c "$work/mosquitto.conf" > >(sed 's/^/[mosquitto] /') 2>&1 &
pids+=($!)

for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:${admin_port}/readyz" >/dev/null && break
  sleep 0.1
done
for _ in $(seq 1 100); do
  mosquitto_pub -p "$mqtt_port" -t demo/ping -n -i demo-probe 2>/dev/null && break
  sleep 0.1
done

echo "== publishing a few messages"
mosquitto_sub -p "$mqtt_port" -i demo-listener -t 'demo/#' -C 2 -W 10 >/dev/null &
sub_pid=$!
sleep 0.5
mosquitto_pub -p "$mqtt_port" -i sensor-1 -u alice -t demo/temperature -m '{"celsius": 21.5}' -q 1
mosquitto_pub -p "$mqtt_port" -i sensor-2 -V mqttv5 -t demo/humidity -m 40 -q 2 -r
mosquitto_pub -p "$mqtt_port" -i sensor-3 -t other/topic -m 'filtered out by the topic rule'
wait "$sub_pid" 2>/dev/null || true

if [[ ${DEMO_EXIT_AFTER:-0} == 1 ]]; then
  sleep 2
  exit 0
fi
echo "== running: publish to 127.0.0.1:${mqtt_port} (e.g. mosquitto_pub -p ${mqtt_port} -t demo/x -m hi)"
echo "== metrics at http://127.0.0.1:${admin_port}/metrics; Ctrl-C to stop"
wait
