#!/usr/bin/env bash
# Every test of the project, on a fresh machine too: installs what is missing
# (.ci/install.sh), runs the Rust tests, then drives Debian's Chromium on WebGPU and
# on the CPU, while it checks that the committed pkg/ is what the sources build.
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
# dir, beside the native tests and then the browser tests: each of those leaves a
# core idle at times (a build's one-thread steps, a test waiting on a page), and the
# rebuild takes that time. It runs as SCHED_IDLE (nice 19 where chrt is missing), so
# it gets a core only when nothing else wants one: the native build's longest chain
# (burn-ndarray, several minutes on one core) never waits for it. The browser tests
# that time the page (responsive.test.mjs) run last, alone, once it has ended. Its
# own process group (set -m), to stop it on exit.
rm -rf target/pkg-check && mkdir -p target
idle=(nice -n 19)
chrt --idle 0 true 2>/dev/null && idle=(chrt --idle 0)
set -m
CARGO_TARGET_DIR=target/pkg-check-build "${idle[@]}" bash .ci/build-pkg.sh target/pkg-check > target/pkg-check.log 2>&1 &
pkg=$!
set +m

stage "Rust: unit and integration tests (the pkg/ rebuild beside them)"
cargo test --release

# The element's and the engine's declarations (www/*.d.ts, pkg/*.d.ts) used as a page
# would use them; example.ts's @ts-expect-error lines fail if a type decays to any.
stage "Types: tsc --strict on tests/types"
node_modules/.bin/tsc -p tests/types

# The files by name (bash expands the pattern): Node 20 and 26 take a folder, but
# 22 and 24 read every argument as a file or a glob. One reporter on every version.
browser() { node --test --test-concurrency=1 --test-reporter=spec "$@"; }
stage "Browser: engine and page in Chromium (WebGPU and CPU), the release bundle (the pkg/ rebuild beside them)"
# A failure here still lets the pkg/ check and the timed tests run (and tell).
failed=0
browser $(ls tests/browser/*.test.mjs | grep -v /responsive.test.mjs) || failed=1

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

stage "Browser: the page timed, alone"
browser tests/browser/responsive.test.mjs
exit "$failed"
