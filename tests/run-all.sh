#!/usr/bin/env bash
# Every test of the project, on a fresh machine too: installs what is missing
# (.ci/install.sh), runs the Rust tests while it checks that the committed pkg/ is
# what the sources build, then drives Debian's Chromium on WebGPU and on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each stage's minutes, printed at the end (and where a failure stops the run).
timings=()
stage() { # the next stage's title
  [ -n "${title:-}" ] && timings+=("$(printf '%3d:%02d  %s' $(((SECONDS - start) / 60)) $(((SECONDS - start) % 60)) "$title")")
  title=$1 start=$SECONDS
  [ -n "$title" ] && echo "== $title"
  return 0
}
report() { stage ''; printf '%s\n' "== Time per stage (min:s)" "${timings[@]}"; }
pkg=
trap '[ -n "$pkg" ] && kill -- -"$pkg" 2>/dev/null; report' EXIT

# Node.js 20.15 or newer (package.json's engines); checked on 20, 22, 24 and
# 26. To run the tests on another Node, put its bin/ first on PATH.
stage "Node.js $(node --version) ($(command -v node))"
node -e 'const [a, b] = process.versions.node.split(".").map(Number);
  if (a < 20 || (a === 20 && b < 15)) { console.error("Node.js 20.15 or newer is needed (zlib.crc32)"); process.exit(1); }'

stage "Install what is missing"
bash .ci/install.sh

# The pkg/ check rebuilds both wasm modules (about 20 CPU-minutes) in its own target
# dir while cargo builds and runs the native tests: builds side by side fill the 2
# cores better than one after the other (each ends in a long one-thread step). At
# nice 19: the native build's longest chain (burn-ndarray, about 6 minutes on one
# core) then never waits, and the wasm builds take every core it leaves. The browser
# tests run after both, alone, because timings are among what they check. Its own
# process group (set -m), to stop it on exit.
rm -rf target/pkg-check && mkdir -p target
set -m
CARGO_TARGET_DIR=target/pkg-check-build nice -n 19 bash .ci/build-pkg.sh target/pkg-check > target/pkg-check.log 2>&1 &
pkg=$!
set +m

stage "Rust: unit and integration tests (the pkg/ rebuild beside them)"
cargo test --release

stage "pkg/ must match the sources (the rest of its rebuild)"
status=0
wait "$pkg" || status=$?
pkg= # ended: nothing left for the exit trap to stop
if [ "$status" != 0 ]; then
  cat target/pkg-check.log >&2
  echo "building pkg/ from the sources failed" >&2
  exit 1
fi
if ! diff -r pkg target/pkg-check; then
  echo "pkg/ is stale: run .ci/build-pkg.sh and commit pkg/" >&2
  exit 1
fi

# The element's and the engine's declarations (www/*.d.ts, pkg/*.d.ts) used as a page
# would use them; example.ts's @ts-expect-error lines fail if a type decays to any.
stage "Types: tsc --strict on tests/types"
node_modules/.bin/tsc -p tests/types

stage "Browser: engine and page in Chromium (WebGPU and CPU), the release bundle"
# The files by name (bash expands the pattern): Node 20 and 26 take a folder, but
# 22 and 24 read every argument as a file or a glob. One reporter on every version.
node --test --test-concurrency=1 --test-reporter=spec tests/browser/*.test.mjs
