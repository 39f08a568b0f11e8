#!/usr/bin/env bash
# Data-parallel training throughput: each task's default model trained by one process with one
# thread, by `mpirun -np 2` (one thread per rank, ranks bound to cores) and by `mpirun -np 2`
# with the ranks forced over TCP (`--mca btl tcp,self`, as between machines). The rate is the
# run's own: the median `units_per_s` of its metrics.jsonl progress lines after the first
# (tokens/s for lm and translation, utterances/s for speech, images/s for captioning); under
# mpirun the same lines give the allreduce time and the whole step time.
#
# The last column is what two cores give at all: two independent processes, one per core (CPUs
# 0 and 1), each training half the batch with no communication, their rates added. Data-parallel
# training cannot beat it, and it is below 2× where the cores share caches, memory bandwidth or a
# hypervisor's time.
#
#   scripts/data_parallel_throughput.sh [--work DIR] [--only TASK]
#
# Builds zoo in release mode first. Needs Open MPI (scripts/setup.sh installs it). Runs go to
# DIR (default: a temporary directory); built-in data is made in DIR/runs the first time.
set -euo pipefail
cd "$(dirname "$0")/.."

work="" only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --work) work=$2; shift ;;
    --only) only=$2; shift ;;
    *) echo "data_parallel_throughput: unknown option '$1' (use --work DIR, --only TASK)" >&2; exit 2 ;;
  esac
  shift
done
command -v mpirun >/dev/null || { echo "data_parallel_throughput: mpirun not found (scripts/setup.sh installs Open MPI)" >&2; exit 1; }
if [ -z "$work" ]; then work=$(mktemp -d); trap 'rm -rf "$work"' EXIT; fi
mkdir -p "$work"

swift build -c release --product zoo >&2
zoo=$PWD/.build/release/zoo
mpi=(mpirun -np 2)
[ "$(id -u)" -ne 0 ] || mpi+=(--allow-run-as-root)   # containers and CI run as root
# Containers often forbid the cross-memory attach that shared-memory transfers try first.
export OMPI_MCA_btl_vader_single_copy_mechanism=none

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# field FILE NAME: the median of NAME over the progress lines of metrics.jsonl after the first.
field() {
  grep '"units_per_s"' "$1" | tail -n +2 | sed -n "s/.*\"$2\": *\([0-9.eE+-]*\).*/\1/p" | median
}

echo "measured $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(mpirun --version 2>&1 | head -1)"
echo "machine: $("$zoo" info | grep -i '^cpu' | head -1 | sed 's/^[^:]*: *//'), $(nproc) usable cores"
echo
echo "| task (unit) | steps | 1 process × 1 thread | mpirun -np 2 | speed-up | allreduce of step (share) | over TCP | speed-up | allreduce of step (share) | 2 processes, half batch each, no communication | speed-up |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"

# task unit steps log_every
for spec in "lm tokens/s 300 50" "translation tokens/s 120 20" "speech utterances/s 60 10" "captioning images/s 60 10"; do
  read -r task unit steps log_every <<<"$spec"
  [ -z "$only" ] || [ "$only" = "$task" ] || continue
  common=(train "$task" --steps "$steps" --log-every "$log_every" --eval-every "$steps" --overwrite)
  # From DIR, so that built-in data (speech synthesis takes minutes) is made once, in DIR/runs.
  (
    cd "$work"
    "$zoo" "${common[@]}" --out "$work/$task-one" --threads 1 >&2
    "${mpi[@]}" "$zoo" "${common[@]}" --out "$work/$task-two" >&2
    "${mpi[@]}" --mca btl tcp,self "$zoo" "${common[@]}" --out "$work/$task-tcp" >&2
    half=$(($(sed -n 's/.*"batch_size" *: *\([0-9]*\).*/\1/p' "$work/$task-one/run.json") / 2))
    taskset -c 0 "$zoo" "${common[@]}" --out "$work/$task-half0" --threads 1 --batch-size "$half" >&2 &
    taskset -c 1 "$zoo" "${common[@]}" --out "$work/$task-half1" --threads 1 --batch-size "$half" >&2
    wait
  )
  one=$(field "$work/$task-one/metrics.jsonl" units_per_s)
  row="| $task ($unit) | $steps | $(printf '%.0f' "$one")"
  for variant in two tcp; do
    log=$work/$task-$variant/metrics.jsonl
    rate=$(field "$log" units_per_s)
    reduce=$(field "$log" allreduce_ms_per_step)
    step=$(field "$log" ms_per_step)
    row+=$(printf ' | %.0f | %.2f× | %.2f of %.1f ms (%.1f%%)' "$rate" \
      "$(awk -v a="$rate" -v b="$one" 'BEGIN { print a / b }')" "$reduce" "$step" \
      "$(awk -v a="$reduce" -v b="$step" 'BEGIN { print 100 * a / b }')")
  done
  pair=$(awk -v a="$(field "$work/$task-half0/metrics.jsonl" units_per_s)" \
    -v b="$(field "$work/$task-half1/metrics.jsonl" units_per_s)" 'BEGIN { print a + b }')
  row+=$(printf ' | %.0f | %.2f×' "$pair" "$(awk -v a="$pair" -v b="$one" 'BEGIN { print a / b }')")
  echo "$row |"
done
echo
echo "command: scripts/data_parallel_throughput.sh${only:+ --only $only}"
