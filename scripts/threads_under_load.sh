#!/usr/bin/env bash
# Training throughput (tokens/s of `lstm-lm-train`) when zoo does not own every core it uses:
# alone, with more threads than cores, two runs at once, and beside a process that keeps one
# core busy. With a Python that has torch, the same situations for PyTorch's reference.
#
#   scripts/threads_under_load.sh [PYTHON]      build first: swift build -c release
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-}
zoo=.build/release/zoo
seconds=4

percent() { awk -v a="$1" -v b="$2" 'BEGIN { print 100 * a / b }'; }
rate() { awk -F'"tokens_per_s": ' '/"lstm-lm-train"/ { split($2, v, ","); print v[1] }'; }   # reads all: no SIGPIPE
zoo_run() { "$zoo" bench --only lstm-lm --seconds "$seconds" "$@" | rate; }
torch_run() { "$python" scripts/reference/torch_bench.py --only lstm-lm --seconds "$seconds" "$@" | rate; }

measure() {   # measure NAME RUNNER
  local name=$1 run=$2
  local alone more a b busy_default busy_one
  alone=$($run)
  more=$($run --threads 4)
  local out1 out2
  out1=$(mktemp); out2=$(mktemp)
  $run > "$out1" & local p1=$!
  $run > "$out2" & local p2=$!
  wait $p1 $p2
  a=$(cat "$out1"); b=$(cat "$out2"); rm -f "$out1" "$out2"
  # One core kept busy by a plain busy loop.
  ( while :; do :; done ) & local spinner=$!
  busy_default=$($run)
  busy_one=$($run --threads 1)
  kill $spinner; wait $spinner 2>/dev/null || true
  printf '%-8s alone %8.0f | --threads 4 %8.0f (%3.0f%%) | two at once %8.0f / %8.0f (%3.0f%% / %3.0f%%) | one core busy: default %8.0f, 1 thread %8.0f (%3.0f%%)\n' \
    "$name" "$alone" "$more" "$(percent "$more" "$alone")" "$a" "$b" \
    "$(percent "$a" "$alone")" "$(percent "$b" "$alone")" \
    "$busy_default" "$busy_one" "$(percent "$busy_default" "$busy_one")"
}

measure zoo zoo_run
[ -n "$python" ] && measure pytorch torch_run
exit 0
