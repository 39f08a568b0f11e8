#!/usr/bin/env bash
# Installs the system libraries RNN Zoo links against (Debian/Ubuntu), then builds `zoo` in
# release mode. Safe to run again: it installs only what is missing.
#
#   scripts/setup.sh                 install and build .build/release/zoo
#   scripts/setup.sh --deps          install the system packages only
#   scripts/setup.sh --prefix DIR    also install DIR/bin/zoo and its bash, zsh and fish completions
set -euo pipefail
cd "$(dirname "$0")/.."

deps_only="" prefix=""
while [ $# -gt 0 ]; do
  case "$1" in
    --deps) deps_only=1 ;;
    --prefix) [ $# -ge 2 ] || { echo "setup: --prefix needs a directory" >&2; exit 2; }; prefix=$2; shift ;;
    --prefix=*) prefix=${1#--prefix=} ;;
    *) echo "setup: unknown option '$1' (use --deps or --prefix DIR)" >&2; exit 2 ;;
  esac
  shift
done

packages=(
  pkg-config
  libopenblas-dev   # BLAS: every matrix product
  libsndfile1-dev   # audio files for speech recognition
  libpng-dev        # images for captioning, loss-curve plots
  espeak-ng         # speech synthesis for the built-in speech data set
  libopenmpi-dev    # Open MPI: data-parallel training (mpirun -np N zoo train ...)
  openmpi-bin       # mpirun
)

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  updated=1
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v swift >/dev/null 2>&1; then
  # Debian 13 and recent Ubuntu package Swift as `swiftlang`; older releases need swift.org's toolchain.
  [ -n "${updated:-}" ] || $sudo apt-get update -qq
  if apt-cache policy swiftlang 2>/dev/null | grep -q "Candidate: [0-9]"; then
    echo "setup: installing swiftlang"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends swiftlang
  fi
fi
if ! command -v swift >/dev/null 2>&1; then
  echo "setup: no Swift toolchain on PATH and none packaged for this release." >&2
  echo "setup: install Swift 6 from swift.org (or with swiftly), then run this again." >&2
  exit 1
fi

[ -n "$deps_only" ] && exit 0
swift build -c release --product zoo
echo "setup: built .build/release/zoo"

if [ -n "$prefix" ]; then
  zoo=.build/release/zoo
  install -D -m 755 "$zoo" "$prefix/bin/zoo"
  mkdir -p "$prefix/share/bash-completion/completions" "$prefix/share/zsh/site-functions" \
           "$prefix/share/fish/vendor_completions.d"
  "$zoo" --generate-completion-script bash > "$prefix/share/bash-completion/completions/zoo"
  "$zoo" --generate-completion-script zsh > "$prefix/share/zsh/site-functions/_zoo"
  "$zoo" --generate-completion-script fish > "$prefix/share/fish/vendor_completions.d/zoo.fish"
  echo "setup: installed $prefix/bin/zoo and its completions under $prefix/share"
  case ":$PATH:" in *":$prefix/bin:"*) ;; *) echo "setup: add $prefix/bin to your PATH" ;; esac
fi
