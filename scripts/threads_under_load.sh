#!/usr/bin/env bash
# Training throughput (tokens/s of `lstm-lm-train`) when zoo does not own every core it uses:
# alone, with more threads than cores, two runs at once, and beside a process that keeps one
# core busy. With a Python that has torch, the same situations for PyTorch's reference.
# Each situation runs ROUNDS times (default 3), zoo and PyTorch alternating round by round;
# the table shows the medians and the percentages are of medians.
#
#   scripts/threads_under_load.sh [PYTHON]      build first: swift build -c release
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-}
rounds=${ROUNDS:-3}
zoo=.build/release/zoo
seconds=4

percent() { awk -v a="$1" -v b="$2" 'BEGIN { print 100 * a / b }'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
rate() { awk -F'"tokens_per_s": ' '/"lstm-lm-train"/ { split($2, v, ","); print v[1] }'; }   # reads all: no SIGPIPE
zoo_run() { "$zoo" bench --only lstm-lm --seconds "$seconds" "$@" | rate; }
torch_run() { "$python" scripts/reference/torch_bench.py --only lstm-lm --seconds "$seconds" "$@" | rate; }

# One round of every situation for RUNNER; appends "alone more a b busy_default busy_one".
round() {
  local run=$1 alone more a b busy_default busy_one out1 out2 p1 p2 spinner
  alone=$($run)
  more=$($run --threads 4)
  out1=$(mktemp); out2=$(mktemp)
  $run > "$out1" & p1=$!
  $run > "$out2" & p2=$!
  wait $p1 $p2
  a=$(cat "$out1"); b=$(cat "$out2"); rm -f "$out1" "$out2"
  # One core kept busy by a plain busy loop.
  ( while :; do :; done ) & spinner=$!
  busy_default=$($run)
  busy_one=$($run --threads 1)
  kill $spinner; wait $spinner 2>/dev/null || true
  echo "$alone $more $a $b $busy_default $busy_one"
}

report() {   # report NAME FILE: medians of each column
  local name=$1 file=$2 col alone more a b busy_default busy_one
  col() { awk -v c="$1" '{ print $c }' "$file" | median; }
  alone=$(col 1); more=$(col 2); a=$(col 3); b=$(col 4); busy_default=$(col 5); busy_one=$(col 6)
  printf '%-8s alone %8.0f | --threads 4 %8.0f (%3.0f%%) | two at once %8.0f / %8.0f (%3.0f%% / %3.0f%%) | one core busy: default %8.0f, 1 thread %8.0f (%3.0f%%)\n' \
    "$name" "$alone" "$more" "$(percent "$more" "$alone")" "$a" "$b" \
    "$(percent "$a" "$alone")" "$(percent "$b" "$alone")" \
    "$busy_default" "$busy_one" "$(percent "$busy_default" "$busy_one")"
}

zoo_rounds=$(mktemp); torch_rounds=$(mktemp)
trap 'rm -f "$zoo_rounds" "$torch_rounds"' EXIT
for r in $(seq "$rounds"); do
  round zoo_run | tee -a "$zoo_rounds" | sed "s/^/zoo round $r: /" >&2
  if [ -n "$python" ]; then round torch_run | tee -a "$torch_rounds" | sed "s/^/pytorch round $r: /" >&2; fi
done
report zoo "$zoo_rounds"
[ -n "$python" ] && report pytorch "$torch_rounds"
exit 0
