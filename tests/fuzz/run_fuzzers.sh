#!/bin/sh
# Builds every libFuzzer target with clang (ASan + UBSan) in BUILD_DIR and
# runs each for SECONDS, one after the other, on a corpus kept in
# BUILD_DIR/corpus/<fuzzer> (seeded from gateway/testdata where seeds
# exist). Exits non-zero on the first crash, leak or timeout; the
# reproducer is left in BUILD_DIR/artifacts/<fuzzer>/.
#
# usage: tests/fuzz/run_fuzzers.sh BUILD_DIR SECONDS
set -eu

if [ $# -ne 2 ]; then
  echo "usage: $0 BUILD_DIR SECONDS" >&2
  exit 2
fi
build=$1
seconds=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
jobs=${JOBS:-2}

CC=clang CXX=clang++ cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DWEBHOOKGW_FUZZ=ON -DWEBHOOKGW_SANITIZE=fuzzer-no-link,address,undefined \
  -DWEBHOOKGW_BUILD_TESTS=OFF >/dev/null
fuzzers="config_fuzzer topic_filter_fuzzer body_fuzzer stream_fuzzer http_response_fuzzer spool_fuzzer"
# shellcheck disable=SC2086
cmake --build "$build" -j"$jobs" --target $fuzzers

status=0
for f in $fuzzers; do
  corpus=$build/corpus/$f
  artifacts=$build/artifacts/$f
  mkdir -p "$corpus" "$artifacts"
  set --
  if [ -d "$src/gateway/testdata/${f}_seeds" ]; then
    set -- "$src/gateway/testdata/${f}_seeds"
  fi
  if [ -f "$src/gateway/testdata/$f.dict" ]; then
    set -- "$@" "-dict=$src/gateway/testdata/$f.dict"
  fi
  binary=$(find "$build" -name "$f" -type f -perm -u+x | head -n 1)
  log=$build/$f.log
  echo "== $f: ${seconds}s"
  if ! "$binary" "$corpus" "$@" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1; then
    echo "!! $f failed; see $log and $artifacts/" >&2
    tail -n 40 "$log" >&2
    status=1
    continue
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$log" | tr '\n' ' '
  echo "corpus=$(find "$corpus" -type f | wc -l)"
done
exit $status
