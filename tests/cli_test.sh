#!/usr/bin/env bash
# The webhook-gateway command line: --help, --version, --check-config on a
# good and a broken file, and a run that starts, answers /readyz and exits 0
# on SIGTERM.
set -euo pipefail
gateway=$1
work=$(mktemp -d)
pid=""
cleanup() {
  if [[ -n $pid ]]; then kill -9 "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

help=$("$gateway" --help)
[[ $help == *"--check-config FILE"* ]] || fail "--help lacks --check-config"
[[ $("$gateway" --version) =~ ^webhook-gateway\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--version"
if "$gateway" --bogus 2>/dev/null; then fail "an unknown flag must fail"; fi

# NanoMQ's own example, verbatim.
cat > "$work/nanomq.conf" <<'CONF'
webhook = {
  url = "http://127.0.0.1:80"        # URL where the webhook will send HTTP requests
  headers.content-type = "application/json" # HTTP header specifying request content type
  body.encoding = "plain"            # Encoding format of the payload field in HTTP body
  pool_size = 32                     # Connection process pool size
  events = [
    {
      event = "on_message_publish"   # Webhook will trigger when a message is published
      topic = "a/b/c"                # The specific topic that this event applies to
    }
    {
      event = "on_client_connack"    # Webhook will trigger when a client ACK is received
    }
  ]
}
CONF
out=$("$gateway" --check-config "$work/nanomq.conf") || fail "NanoMQ example refused: $out"
[[ $out == "$work/nanomq.conf: ok (1 webhook)" ]] || fail "unexpected: $out"

cat > "$work/broken.conf" <<'CONF'
webhook {
  url = "http://127.0.0.1:80"
  pool_size = "abc"
  events = [ { event = "on_message_publish" } ]
}
CONF
set +e
err=$("$gateway" --check-config "$work/broken.conf" 2>&1)
rc=$?
set -e
[[ $rc -eq 1 ]] || fail "broken config: exit $rc, want 1"
[[ $err == "$work/broken.conf:3: webhook.pool_size: expected"* ]] || fail "error text: $err"

# A real run: free ports, readiness, then SIGTERM and exit status 0.
cat > "$work/run.conf" <<'CONF'
webhook {
  url = "http://127.0.0.1:9"
  events = [ { event = "on_client_connect" } ]
}
gateway {
  grpc_listen = "127.0.0.1:0"
  admin_listen = "127.0.0.1:0"
  drain_grace = 2s
  dead_letter_path = "", spool_dir = ""
}
CONF
"$gateway" --config "$work/run.conf" 2> "$work/log" &
pid=$!
for _ in $(seq 1 100); do
  grep -q 'msg=started' "$work/log" && break
  sleep 0.1
done
admin=$(grep -o 'admin_listen=[^ ]*' "$work/log" | cut -d= -f2)
[[ -n $admin ]] || { cat "$work/log"; fail "no started line"; }
[[ $(curl -s "http://$admin/healthz") == ok ]] || fail "/healthz"
[[ $(curl -s -o /dev/null -w '%{http_code}' "http://$admin/readyz") == 200 ]] || fail "/readyz"
metrics=$(curl -s "http://$admin/metrics")
grep -qx 'webhookgw_streams_open 0' <<<"$metrics" || fail "/metrics"
# SIGHUP with a broken file keeps the running config; a good one is applied.
cp "$work/run.conf" "$work/good.conf"
cp "$work/broken.conf" "$work/run.conf"
kill -HUP "$pid"
for _ in $(seq 1 50); do grep -q 'config reload refused' "$work/log" && break; sleep 0.1; done
grep -q 'config reload refused.*run.conf:3: webhook.pool_size' "$work/log" || fail "broken reload"
[[ $(curl -s -o /dev/null -w '%{http_code}' "http://$admin/readyz") == 200 ]] || fail "ready after"
sed 's/on_client_connect/on_client_connack/' "$work/good.conf" > "$work/run.conf"
kill -HUP "$pid"
for _ in $(seq 1 50); do grep -q 'msg="config reloaded"' "$work/log" && break; sleep 0.1; done
grep -q 'msg="config reloaded" webhooks=1' "$work/log" || fail "good reload not applied"

kill -TERM "$pid"
set +e
wait "$pid"
rc=$?
set -e
pid=""
[[ $rc -eq 0 ]] || { cat "$work/log"; fail "exit status $rc after SIGTERM"; }
grep -q 'msg=stopped' "$work/log" || fail "no stopped line"
echo "cli_test: 1 passed, 0 failed"
