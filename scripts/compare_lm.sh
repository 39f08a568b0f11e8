#!/usr/bin/env bash
# Training throughput of the character LSTM of docs/comparisons.md in zoo and in PyTorch
# (scripts/reference/torch_char_lm.py), alternately in one shell session: median tokens/s of
# each side over ROUNDS runs of STEPS steps, and their ratio.
#
#   scripts/compare_lm.sh [ROUNDS] [STEPS] [PYTHON]   defaults: 3, 150, /tmp/torchref/bin/python
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
steps=${2:-150}
python=${3:-/tmp/torchref/bin/python}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
.build/release/zoo data lm --out "$work/data" > /dev/null
model=(--cell lstm --layers 1 --hidden-size 512 --embedding-size 128 --batch-size 32 --bptt 64 --learning-rate 2e-3 --clip 5)
for i in $(seq "$rounds"); do
  .build/release/zoo train lm --data "$work/data" "${model[@]}" --steps "$steps" --log-every "$steps" \
    --eval-every "$steps" --json --overwrite --out "$work/run" | grep train_loss >> "$work/zoo.jsonl"
  "$python" scripts/reference/torch_char_lm.py --data "$work/data" "${model[@]}" --steps "$steps" \
    --eval-every "$steps" >> "$work/torch.jsonl"
done
python3 - "$work" <<'PY'
import json, statistics, sys
zoo = statistics.median(json.loads(l)["units_per_s"] for l in open(sys.argv[1] + "/zoo.jsonl"))
torch = statistics.median(json.loads(l)["tokens_per_s"] for l in open(sys.argv[1] + "/torch.jsonl"))
print(f"training tokens/s: zoo {zoo:.0f}, PyTorch {torch:.0f}, ratio {zoo / torch:.2f}")
PY
