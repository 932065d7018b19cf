#!/usr/bin/env bash
# The real webhook-gateway binary with mutual TLS and a token file, fed by
# the real webhook-eventgen (the adapter library): the right certificate and
# token get every event acknowledged; a wrong token, an expired client
# certificate and a certificate from another CA get none, and the gateway
# counts the wrong token on /metrics.
# Usage: gateway_tls_e2e.sh GATEWAY EVENTGEN
set -euo pipefail
gateway=$1
eventgen=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d /tmp/webhookgw-tls-e2e-XXXXXX)
gw_pid=
cleanup() {
  if [ -n "$gw_pid" ]; then kill "$gw_pid" 2>/dev/null || true; wait "$gw_pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

"$src/tests/security/make_certs.sh" "$dir" >/dev/null
good_token=good-token-0123456789abcdef
printf '# adapters\n%s\n' "$good_token" > "$dir/tokens"
cat > "$dir/gw.conf" <<CONF
gateway {
  grpc_listen = "127.0.0.1:0"
  admin_listen = "127.0.0.1:0"
  dead_letter_path = ""
  tls {
    cert_file = "$dir/server.pem"
    key_file = "$dir/server.key"
    client_ca_file = "$dir/ca.pem"
  }
  auth.token_file = "$dir/tokens"
}
# Nothing listens there: every event is given up on at once, and still acked.
webhook {
  url = "http://127.0.0.1:9/"
  retry.max_attempts = 1
  pool_size = 2
  events = [{ event = on_client_connect }, { event = on_message_publish }]
}
CONF

"$gateway" --config "$dir/gw.conf" 2>"$dir/gw.log" &
gw_pid=$!
for _ in $(seq 100); do
  grep -q 'msg=started' "$dir/gw.log" && break
  sleep 0.1
done
started=$(grep 'msg=started' "$dir/gw.log")
grpc=$(sed -n 's/.*grpc_listen=\([^ ]*\).*/\1/p' <<<"$started")
admin=$(sed -n 's/.*admin_listen=\([^ ]*\).*/\1/p' <<<"$started")
echo "gateway: $started"
grep -q 'grpc_tls=mutual auth=bearer' <<<"$started"

run() {  # label, then eventgen flags; prints acked
  local label=$1
  shift
  local out
  out=$("$eventgen" --target "$grpc" --count 200 --clients 10 --streams 2 --json \
    --drain-timeout 3 "$@" 2>/dev/null || true)
  local acked
  acked=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["acked"])' "$out")
  echo "$label: acked=$acked" >&2
  echo "$acked"
}

good=$(WGW_TOKEN=$good_token run good --tls-ca "$dir/ca.pem" --tls-cert "$dir/client.pem" \
  --tls-key "$dir/client.key")
[ "$good" = 200 ]
wrong=$(run wrong-token --token wrong-token-0123456789abc --tls-ca "$dir/ca.pem" \
  --tls-cert "$dir/client.pem" --tls-key "$dir/client.key")
[ "$wrong" = 0 ]
expired=$(WGW_TOKEN=$good_token run expired --tls-ca "$dir/ca.pem" \
  --tls-cert "$dir/expired.pem" --tls-key "$dir/expired.key")
[ "$expired" = 0 ]
rogue=$(WGW_TOKEN=$good_token run rogue --tls-ca "$dir/ca.pem" --tls-cert "$dir/rogue.pem" \
  --tls-key "$dir/rogue.key")
[ "$rogue" = 0 ]
plain=$(WGW_TOKEN=$good_token run plaintext)
[ "$plain" = 0 ]

metrics=$(python3 -c 'import sys,urllib.request; print(urllib.request.urlopen("http://"+sys.argv[1]+"/metrics").read().decode())' "$admin")
unauth=$(awk '$1=="webhookgw_streams_unauthenticated_total" {print $2}' <<<"$metrics")
echo "webhookgw_streams_unauthenticated_total=$unauth"
[ "$unauth" -ge 1 ]
if grep -q -- "$good_token\|wrong-token-0123456789abc" "$dir/gw.log"; then
  echo "a token appears in the gateway log" >&2
  exit 1
fi
echo ok
