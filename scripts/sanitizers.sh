#!/usr/bin/env bash
# Runs the whole test suite under a sanitizer, in a build folder of its own.
#
#   scripts/sanitizers.sh address    AddressSanitizer (leak checking off: the fuzzers cover leaks)
#   scripts/sanitizers.sh thread     ThreadSanitizer (the thread team, the feature threads)
#
# The command-line tests run the zoo built beside the tests, so it is sanitized too.
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  address) ASAN_OPTIONS=detect_leaks=0 swift test --sanitize=address --scratch-path .build-asan ;;
  thread) TSAN_OPTIONS=halt_on_error=1 swift test --sanitize=thread --scratch-path .build-tsan ;;
  *) echo "usage: scripts/sanitizers.sh address|thread" >&2; exit 2 ;;
esac
