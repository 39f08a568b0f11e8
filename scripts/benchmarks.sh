#!/usr/bin/env bash
# Measures every `zoo bench` workload against the PyTorch reference bench
# (scripts/reference/torch_bench.py), alternately in one shell session, and writes the result:
# docs/benchmarks.md (the dated table, the commit, the machine as `zoo info` shows it, this
# command) and docs/benchmarks.svg (the ratios as a chart). Release build; the Python needs torch
# and numpy, in a virtual environment outside the repository:
#
#   python3 -m venv /tmp/torchref && /tmp/torchref/bin/pip install torch numpy sacrebleu pillow safetensors   # once
#   scripts/benchmarks.sh                  3 rounds, 2 threads, /tmp/torchref/bin/python
#   scripts/benchmarks.sh --print          the same, the table printed, nothing written
#   scripts/benchmarks.sh --rounds 5 --threads 1 --only seq2seq-attn --python PATH --print
#   scripts/benchmarks.sh --reference OTHER/torch_bench.py --print   another copy of the reference
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3 threads=2 python=/tmp/torchref/bin/python only="" print="" reference=scripts/reference/torch_bench.py
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift ;;
    --threads) threads=$2; shift ;;
    --python) python=$2; shift ;;
    --only) only=$2; shift ;;
    --reference) reference=$2; shift ;;
    --print) print=1 ;;
    *) echo "benchmarks: unknown option '$1' (--rounds N, --threads N, --python PATH, --only WORKLOAD, --reference FILE, --print)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$reference" != scripts/reference/torch_bench.py ] && [ -z "$print" ]; then
  echo "benchmarks: docs/benchmarks.md is measured against scripts/reference/torch_bench.py; add --print for another reference" >&2
  exit 2
fi
if [ -n "$only" ] && [ -z "$print" ]; then
  echo "benchmarks: --only measures part of the table; add --print (docs/benchmarks.md holds every workload)" >&2
  exit 2
fi
"$python" -c "import torch, numpy, sacrebleu, PIL, safetensors" 2>/dev/null || {
  echo "benchmarks: $python cannot import torch, numpy, sacrebleu, PIL and safetensors (the reference bench imports the task twins); python3 -m venv /tmp/torchref && /tmp/torchref/bin/pip install torch numpy sacrebleu pillow safetensors" >&2
  exit 1
}

# The commit the binary is built from (checked before the build: the tree may change while the
# rounds run).
commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- Sources Package.swift || commit="$commit with uncommitted changes"
swift build -c release --product zoo >&2
zoo=.build/release/zoo
workloads=${only:-$($zoo bench --list)}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Alternating rounds, so that both sides see the machine in the same moods.
for round in $(seq "$rounds"); do
  echo "benchmarks: round $round of $rounds" >&2
  for w in $workloads; do
    $zoo bench --only "$w" --threads "$threads" | sed 's/^/zoo /' >> "$log"
    "$python" "$reference" --only "$w" --threads "$threads" | sed 's/^/torch /' >> "$log"
  done
done

info=$($zoo info --threads "$threads")
torch_version=$("$python" -c "import torch; print(torch.__version__)")
command="scripts/benchmarks.sh --rounds $rounds --threads $threads"

python3 - "$log" "$print" "$rounds" "$threads" "$commit" "$torch_version" "$command" "$info" <<'PY'
import datetime, json, statistics, sys

log, print_only, rounds, threads, commit, torch_version, command, info = sys.argv[1:]
UNITS = ("tokens_per_s", "frames_per_s", "images_per_s")
rates = {}
for line in open(log):
    side, text = line.split(" ", 1)
    row = json.loads(text)
    unit = next(u for u in UNITS if u in row)
    rates.setdefault(row["bench"], {"unit": unit.replace("_per_s", "/s")}).setdefault(side, []).append(row[unit])
rows = [(name, r["unit"], statistics.median(r["zoo"]), statistics.median(r["torch"])) for name, r in rates.items()]

table = ["| workload | unit | zoo | PyTorch | zoo / PyTorch |", "| --- | --- | ---: | ---: | ---: |"]
for name, unit, z, t in rows:
    table.append(f"| {name} | {unit} | {z:.0f} | {t:.0f} | {z / t:.2f} |")
if print_only:
    print("\n".join(table))
    sys.exit()

# The chart: one bar per workload, its length the ratio, a rule at 1 (as fast as PyTorch).
width, left, bar, gap, top = 720, 190, 18, 6, 40
scale_max = max(2.0, max(z / t for _, _, z, t in rows) * 1.05)
span = width - left - 60
height = top + len(rows) * (bar + gap) + 40
def x(ratio): return left + ratio / scale_max * span
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
       f'<rect width="{width}" height="{height}" fill="white"/>',
       f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="14">zoo bench / PyTorch, {threads} threads (higher is faster)</text>']
for k, (name, _, z, t) in enumerate(rows):
    y = top + k * (bar + gap)
    ratio = z / t
    color = "#3b7dd8" if ratio >= 1 else "#d8593b"
    svg.append(f'<text x="{left - 8}" y="{y + bar - 5}" text-anchor="end">{name}</text>')
    svg.append(f'<rect x="{left}" y="{y}" width="{x(ratio) - left:.1f}" height="{bar}" fill="{color}"/>')
    svg.append(f'<text x="{x(ratio) + 4:.1f}" y="{y + bar - 5}">{ratio:.2f}</text>')
axis = top + len(rows) * (bar + gap)
tick = 0.0
while tick <= scale_max + 1e-9:
    svg.append(f'<line x1="{x(tick):.1f}" y1="{top - 4}" x2="{x(tick):.1f}" y2="{axis}" stroke="{"black" if tick == 1 else "#cccccc"}"/>')
    svg.append(f'<text x="{x(tick):.1f}" y="{axis + 16}" text-anchor="middle">{tick:g}</text>')
    tick += 0.5
svg.append("</svg>")
open("docs/benchmarks.svg", "w").write("\n".join(svg) + "\n")

today = datetime.date.today().isoformat()
doc = f"""# Benchmarks

`zoo bench` against the PyTorch reference bench (`scripts/reference/torch_bench.py`: the same
models, sizes, workload names and JSON fields), {threads} threads on both sides, medians of
{rounds} alternating rounds in one shell session. Release build. This page is written by the
command below; run it again rather than editing it.

- measured: {today}
- commit: {commit}
- PyTorch: {torch_version}
- command: `{command}`
- machine (`zoo info --threads {threads}`):

```
{info}
```

{chr(10).join(table)}

![zoo / PyTorch per workload](benchmarks.svg)

Units are the workload's own: tokens, CTC frames or images per second, of a training step
(`-train`: forward, loss, backward, clipping, Adam) or of inference (`-infer`, `-decode`:
greedy decoding for the sequence models). What each workload runs is described at the top of
`scripts/reference/torch_bench.py`. On a shared machine single runs swing by 10–15 %: compare
medians of alternating rounds, and read a ratio within about 0.1 of another as the same.
Training quality against the PyTorch twins of each task is in [comparisons.md](comparisons.md).
"""
open("docs/benchmarks.md", "w").write(doc)
print("\n".join(table))
PY
