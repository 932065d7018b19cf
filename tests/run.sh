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
summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 600 "$@" | tee "$summary"

# Once more under AddressSanitizer and UndefinedBehaviorSanitizer, and every
# fuzzer for a bounded time. WEBHOOKGW_QUICK=1 skips both.
if [[ ${WEBHOOKGW_QUICK:-0} != 1 ]]; then
  bash tests/sanitize/run.sh "$root/build-sanitize"
  bash tests/fuzz/run_fuzzers.sh "$root/build-fuzz" "${FUZZ_SECONDS:-20}"
fi

# One closing line for whoever reads only the end of the log.
line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$summary" | tail -1)
total=${line##* out of }
failed=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$line")
echo "tests: $((total - failed)) passed, $failed failed"
