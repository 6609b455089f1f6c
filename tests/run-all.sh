#!/usr/bin/env bash
# Every test of the project, on a fresh machine too: installs what is missing
# (.ci/install.sh), runs the Rust tests, checks that the committed pkg/ is what
# the sources build, then drives Debian's Chromium on WebGPU and on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/install.sh

echo "== Rust: unit and integration tests"
cargo test --release

echo "== pkg/ must match the sources"
rm -rf target/pkg-check
bash .ci/build-pkg.sh target/pkg-check >/dev/null
if ! diff -r pkg target/pkg-check; then
  echo "pkg/ is stale: run .ci/build-pkg.sh and commit pkg/" >&2
  exit 1
fi

echo "== Browser: engine and page in Chromium (WebGPU and CPU)"
node --test --test-concurrency=1 tests/browser/
