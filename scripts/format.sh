#!/usr/bin/env bash
# Formats the Swift sources with swift-format (part of the Swift 6 toolchain) and the
# repository's .swift-format configuration (4 spaces, 120 columns).
#
#   scripts/format.sh            rewrite the files in place
#   scripts/format.sh --check    change nothing; fail, listing each place, where a file is not formatted (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
paths=(Package.swift Sources Tests Examples)
case "${1:-}" in
  "") swift format format --in-place --recursive --parallel "${paths[@]}" ;;
  --check) swift format lint --strict --recursive --parallel "${paths[@]}" ;;
  *) echo "format: unknown option '$1' (use --check, or nothing to format in place)" >&2; exit 2 ;;
esac
