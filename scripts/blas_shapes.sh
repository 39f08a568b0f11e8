#!/usr/bin/env bash
# sgemm on the shapes RNN Zoo's models run (scripts/blas_shapes.c), with OpenBLAS (what zoo
# links), BLIS and oneDNN, at one thread and at every usable core; prints a Markdown table of
# GFLOP/s per library and the time per product. The engine itself calls BLAS single-threaded
# from each of its threads, so the one-thread column is the one its products see.
#
#   sudo apt-get install -y libblis-dev libdnnl-dev     (OpenBLAS comes with scripts/setup.sh)
#   scripts/blas_shapes.sh [SECONDS_PER_SHAPE]
#
# OpenBLAS runs the kernel `zoo info` reports (zoo corrects Debian's fallback the same way).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-0.5}
for header in /usr/include/x86_64-linux-gnu/blis.h /usr/include/dnnl.h; do
  [ -e "$header" ] || { echo "blas_shapes: $header missing: sudo apt-get install -y libblis-dev libdnnl-dev" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -DUSE_OPENBLAS scripts/blas_shapes.c -o "$work/openblas" -lopenblas
cc -O2 -DUSE_BLIS -I/usr/include/x86_64-linux-gnu scripts/blas_shapes.c -o "$work/blis" -lblis -lm -lpthread
cc -O2 -DUSE_DNNL -fopenmp scripts/blas_shapes.c -o "$work/onednn" -ldnnl

swift build -c release --product zoo >&2
kernel=$(.build/release/zoo info | sed -n 's/^kernel: *//p')
cores=$(nproc)
echo "measured $(date -u '+%Y-%m-%d %H:%M UTC'): $(.build/release/zoo info | sed -n 's/^CPU: *//p'), $cores usable cores;" \
  "OpenBLAS $(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || echo '?') ($kernel)," \
  "BLIS $(dpkg-query -W -f='${Version}' libblis-dev), oneDNN $(dpkg-query -W -f='${Version}' libdnnl-dev)"
echo
results=$work/results.tsv
for threads in 1 "$cores"; do
  OPENBLAS_CORETYPE=$kernel "$work/openblas" "$threads" "$seconds" >>"$results"
  BLIS_NUM_THREADS=$threads "$work/blis" "$threads" "$seconds" >>"$results"
  OMP_NUM_THREADS=$threads "$work/onednn" "$threads" "$seconds" >>"$results"
  [ "$cores" -gt 1 ] || break
done
# One row per shape and thread count: GFLOP/s (µs per product) for each library, best in bold.
python3 - "$results" <<'PY'
import sys
rows = {}
order = []
for line in open(sys.argv[1]):
    library, threads, name, dims, micro, gflops = line.rstrip("\n").split("\t")
    key = (name, dims, int(threads))
    if key not in rows:
        rows[key] = {}
        order.append(key)
    rows[key][library] = (float(micro), float(gflops))
libraries = ["openblas", "blis", "onednn"]
print("| shape (m × n × k) | threads | " + " | ".join(f"{l} GFLOP/s (µs)" for l in libraries) + " |")
print("| --- | ---: | " + " | ".join("---:" for _ in libraries) + " |")
for key in sorted(order, key=lambda k: (k[2], order.index(k))):
    name, dims, threads = key
    best = max(rows[key].values(), key=lambda v: v[1])[1]
    cells = []
    for l in libraries:
        micro, gflops = rows[key][l]
        text = f"{gflops:.1f} ({micro:.1f})"
        cells.append(f"**{text}**" if gflops == best else text)
    print(f"| {name} ({dims.replace('x', ' × ')}) | {threads} | " + " | ".join(cells) + " |")
PY
echo
echo "command: scripts/blas_shapes.sh $seconds"
