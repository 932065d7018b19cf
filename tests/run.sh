#!/usr/bin/env bash
# The project's test command: installs what is missing (Debian packages),
# configures, builds and runs every test, starting the real servers the
# tests need (mosquitto, HTTP sinks, gateways) itself.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${BUILD_DIR:-$root/build}
jobs=${JOBS:-$(nproc)}

bash cmake/install-deps.sh
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 600 "$@"

# Once more under AddressSanitizer and UndefinedBehaviorSanitizer, and every
# fuzzer for a bounded time. WEBHOOKGW_QUICK=1 skips both.
if [[ ${WEBHOOKGW_QUICK:-0} != 1 ]]; then
  bash tests/sanitize/run.sh "$root/build-sanitize"
  bash tests/fuzz/run_fuzzers.sh "$root/build-fuzz" "${FUZZ_SECONDS:-20}"
fi
