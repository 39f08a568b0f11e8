#!/usr/bin/env bash
# Fuzzes the zoo's loaders with libFuzzer under AddressSanitizer.
#
#   scripts/fuzz.sh --list              the targets and what each reads
#   scripts/fuzz.sh TARGET SECONDS      build (once) and fuzz TARGET for SECONDS; exit status 1
#                                       and the crashing input under .build-fuzz/findings/ on a
#                                       finding (crash, sanitizer report, leak, time-out or an
#                                       allocation past the limits below)
#
# The build lives in .build-fuzz (Sources/ZooFuzz, which exists only with ZOO_FUZZ=1). Seeds come
# from Tests/Fuzz/Seeds/TARGET; the corpus grows in .build-fuzz/corpus/TARGET.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(png audio safetensors vocabulary bpe text-corpus parallel-corpus speech-manifest caption-manifest run-json)
# Memory limits: the process (RSS) and one allocation; loaders refuse hostile sizes before they
# allocate, so an input that needs more than this is a finding.
rss_limit_mb=2048
malloc_limit_mb=1100

if [ "${1:-}" = "--list" ]; then
  for t in "${targets[@]}"; do echo "$t"; done
  exit 0
fi
if [ $# -ne 2 ] || ! [[ " ${targets[*]} " == *" $1 "* ]] || ! [[ "$2" =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh --list | scripts/fuzz.sh TARGET SECONDS (targets: ${targets[*]})" >&2
  exit 2
fi
target=$1 seconds=$2

ZOO_FUZZ=1 swift build --scratch-path .build-fuzz --product ZooFuzz \
  -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address >&2
corpus=.build-fuzz/corpus/$target findings=.build-fuzz/findings/$target
mkdir -p "$corpus" "$findings"
cp -n Tests/Fuzz/Seeds/"$target"/* "$corpus"/ 2>/dev/null || true

# -use_value_profile helps libFuzzer through the loaders' magic numbers and length checks. The
# loaders that read paths get their inputs in memory (/dev/shm) rather than on disk.
[ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=/dev/shm
ZOO_FUZZ_TARGET=$target .build-fuzz/debug/ZooFuzz "$corpus" \
  -max_total_time="$seconds" -timeout=20 -rss_limit_mb=$rss_limit_mb -malloc_limit_mb=$malloc_limit_mb \
  -use_value_profile=1 -print_final_stats=1 -artifact_prefix="$findings/"
