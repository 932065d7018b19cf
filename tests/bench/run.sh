#!/usr/bin/env bash
# The whole delivery path measured side by side in one run, on loopback:
#   ceiling     wrk POSTing a ~300-byte JSON body to nginx (32 conns, 2 threads)
#   max         webhook-eventgen -> webhook-gateway -> the same nginx, one
#               request per event, as fast as acks allow
#   rate R      the same at fixed offered rates, for end-to-end latency
#   ingest      the same with a webhook whose filter matches nothing
#   outage      once: the endpoint refuses connections for 60 s while events
#               arrive at 20k/s; the gateway's RSS is sampled every second
#   batched     the same as max with batch { max_events = 100 }: one POST
#               per 100 events
#   mosquitto   MQTT publish ingest of mosquitto alone and with the plugin
#               streaming to a gateway that delivers to nginx
#   before      with --baseline DIR: max, batched, ingest and rate 10000
#               (or the steps --steps names) once more per run with DIR's
#               webhook-gateway (another commit's build; the generator is
#               this build's), for before/after ratios measured side by side
# then prints one table, writes the raw figures as JSON and plots latency
# against offered rate. Figures of one run share the machine's noise, so
# compare ratios; each step is repeated --runs times and the median quoted.
#
#   tests/bench/run.sh [--smoke] [--build-dir DIR] [--runs N] [--out DIR]
#                      [--profile] [--baseline BUILD_DIR] [--steps LIST]
#
# --build-dir uses an existing build (else a Release tree in build-bench/ is
# configured and built); --smoke runs every step for ~2 s with small counts
# (the ctest test, so the script cannot rot); --out is where results go
# (default tests/bench/results; a temp dir with --smoke); --profile then runs
# the gateway under perf and callgrind at max rate (--runs 0 --profile: only
# that); --steps runs only the listed steps (comma-separated: ceiling, max,
# ingest, batched, rate5000 ... rate50000, mqtt, outage), e.g. `--baseline
# OLD --steps max,rate10000` for quick before/after pairs.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
py=/usr/bin/python3

smoke=0
build=""
runs=3
out=""
profile=0
baseline=""
steps=all
while (($#)); do
  case $1 in
    --smoke) smoke=1 ;;
    --build-dir) build=$(cd "$2" && pwd); shift ;;
    --runs) runs=$2; shift ;;
    --out) out=$2; shift ;;
    --profile) profile=1 ;;
    --baseline) baseline=$(cd "$2" && pwd); shift ;;
    --steps) steps=$2; shift ;;
    -h | --help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {print substr($0, 3)}' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

if ((smoke)); then
  runs=1
  wrk_seconds=2
  max_count=20000
  ingest_count=50000
  rate_seconds=2
  rates=(5000 20000)
  mqtt_count=20000
  mqtt_reps=1
  outage_seconds=3
else
  wrk_seconds=10
  max_count=1000000
  ingest_count=3000000
  rate_seconds=8
  rates=(5000 10000 20000 50000)
  mqtt_count=300000
  mqtt_reps=3
  outage_seconds=60
fi
payload_bytes=64  # the gateway's publish body is then ~300 bytes, as wrk's

# wanted STEP: whether --steps asks for STEP.
wanted() { [[ $steps == all || ,$steps, == *,$1,* ]]; }

for tool in nginx wrk mosquitto cc curl; do
  command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool ]] || {
    echo "run.sh: $tool missing; run cmake/install-deps.sh" >&2
    exit 1
  }
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
mosquitto_bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)

if [[ -z $build ]]; then
  build=$root/build-bench
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DWEBHOOKGW_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" -j2 --target webhook-gateway webhook-eventgen webhookgw_mosquitto \
    >/dev/null
fi
gateway_bin=$build/gateway/webhook-gateway
eventgen_bin=$build/broker_adapter/webhook-eventgen
plugin=$build/broker_adapter/mosquitto/webhookgw_mosquitto.so
baseline_bin=${baseline:+$baseline/gateway/webhook-gateway}
for f in "$gateway_bin" "$eventgen_bin" "$plugin" $baseline_bin; do
  [[ -e $f ]] || { echo "run.sh: $f not built" >&2; exit 1; }
done

work=$(mktemp -d /tmp/wgw-bench.XXXXXX)
if [[ -z $out ]]; then
  if ((smoke)); then out=$work/results; else out=$here/results; fi
fi
mkdir -p "$out" "$work/steps"

pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  $py -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
  local _
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "run.sh: nothing listens on port $1" >&2
  return 1
}

# CPU seconds (user + system) a process has used so far.
cpu_seconds() {
  local ticks
  ticks=$(sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}')
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.3f", t / hz}'
}

hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

# Context switches (voluntary + involuntary) of all threads of a process.
ctx_switches() {
  cat /proc/"$1"/task/*/status 2>/dev/null |
    awk '/^(non)?voluntary_ctxt_switches:/ {n += $2} END {print n + 0}'
}

# CPU seconds used so far by nginx's workers (the master does no HTTP).
nginx_cpu() {
  local total=0 p
  for p in $(pgrep -P "$nginx_pid"); do
    total=$(awk -v a="$total" -v b="$(cpu_seconds "$p")" 'BEGIN {printf "%.3f", a + b}')
  done
  echo "$total"
}

# timed FILE CMD...: runs CMD; writes its user+system CPU seconds to FILE.
timed() {
  local file=$1 TIMEFORMAT='%3U %3S'
  shift
  { time "$@" 2>"$file.err"; } 2>"$file.time" || { cat "$file.err" >&2; return 1; }
  awk '{printf "%.3f", $1 + $2}' "$file.time" >"$file"
}

# --- nginx: 2 workers, answers 204 to everything, keeps connections open.
nginx_port=$(free_port)
mkdir -p "$work/nginx/logs" "$work/nginx/tmp"
cat >"$work/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  client_body_buffer_size 64k;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { return 204; }
  }
}
EOF
"$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/logs/error.log" &
nginx_pid=$!
pids+=("$nginx_pid")
wait_port "$nginx_port"

# A body like the gateway's for a 64-byte publish payload, ~300 bytes.
cat >"$work/body.json" <<'EOF'
{"action":"message_publish","from_client_id":"c123","from_username":"undefined","topic":"sensors/42/data","qos":0,"retain":false,"payload":"c=c123 n=17.....................................................","ts":1764782812345,"node":"eventgen","id":"0005f1c2a3b4d5e6","flags":{"dup":false}}
EOF
cat >"$work/post.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$work/body.json", "rb")
wrk.body = f:read("*a"):gsub("%s+$", "")
f:close()
EOF

# --- gateway
# write_config NAME EVENTS [EXTRA]: a gateway config with one webhook "nginx".
write_config() {
  cat >"$work/$1.conf" <<EOF
gateway {
  grpc_listen = "127.0.0.1:0"
  admin_listen = "127.0.0.1:0"
  dead_letter_path = ""
  log_level = warn
}
webhooks = [
  { name = "nginx", url = "http://127.0.0.1:$nginx_port/hook", pool_size = 32,
    events = [ $2 ] ${3:+, $3} }
]
EOF
}
write_config deliver '{ event = "on_message_publish" }'
write_config ingest '{ event = "on_message_publish", topic = "never/#" }'
# A webhook whose endpoint refuses every connection (a port nothing listens on).
dead_port=$(free_port)
sed "s/:$nginx_port\//:$dead_port\//" "$work/deliver.conf" >"$work/outage.conf"
write_config batched '{ event = "on_message_publish" }' \
  'batch { max_events = 100, max_bytes = 1048576, linger = 2ms }'

gw_pid=""
gw_count=0
gw_grpc=""
gw_admin=""
# start_gateway CONFIG_NAME [WRAPPER...]: starts a fresh gateway (fresh
# histograms, fresh peak RSS) and reads its ports from the "started" line.
start_gateway() {
  local conf=$work/$1.conf log=$work/gateway.log
  shift
  : >"$log"
  # log_level warn hides the started line; ask for info on stderr only here.
  sed 's/log_level = warn/log_level = info/' "$conf" >"$conf.run"
  # Each gateway runs in a directory of its own, so that what one parks in
  # its spool (the outage step) is not recovered by the next.
  gw_count=$((gw_count + 1))
  local dir=$work/gateway.$gw_count
  mkdir -p "$dir"
  (cd "$dir" && exec "$@" "${step_gateway_bin:-$gateway_bin}" --config "$conf.run" 2>"$log") &
  gw_pid=$!
  pids+=("$gw_pid")
  local _
  for _ in $(seq 600); do
    if grep -q 'msg=started' "$log"; then break; fi
    kill -0 "$gw_pid" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.05
  done
  gw_grpc=$(grep -o 'grpc_listen=[^ ]*' "$log" | head -1 | cut -d= -f2)
  gw_admin=$(grep -o 'admin_listen=[^ ]*' "$log" | head -1 | cut -d= -f2)
  [[ -n $gw_grpc && -n $gw_admin ]] || { cat "$log" >&2; return 1; }
}

stop_gateway() {
  kill -TERM "$gw_pid" 2>/dev/null || true
  wait "$gw_pid" 2>/dev/null || true
}

# gen_step NAME CONFIG EVENTGEN_ARGS...: one gateway, one eventgen run.
gen_step() {
  local name=$1 conf=$2
  shift 2
  start_gateway "$conf"
  local cpu0 cpu1 t0 t1
  local ncpu0 ncpu1 cs0 cs1
  cpu0=$(cpu_seconds "$gw_pid")
  cs0=$(ctx_switches "$gw_pid")
  ncpu0=$(nginx_cpu)
  t0=$(date +%s.%N)
  timed "$work/gen.cpu" "$eventgen_bin" --target "$gw_grpc" --kinds publish \
    --payload-bytes "$payload_bytes" --clients 1000 --streams 4 --wait-streams 10 --json "$@" \
    >"$work/gen.json"
  t1=$(date +%s.%N)
  cpu1=$(cpu_seconds "$gw_pid")
  cs1=$(ctx_switches "$gw_pid")
  ncpu1=$(nginx_cpu)
  local hwm
  hwm=$(hwm_kib "$gw_pid")
  curl -sf "http://$gw_admin/metrics" >"$work/metrics.txt"
  stop_gateway
  $py "$here/report.py" step --name "$name" --gen "$work/gen.json" \
    --metrics "$work/metrics.txt" --cpu "$cpu0" "$cpu1" --wall "$t0" "$t1" \
    --hwm-kib "$hwm" --peer-cpu "$(cat "$work/gen.cpu")" --ctx-switches $((cs1 - cs0)) \
    --nginx-cpu "$(awk -v a="$ncpu0" -v b="$ncpu1" 'BEGIN {print b - a}')" \
    >"$work/steps/$name.json"
  echo "  $name: $($py "$here/report.py" brief "$work/steps/$name.json")" >&2
}

# mqtt_step NAME alone|plugin|plugin_ingest|plugin_batched: mosquitto's
# publish ingest, alone or with the plugin streaming to a gateway that
# delivers every publish to nginx (plugin; plugin_batched: 100 per POST) or
# filters them all out (plugin_ingest).
cc -O2 -o "$work/mqtt_flood" "$here/mqtt_flood.c" -lmosquitto
mqtt_step() {
  local name=$1 mode=$2 mport
  mport=$(free_port)
  case $mode in
    plugin) start_gateway deliver ;;
    plugin_ingest) start_gateway ingest ;;
    plugin_batched) start_gateway batched ;;
  esac
  {
    echo "listener $mport 127.0.0.1"
    echo "allow_anonymous true"
    echo "max_queued_messages 0"
    [[ $(id -u) == 0 ]] && echo "user root"
    if [[ $mode != alone ]]; then
      echo "plugin $plugin"
      echo "plugin_opt_target $gw_grpc"
      echo "plugin_opt_shutdown_timeout_ms 30000"
      # Room for the whole run, so that what is measured is the broker's
      # ingest with the plugin, not the adapter shedding a backlog.
      echo "plugin_opt_queue_max_events $((mqtt_count * 2))"
      echo "plugin_opt_queue_max_bytes 1000000000"
    fi
  } >"$work/mosquitto.conf"
  "$mosquitto_bin" -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
  local broker=$!
  pids+=("$broker")
  wait_port "$mport"
  local cpu0="0" cpu1="0" hwm="0" t0 t1
  [[ $mode != alone ]] && cpu0=$(cpu_seconds "$gw_pid")
  t0=$(date +%s.%N)
  local bcpu0 bcpu1
  bcpu0=$(cpu_seconds "$broker")
  "$work/mqtt_flood" "$mport" "$mqtt_count" "$payload_bytes" >"$work/flood.json"
  bcpu1=$(cpu_seconds "$broker")
  t1=$(date +%s.%N)
  if [[ $mode != alone ]]; then
    # The gateway may still be delivering; wait until it is idle, so the
    # delivered count says whether every publish made it to nginx.
    local prev=-1 now
    for _ in $(seq 100); do
      now=$(curl -sf "http://$gw_admin/metrics" | tee "$work/metrics.txt" |
        awk '/^webhookgw_(deliveries_total.*delivered|events_received_total)/ {n += $2}
             END {print n}')
      [[ $now == "$prev" ]] && break
      prev=$now
      sleep 0.3
    done
    cpu1=$(cpu_seconds "$gw_pid")
    hwm=$(hwm_kib "$gw_pid")
  else
    : >"$work/metrics.txt"
  fi
  kill "$broker"
  wait "$broker" 2>/dev/null || true
  if [[ $mode != alone ]]; then stop_gateway; fi
  $py "$here/report.py" step --name "$name" --flood "$work/flood.json" \
    --metrics "$work/metrics.txt" --cpu "$cpu0" "$cpu1" --wall "$t0" "$t1" \
    --hwm-kib "$hwm" --broker-log "$work/mosquitto.log" --broker-cpu "$(awk -v a="$bcpu0" -v b="$bcpu1" 'BEGIN {print b - a}')" \
    >"$work/steps/$name.json"
  echo "  $name: $($py "$here/report.py" brief "$work/steps/$name.json")" >&2
}

ceiling_step() {
  local name=$1
  local ncpu0 ncpu1
  ncpu0=$(nginx_cpu)
  timed "$work/wrk.cpu" wrk -t2 -c32 -d"${wrk_seconds}s" -s "$work/post.lua" \
    "http://127.0.0.1:$nginx_port/hook" >"$work/wrk.txt"
  ncpu1=$(nginx_cpu)
  $py "$here/report.py" step --name "$name" --wrk "$work/wrk.txt" \
    --peer-cpu "$(cat "$work/wrk.cpu")" \
    --nginx-cpu "$(awk -v a="$ncpu0" -v b="$ncpu1" 'BEGIN {print b - a}')" \
    >"$work/steps/$name.json"
  echo "  $name: $($py "$here/report.py" brief "$work/steps/$name.json")" >&2
}

# outage_step NAME SECONDS: the endpoint is down for SECONDS while events
# arrive at 20k/s; samples the gateway's RSS every second, so the figure
# shows whether memory stays bounded (by the queue budget) while it holds
# everything.
outage_step() {
  local name=$1 seconds=$2
  start_gateway outage
  "$eventgen_bin" --target "$gw_grpc" --kinds publish --payload-bytes "$payload_bytes" \
    --clients 1000 --streams 4 --wait-streams 10 --rate 20000 --duration "$seconds" \
    --drain-timeout 1 --json >"$work/gen.json" &
  local gen=$! samples=()
  while kill -0 "$gen" 2>/dev/null; do
    samples+=("$(awk '/^VmRSS:/ {print $2}' "/proc/$gw_pid/status")")
    sleep 1
  done
  wait "$gen" || true
  curl -sf "http://$gw_admin/metrics" >"$work/metrics.txt"
  local hwm
  hwm=$(hwm_kib "$gw_pid")
  stop_gateway
  $py "$here/report.py" outage --name "$name" --gen "$work/gen.json" \
    --metrics "$work/metrics.txt" --hwm-kib "$hwm" --rss-kib "${samples[@]}" \
    >"$work/steps/$name.json"
  echo "  $name: $($py "$here/report.py" brief "$work/steps/$name.json")" >&2
}

echo "bench: build $build, $runs run(s), results in $out" >&2
for ((r = 1; r <= runs; r++)); do
  echo "run $r/$runs" >&2
  wanted ceiling && ceiling_step "ceiling.$r"
  wanted max && gen_step "max.$r" deliver --rate 0 --count "$max_count"
  wanted ingest && gen_step "ingest.$r" ingest --rate 0 --count "$ingest_count"
  wanted batched && gen_step "batched.$r" batched --rate 0 --count "$max_count"
  if [[ -n $baseline ]]; then
    wanted max && step_gateway_bin=$baseline_bin \
      gen_step "before_max.$r" deliver --rate 0 --count "$max_count"
    # A baseline from before batched delivery existed refuses its config.
    wanted batched && "$baseline_bin" --check-config "$work/batched.conf" >/dev/null 2>&1 &&
      step_gateway_bin=$baseline_bin gen_step "before_batched.$r" batched --rate 0 --count "$max_count"
    wanted ingest && step_gateway_bin=$baseline_bin \
      gen_step "before_ingest.$r" ingest --rate 0 --count "$ingest_count"
    # All rates by default; with --steps, the rates it names.
    for rate in "${rates[@]}"; do
      [[ $steps == all && $rate != 10000 ]] && continue
      wanted "rate$rate" || continue
      step_gateway_bin=$baseline_bin \
        gen_step "before_rate$rate.$r" deliver --rate "$rate" --duration "$rate_seconds" --linger-ms 1
    done
  fi
  for rate in "${rates[@]}"; do
    wanted "rate$rate" || continue
    # A short linger so that the adapter's batching does not dominate the
    # latency being measured (the default is 5 ms).
    gen_step "rate$rate.$r" deliver --rate "$rate" --duration "$rate_seconds" --linger-ms 1
  done
  # mosquitto's runs are short and the noisiest: interleave a few per run.
  for ((k = 1; k <= mqtt_reps; k++)); do
    wanted mqtt || break
    mqtt_step "mqtt_alone.$r$k" alone
    mqtt_step "mqtt_plugin.$r$k" plugin
    mqtt_step "mqtt_plugin_ingest.$r$k" plugin_ingest
    mqtt_step "mqtt_plugin_batched.$r$k" plugin_batched
  done
done

# Once per bench: the outage is long and its figure is memory, not speed.
if ((runs > 0)) && wanted outage; then outage_step "outage.1" "$outage_seconds"; fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
json=$out/bench-$stamp.json
((runs == 0)) || $py "$here/report.py" summarize --steps "$work/steps" --json "$json" \
  --png "$out/latency-$stamp.png" --smoke "$smoke" \
  --host "$(nproc) cores, $(uname -r), $(git -C "$root" rev-parse --short HEAD 2>/dev/null)"

# --- profile: where the gateway's CPU goes at max rate.
if ((profile)); then
  echo "profile: perf" >&2
  if perf stat -e cpu-clock true >/dev/null 2>&1; then
    start_gateway deliver
    perf record -F 999 -g -o "$work/perf.data" -p "$gw_pid" 2>"$work/perf.err" &
    perf_pid=$!
    "$eventgen_bin" --target "$gw_grpc" --kinds publish --payload-bytes "$payload_bytes" \
      --clients 1000 --json --rate 0 --count "$max_count" >"$work/gen.json"
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
    stop_gateway
    # head closes the pipe early: perf's SIGPIPE is expected, not an error.
    perf_top() {
      perf report -i "$work/perf.data" --stdio "$@" 2>/dev/null | grep '%' | grep -v '^#' |
        cut -c1-160 | head -60 || true
    }
    perf_top --no-children --sort symbol -g none >"$out/profile-perf-self-$stamp.txt"
    perf_top --children --sort symbol -g none >"$out/profile-perf-children-$stamp.txt"
    perf_top --no-children --sort dso -g none >"$out/profile-perf-dso-$stamp.txt"
  else
    echo "profile: perf cannot sample here, skipped" >&2
  fi
  if command -v valgrind >/dev/null; then
    echo "profile: callgrind" >&2
    start_gateway deliver valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out"
    "$eventgen_bin" --target "$gw_grpc" --kinds publish --payload-bytes "$payload_bytes" \
      --clients 1000 --json --rate 0 --count $((smoke ? 2000 : 50000)) >"$work/gen.json"
    stop_gateway
    { callgrind_annotate --inclusive=yes "$work/callgrind.out" 2>/dev/null | head -90 || true; } \
      >"$out/profile-callgrind-inclusive-$stamp.txt"
    { callgrind_annotate "$work/callgrind.out" 2>/dev/null | head -70 || true; } \
      >"$out/profile-callgrind-self-$stamp.txt"
  fi
  if command -v strace >/dev/null; then
    echo "profile: strace -c (system calls per event)" >&2
    start_gateway deliver
    strace -c -f -p "$gw_pid" -o "$out/profile-strace-$stamp.txt" 2>/dev/null &
    strace_pid=$!
    sleep 1  # strace attaches to each thread
    strace_count=$((smoke ? 2000 : 50000))
    "$eventgen_bin" --target "$gw_grpc" --kinds publish --payload-bytes "$payload_bytes" \
      --clients 1000 --json --rate 0 --count "$strace_count" >"$work/gen.json"
    kill -INT "$strace_pid"
    wait "$strace_pid" || true
    stop_gateway
    echo "events: $strace_count" >>"$out/profile-strace-$stamp.txt"
  fi
  echo "profile: written to $out/profile-*-$stamp.txt" >&2
fi
