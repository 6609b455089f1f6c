#!/usr/bin/env bash
# Rebuild pkg/ (or the folder given) from the sources:
# cargo (size profile, wasm32) → wasm-bindgen --target web → wasm-opt (npm binaryen).
# The output depends only on the sources: paths are remapped, so any checkout
# builds the same bytes and CI can compare them with the committed pkg/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-pkg}
root=$PWD
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="--remap-path-prefix=$root=/siamese-digits --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo --remap-path-prefix=$(rustc --print sysroot)=/rust"

cargo build --lib --target wasm32-unknown-unknown --profile wasm
mkdir -p "$out"
wasm-bindgen --target web --out-dir "$out" target/wasm32-unknown-unknown/wasm/siamese_digits.wasm
# The npm build of binaryen (Debian's 108 produced a module that fails at init).
# `strip` drops the target-features section, so the features are named here.
node_modules/.bin/wasm-opt "$out/siamese_digits_bg.wasm" -o "$out/siamese_digits_bg.wasm" -Oz \
  --enable-bulk-memory --enable-bulk-memory-opt --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue
ls -l "$out"
