#!/bin/sh
# Builds the gateway's unit tests with AddressSanitizer and
# UndefinedBehaviorSanitizer in BUILD_DIR (default build-sanitize) and runs
# them with ctest. The long end-to-end tests (integration, security with
# real servers, adapter) are left to the normal build.
#
# usage: tests/sanitize/run.sh [BUILD_DIR]
set -eu

src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build-sanitize}
jobs=${JOBS:-2}
tests="topic_filter_test body_test hocon_test config_test delivery_test outbound_policy_test
  gateway_integration_test adapter_test http_response_test delivery_security_test spool_test"

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DWEBHOOKGW_SANITIZE=address,undefined >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" -j"$jobs" --target $tests

# Any UBSan report fails the run, not only ASan's.
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
# The tests registered in build/gateway are exactly the gateway's unit tests.
ctest --test-dir "$build/gateway" --output-on-failure -j"$jobs"
# The in-process integration test (real gRPC and HTTP servers) and the
# adapter's tests exercise the threaded paths.
"$build/tests/gateway_integration_test"
"$build/broker_adapter/adapter_test"
# The delivery client over TLS, against real HTTPS servers.
"$build/tests/delivery_security_test"
