#!/usr/bin/env bash
# Installs the Debian packages mptrace builds and tests with, if any are missing.
# Called by the Makefile before the first build (and by `make deps`); safe to rerun: it only
# asks apt when dpkg says a package is absent. Uses sudo when not root.
set -euo pipefail

# One package per line, with what it is for. Keep docs/building.md in step with this list.
PACKAGES=(
  build-essential   # gcc, g++ (the oracle tests are host C++ against NVIDIA's headers), make
  pkg-config        # resolves the library flags below
  check             # unit-test framework
  libelf-dev        # call-site names from the full ELF symbol table
  libncurses-dev    # the TUI (ncursesw)
  libopenblas-dev   # simcuda's fp32/fp64 inner products
  libsqlite3-dev    # `mptrace export --format sqlite`
  tmux              # the TUI's end-to-end tests drive it in tmux
)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

echo "mptrace: installing missing Debian packages: ${missing[*]}" >&2
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "mptrace: not root and no sudo; install these packages and rerun: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "mptrace: packages installed." >&2
