#!/usr/bin/env bash
# Load on `zoo serve` with wrk: translate and caption with 1, 4 and 16 concurrent clients, then
# good and bad requests at the same time. Prints one markdown table: requests/s, p50 and p99
# latency, errors, and the server's resident memory (peak, and at the start and the end of the
# run). Needs a release build, wrk (Debian's), and trained models in runs/translation and
# runs/captioning (`zoo train translation`, `zoo train captioning`).
#
#   scripts/serve_load.sh                      30 s per row
#   DURATION=5 scripts/serve_load.sh           shorter rows
#   SERVE_ARGS="--concurrent 2 --threads 1" scripts/serve_load.sh
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-30}
port=${PORT:-18080}
zoo=.build/release/zoo
image=${IMAGE:-runs/captioning-data/images/test/0.png}
command -v wrk >/dev/null || { echo "serve_load: wrk is missing (apt install wrk)" >&2; exit 1; }
[ -x "$zoo" ] || { echo "serve_load: build first: swift build -c release --product zoo" >&2; exit 1; }
[ -f "$image" ] || { echo "serve_load: no image at $image (zoo data captioning --out runs/captioning-data, or IMAGE=...)" >&2; exit 1; }

work=$(mktemp -d)
# shellcheck disable=SC2086
$zoo serve --port "$port" ${SERVE_ARGS:-} > "$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$work/serve.log" >&2; exit 1; }

# The server's resident memory, once a second, for the whole run (and after each row below).
( while kill -0 $server 2>/dev/null; do ps -o rss= -p $server >> "$work/rss"; sleep 1; done ) &
sampler=$!

cat > "$work/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %.1f %.1f %.1f %d %d %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests, summary.errors.status, errors))
end
LUA
cat > "$work/translate.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"text": "Yesterday the children saw our dog.", "beam": 5}'
LUA
cat > "$work/bad.lua" <<'LUA'
local bodies = {'{"text": ', '{"beam": 3}', '{"text": 5}', ''}
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/v1/translate", {["Content-Type"] = "application/json"}, bodies[n % #bodies + 1])
end
LUA
cat > "$work/caption.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "image/png"
local file = io.open("$PWD/$image", "rb")
wrk.body = file:read("*a")
file:close()
LUA
for f in translate bad caption; do cat "$work/report.lua" >> "$work/$f.lua"; done

row() {  # endpoint script clients label
  local result
  result=$(wrk -t "$(( $3 < 2 ? $3 : 2 ))" -c "$3" -d "${duration}s" --timeout 30s -s "$work/$2.lua" \
    "http://127.0.0.1:$port/v1/$1" | grep '^RESULT')
  read -r _ rate p50 p99 total non2xx errors <<<"$result"
  echo "| $4 | $3 | $rate | $p50 | $p99 | $total | $non2xx | $errors | $(( $(ps -o rss= -p $server) / 1024 )) |"
}

echo "| run | clients | requests/s | p50 ms | p99 ms | requests | non-2xx | socket errors | RSS MiB after |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for clients in 1 4 16; do row translate translate "$clients" "translate, beam 5"; done
for clients in 1 4 16; do row caption caption "$clients" "caption, beam 3"; done
# The same load again: memory that only grew with the first pass (buffers sized to the largest
# batch, kept for reuse) stays where it is; a leak would grow again.
row translate translate 16 "translate, beam 5, again"
row caption caption 16 "caption, beam 3, again"
# Good and bad requests at once: every good one is served; every bad one gets its 4xx.
row translate bad 4 "bad JSON, beside the next row" > "$work/bad.row" &
bad=$!
row translate translate 4 "translate, beside bad JSON"
wait $bad
cat "$work/bad.row"
kill $sampler 2>/dev/null || true
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && echo "server still serving after the run"
awk 'NR == 1 { first = $1 } { last = $1; if ($1 > peak) peak = $1 } END {
  printf "resident memory: %.0f MiB at the start, %.0f MiB at the end, %.0f MiB at most (%d samples)\n", first / 1024, last / 1024, peak / 1024, NR }' "$work/rss"
