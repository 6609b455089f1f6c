#!/usr/bin/env bash
# Rebuild pkg/ (or the folder given) from the sources: two wasm modules of this crate,
# each cargo (wasm32) → wasm-bindgen --target web → wasm-opt (npm binaryen):
#   pkg/      the CPU module: burn-ndarray with SIMD, built for speed (profile wasm-cpu)
#   pkg/gpu/  the WebGPU module: burn-wgpu + ndarray, built for size (profile wasm, feature webgpu)
#   pkg/seed.bin.gz  the seed network's weights (weights/seed.bin), fetched on demand
# The output depends only on the sources and Cargo.lock (cargo names this crate's
# files by relative paths), so CI can compare a rebuild with the committed pkg/.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-pkg}

# The npm build of binaryen (Debian's 108 produced a module that fails at init).
# `strip` drops the target-features section, so the features are named here.
features=(--enable-bulk-memory --enable-bulk-memory-opt --enable-nontrapping-float-to-int
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue --enable-simd)

# wasm-opt is a pure function of its input, flags and version, and takes minutes, so
# each run is remembered in .ci/wasm-opt.sums: "input-sha256 options-sha256
# output-sha256 module". A check (any folder but pkg/) whose wasm-bindgen output and
# options are on record takes pkg/'s module instead, once its hash is the recorded one.
sums=.ci/wasm-opt.sums
sha() { sha256sum "$@" | cut -c1-64; } # of the files named, else of stdin
optimise() { # module (relative to the output folder), wasm-opt level
  local module=$1 level=$2 file=$out/$1 input options output
  input=$(sha "$file")
  options=$( { node_modules/.bin/wasm-opt --version; echo "$level ${features[*]}"; } | sha)
  output=$(awk -v i="$input" -v o="$options" -v m="$module" '$1 == i && $2 == o && $4 == m { print $3 }' "$sums" 2>/dev/null || true)
  if [ "$out" != pkg ] && [ -n "$output" ] && [ "$(sha "pkg/$module")" = "$output" ]; then
    cp "pkg/$module" "$file"
    echo "wasm-opt $level $module: on record in $sums, pkg/'s module taken"
    return
  fi
  node_modules/.bin/wasm-opt "$file" -o "$file" "$level" "${features[@]}"
  output=$(sha "$file")
  if [ "$out" = pkg ]; then
    { grep -v " $module\$" "$sums" 2>/dev/null || true; echo "$input $options $output $module"; } > "$sums.new"
    mv "$sums.new" "$sums"
  fi
}

target=${CARGO_TARGET_DIR:-target}
build() { # profile, module folder (relative to the output folder), cargo flags…
  local profile=$1 dir=$2
  shift 2
  cargo build --lib --target wasm32-unknown-unknown --profile "$profile" "$@"
  mkdir -p "$out/$dir"
  wasm-bindgen --target web --out-dir "$out/$dir" "$target/wasm32-unknown-unknown/$profile/siamese_digits.wasm"
}

# Both modules build at once (their profiles keep apart in one target dir): each ends
# in a long one-thread LTO step, and side by side those fill two cores.
# The CPU module: loops vectorised and unrolled (opt-level 3), but LLVM's general
# inlining off, which keeps the first view under 1 MB gzip at the same speed (README).
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128 -C llvm-args=-inline-threshold=0" \
  build wasm-cpu "" &
cpu=$!
build wasm gpu --features webgpu &
gpu=$!
failed=0
wait "$cpu" || failed=1
wait "$gpu" || failed=1
[ "$failed" = 0 ] || { echo "building a wasm module failed" >&2; exit 1; }
optimise siamese_digits_bg.wasm -O3
optimise gpu/siamese_digits_bg.wasm -Oz

# The seed network's weights, fetched only when a visitor chooses that network;
# compressed here (gzip -n: no name or time, so the same bytes every build).
gzip -9 -n -c weights/seed.bin > "$out/seed.bin.gz"

# The service worker's cache is named after the package, so a new build reaches
# visitors who have the demo cached.
version=$(cat "$out"/siamese_digits.js "$out"/siamese_digits_bg.wasm "$out"/gpu/siamese_digits.js "$out"/gpu/siamese_digits_bg.wasm "$out"/seed.bin.gz | sha256sum | cut -c1-16)
if [ "$out" = pkg ]; then
  sed -i "s/^const VERSION = .*/const VERSION = 'pkg-$version';/" www/sw.js
elif ! grep -q "^const VERSION = 'pkg-$version';" www/sw.js; then
  echo "www/sw.js does not carry this build's version pkg-$version" >&2
  exit 1
fi
ls -l "$out" "$out/gpu"
