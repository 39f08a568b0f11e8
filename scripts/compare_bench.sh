#!/usr/bin/env bash
# Runs `zoo bench` and the project's PyTorch reference (scripts/reference/torch_bench.py)
# alternately in one shell session and prints, per workload, the median throughput of each side
# (tokens, frames or images per second) and their ratio (zoo / PyTorch). Build zoo first
# (swift build -c release); the Python needs
# torch and numpy: python3 -m venv /tmp/torchref && /tmp/torchref/bin/pip install torch numpy
#
#   scripts/compare_bench.sh [ROUNDS] [PYTHON] [WORKLOAD]   defaults: 3, /tmp/torchref/bin/python, all
#   (WORKLOAD is one name of `zoo bench --list`, e.g. seq2seq-attn)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
python=${2:-/tmp/torchref/bin/python}
reference=scripts/reference/torch_bench.py
log=$(mktemp)
only=${3:-}
workloads=${only:-$(.build/release/zoo bench --list)}
for i in $(seq "$rounds"); do
  .build/release/zoo bench ${only:+--only "$only"} | sed 's/^/zoo /' >> "$log"
  for w in $workloads; do
    "$python" "$reference" --only "$w" | sed 's/^/torch /' >> "$log"
  done
done
python3 - "$log" <<'PY'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    side, text = line.split(" ", 1)
    row = json.loads(text)
    rate = row.get("tokens_per_s", row.get("frames_per_s", row.get("images_per_s")))
    runs.setdefault(row["bench"], {}).setdefault(side, []).append(rate)
print(f"{'workload':24} {'zoo':>10} {'PyTorch':>10} {'ratio':>6}")
for name, sides in runs.items():
    z, t = statistics.median(sides["zoo"]), statistics.median(sides["torch"])
    print(f"{name:24} {z:10.0f} {t:10.0f} {z / t:6.2f}")
PY
rm -f "$log"
