#!/usr/bin/env bash
# Rebuild pkg/ (or the folder given) from the sources:
# cargo (size profile, wasm32) → wasm-bindgen --target web → wasm-opt (npm binaryen).
# The output depends only on the sources and Cargo.lock (cargo names this crate's
# files by relative paths), so CI can compare a rebuild with the committed pkg/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-pkg}

cargo build --lib --target wasm32-unknown-unknown --profile wasm
mkdir -p "$out"
wasm-bindgen --target web --out-dir "$out" target/wasm32-unknown-unknown/wasm/siamese_digits.wasm
# The npm build of binaryen (Debian's 108 produced a module that fails at init).
# `strip` drops the target-features section, so the features are named here.
node_modules/.bin/wasm-opt "$out/siamese_digits_bg.wasm" -o "$out/siamese_digits_bg.wasm" -Oz \
  --enable-bulk-memory --enable-bulk-memory-opt --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue
# The service worker's cache is named after the package, so a new build reaches
# visitors who have the demo cached.
version=$(cat "$out"/siamese_digits.js "$out"/siamese_digits_bg.wasm | sha256sum | cut -c1-16)
if [ "$out" = pkg ]; then
  sed -i "s/^const VERSION = .*/const VERSION = 'pkg-$version';/" www/sw.js
elif ! grep -q "^const VERSION = 'pkg-$version';" www/sw.js; then
  echo "www/sw.js does not carry this build's version pkg-$version" >&2
  exit 1
fi
ls -l "$out"
