#!/usr/bin/env bash
# Wall time of each task's default training run against its PyTorch twin in scripts/reference/
# (same model, data, batching and schedule), at equal steps, alternately in one shell session:
# the median seconds of each side over ROUNDS runs and their ratio (PyTorch's wall / zoo's, so
# above 1 means zoo is faster). Both sides use THREADS threads and the task's built-in data,
# written once with `zoo data`; each run includes what the default run does besides its steps
# (loading the data, validation, the final test score). The language model is the character
# LSTM that docs/comparisons.md and scripts/compare_lm.sh use.
#
#   python3 -m venv /tmp/torchref && /tmp/torchref/bin/pip install torch numpy sacrebleu jiwer soundfile scipy pillow safetensors
#   scripts/compare_training.sh                    2 rounds of 300 steps, 2 threads, every task
#   scripts/compare_training.sh --steps 1000 --rounds 3 --threads 1 --only translation --python PATH
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=2 steps=300 threads=2 python=/tmp/torchref/bin/python only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift ;;
    --steps) steps=$2; shift ;;
    --threads) threads=$2; shift ;;
    --python) python=$2; shift ;;
    --only) only=$2; shift ;;
    *) echo "compare_training: unknown option '$1' (--rounds N, --steps N, --threads N, --python PATH, --only TASK)" >&2; exit 2 ;;
  esac
  shift
done
"$python" -c "import torch, numpy, sacrebleu, jiwer, soundfile, scipy, PIL, safetensors" 2>/dev/null || {
  echo "compare_training: $python cannot import the twins' modules; python3 -m venv /tmp/torchref && /tmp/torchref/bin/pip install torch numpy sacrebleu jiwer soundfile scipy pillow safetensors" >&2
  exit 1
}
swift build -c release --product zoo >&2
zoo=$PWD/.build/release/zoo
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tasks=${only:-"language-model translation speech captioning"}

lm_model=(--cell lstm --layers 1 --hidden-size 512 --embedding-size 128 --batch-size 32 --bptt 64 --learning-rate 2e-3 --clip 5)
zoo_run() {  # TASK: one default training run of zoo
  local model=()
  [ "$1" = language-model ] && model=("${lm_model[@]}" --eval-every 200)
  "$zoo" train "$1" --data "$work/$1" "${model[@]}" --steps "$steps" --threads "$threads" --overwrite \
    --out "$work/run" > /dev/null
}
torch_run() {  # TASK: the same run of the PyTorch twin
  local script
  case "$1" in
    language-model) script=torch_char_lm.py ;;
    translation) script=torch_translation.py ;;
    speech) script=torch_speech.py ;;
    captioning) script=torch_captioning.py ;;
  esac
  (cd "$work" && "$python" "$OLDPWD/scripts/reference/$script" --data "$work/$1" --steps "$steps" --threads "$threads" > /dev/null)
}
seconds() { local start end; start=$(date +%s.%N); "$@"; end=$(date +%s.%N); awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "| task | steps | zoo (s) | PyTorch (s) | PyTorch / zoo |"
echo "| --- | ---: | ---: | ---: | ---: |"
for task in $tasks; do
  "$zoo" data "$task" --out "$work/$task" > /dev/null
  z="" t=""
  for round in $(seq "$rounds"); do
    echo "compare_training: $task, round $round of $rounds" >&2
    z="$z $(seconds zoo_run "$task")"
    t="$t $(seconds torch_run "$task")"
  done
  zm=$(echo "$z" | median) tm=$(echo "$t" | median)
  echo "| $task | $steps | $zm | $tm | $(awk -v a="$zm" -v b="$tm" 'BEGIN { printf "%.2f", b / a }') |"
  echo "compare_training: $task zoo:$z; PyTorch:$t" >&2
done
