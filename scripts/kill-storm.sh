#!/usr/bin/env bash
# kill -9 at random moments of training, each followed by --resume, for every task:
#
#   scripts/kill-storm.sh [KILLS] [TASK...]     (default: 20 kills; lm translation speech captioning)
#
# Each task trains a small model on a small data set (made once with `zoo data` under
# .build/kill-storm/) that validates and saves every 5 steps, so the kills land in steps,
# evaluations and checkpoint writes alike: each comes 0.3 to 3 s after the run wrote its run.json
# (before that, while it reads its data, there is no run to resume and none to damage). After every kill, each checkpoint in the run directory
# must load (`zoo eval` on the model files; the next --resume reads the optimizer state) and the
# saved step must never go back. After the last kill the run is resumed for 10 more steps, which
# must end cleanly at that step. Exit status 1 on the first failure, naming it.
set -euo pipefail
cd "$(dirname "$0")/.."

kills=${1:-20}
shift || true
tasks=("$@")
[ ${#tasks[@]} -eq 0 ] && tasks=(lm translation speech captioning)

swift build -c release --product zoo >&2
zoo=$PWD/.build/release/zoo
work=$PWD/.build/kill-storm
mkdir -p "$work"

fail() { echo "kill-storm: $*" >&2; exit 1; }

# The step saved in last.safetensors (0 when there is none yet), from its JSON header.
saved_step() {
  [ -f "$1/last.safetensors" ] || { echo 0; return; }
  python3 - "$1/last.safetensors" <<'EOF'
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    (n,) = struct.unpack("<Q", f.read(8))
    print(json.loads(f.read(n))["__metadata__"]["zoo.step"])
EOF
}

for task in "${tasks[@]}"; do
  data=$work/data-$task
  case $task in
    lm) model=(--hidden-size 64 --embedding-size 32 --batch-size 8 --bptt 32); data_flags=() ;;
    translation) model=(--hidden-size 32 --embedding-size 16 --batch-size 16); data_flags=() ;;
    speech) model=(--hidden-size 32 --layers 1 --batch-size 4); data_flags=(--utterances 60) ;;
    captioning) model=(--hidden-size 32 --embedding-size 16 --attention-size 16 --batch-size 4); data_flags=(--images 100) ;;
    *) fail "unknown task '$task' (lm, translation, speech, captioning)" ;;
  esac
  if [ ! -d "$data" ]; then
    "$zoo" data "$task" --out "$data" "${data_flags[@]}" > /dev/null
    if [ "$task" = translation ]; then   # 4000 pairs, and validations short enough to land kills in
      for split in train:4000 valid:100 test:100; do
        head -n "${split#*:}" "$data/${split%:*}.tsv" > "$data/part" && mv "$data/part" "$data/${split%:*}.tsv"
      done
    fi
  fi
  run=$work/run-$task
  rm -rf "$run"
  train=("$zoo" train "$task" --data "$data" --out "$run" "${model[@]}" --eval-every 5 --log-every 5 --threads 1)
  previous=0
  for round in $(seq 1 "$kills"); do
    if [ "$round" -eq 1 ]; then "${train[@]}" --steps 100000 > "$run.log" 2>&1 & else "${train[@]}" --steps 100000 --resume >> "$run.log" 2>&1 & fi
    pid=$!
    for _ in $(seq 1 1200); do [ -f "$run/run.json" ] || ! kill -0 "$pid" 2> /dev/null && break; sleep 0.05; done
    sleep "$(python3 -c "import random; print(round(random.uniform(0.3, 3.0), 2))")"
    kill -9 "$pid" 2> /dev/null || fail "$task round $round: the run ended before the kill: $(tail -3 "$run.log")"
    wait "$pid" 2> /dev/null || true
    for checkpoint in "$run"/best.safetensors "$run"/last.safetensors; do
      [ -f "$checkpoint" ] || continue
      "$zoo" eval "$task" --checkpoint "$checkpoint" --split valid --threads 1 > /dev/null 2> "$run.eval" \
        || fail "$task round $round: $checkpoint does not load: $(cat "$run.eval")"
    done
    step=$(saved_step "$run")
    [ "$step" -ge "$previous" ] || fail "$task round $round: the saved step went back from $previous to $step"
    echo "$task round $round: killed after \"$(tail -n 1 "$run.log" | cut -c1-48)\"; checkpoints load, saved step $step"
    previous=$step
  done
  "${train[@]}" --resume --steps $((previous + 10)) >> "$run.log" 2>&1 || fail "$task: the last resume failed: $(tail -3 "$run.log")"
  [ "$(saved_step "$run")" -eq $((previous + 10)) ] || fail "$task: the last resume did not end at step $((previous + 10))"
  echo "$task: $kills kills, every resume continued, ended at step $((previous + 10))"
done
