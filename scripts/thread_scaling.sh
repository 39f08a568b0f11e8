#!/usr/bin/env bash
# Throughput of the batch-1 and decoding workloads of `zoo bench` at growing thread counts, to
# check that more threads never make them slower (each op forks only the threads its work pays
# for). Prints a table, rounds alternating thread counts, medians; exits 1 if a workload at some
# count is more than 10% slower than at a smaller one. Release build.
#
#   scripts/thread_scaling.sh                       threads 1, 2 and 16, 3 rounds
#   scripts/thread_scaling.sh --threads "1 2 4 8 16" --rounds 5 --only lstm-lm-batch1
set -euo pipefail
cd "$(dirname "$0")/.."

counts="1 2 16" rounds=3 only="lstm-lm-batch1 seq2seq-attn caption"
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) counts=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --only) only=$2; shift ;;
    *) echo "thread_scaling: unknown option '$1' (--threads \"1 2 16\", --rounds N, --only \"WORKLOAD ...\")" >&2; exit 2 ;;
  esac
  shift
done
swift build -c release --product zoo >&2
zoo=.build/release/zoo
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for round in $(seq "$rounds"); do
  echo "thread_scaling: round $round of $rounds" >&2
  for w in $only; do
    for t in $counts; do
      "$zoo" bench --only "$w" --threads "$t" --seconds 2 | sed "s/^/$t /" >> "$log"
    done
  done
done
python3 - "$log" "$counts" <<'PY'
import json, statistics, sys
counts = [int(c) for c in sys.argv[2].split()]
rates = {}
for line in open(sys.argv[1]):
    threads, record = line.split(" ", 1)
    d = json.loads(record)
    if d["bench"].endswith("-train"):
        continue  # batch-1 and decoding work: inference only
    unit = next(k for k in d if k.endswith("_per_s"))
    rates.setdefault((d["bench"], unit), {}).setdefault(int(threads), []).append(d[unit])
print("| workload | unit | " + " | ".join(f"{c} threads" for c in counts) + " |")
print("| --- | --- | " + " | ".join("---:" for _ in counts) + " |")
slower = []
for (bench, unit), by in rates.items():
    medians = {c: statistics.median(by[c]) for c in counts}
    print(f"| {bench} | {unit.replace('_per_s', '/s')} | " + " | ".join(f"{medians[c]:.0f}" for c in counts) + " |")
    for i, c in enumerate(counts):
        best = max(medians[d] for d in counts[:i + 1])
        if medians[c] < 0.9 * best:
            slower.append(f"{bench}: {medians[c]:.0f} at {c} threads, {best:.0f} with fewer")
for s in slower:
    print("slower with more threads: " + s, file=sys.stderr)
sys.exit(1 if slower else 0)
PY
