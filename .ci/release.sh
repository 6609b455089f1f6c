#!/usr/bin/env bash
# The release bundle: what a static host needs for <siamese-digits>, nothing else.
#   bash .ci/release.sh   →   target/release-bundle/siamese-digits-<version>.tar.gz
# One folder, siamese-digits-<version>/, holding
#   www/     the element: embed.js, every module it imports (followed from the code),
#            what it loads by `new URL('…', import.meta.url)` (the engine worker, the
#            stylesheet), and their .d.ts / custom-elements.json where present;
#   pkg/     both wasm modules (pkg/ CPU, pkg/gpu/ WebGPU), their .d.ts, and
#            pkg/seed.bin.gz where the build made one — beside www/, where embed.js
#            looks for it (../pkg/);
#   VERSION, INSTALL.txt, SHA256SUMS (of every other file; `sha256sum -c SHA256SUMS`).
# Not the demo site (index.html, main.js, sw.js, page.css, blog.html…): the element
# uses none of them; the host's own pages are the pages.
# The files come from the working tree (pkg/ as committed or rebuilt by
# .ci/build-pkg.sh). The archive is reproducible: sorted names, one mtime
# (SOURCE_DATE_EPOCH, else the last commit's time), owner 0, fixed modes, gzip -n.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n '/^\[package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
[ -n "$version" ] || { echo "no [package] version in Cargo.toml" >&2; exit 1; }
name=siamese-digits-$version
out=target/release-bundle
stage=$out/$name
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}

# The element's files in www/: embed.js, then whatever the bundled modules import or
# load relative to themselves, until nothing new turns up.
list=$(node --input-type=module -e '
  import { readFileSync, existsSync } from "node:fs";
  const files = new Set(["embed.js"]);
  const queue = ["embed.js"];
  const add = (name, from) => {
    if (!existsSync(`www/${name}`)) { console.error(`www/${from} refers to www/${name}, which is missing`); process.exit(1); }
    if (!files.has(name)) { files.add(name); queue.push(name); }
  };
  while (queue.length) {
    const file = queue.shift();
    if (!file.endsWith(".js")) continue;
    const code = readFileSync(`www/${file}`, "utf8");
    // Static and dynamic imports of sibling modules, and assets next to the module.
    const refs = [
      ...code.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*["\x27]\.\/([^"\x27]+)["\x27]/gms),
      ...code.matchAll(/^\s*import\s*["\x27]\.\/([^"\x27]+)["\x27]/gm),
      ...code.matchAll(/\bimport\(\s*["\x27]\.\/([^"\x27]+)["\x27]\s*\)/g),
      ...code.matchAll(/new URL\(\s*["\x27](?:\.\/)?(\w[\w.-]*)["\x27]\s*,\s*(?:import\.meta\.url|HERE)\s*\)/g),
    ];
    for (const [, name] of refs) add(name, file);
  }
  for (const name of [...files]) {
    const types = name.replace(/\.js$/, ".d.ts");
    if (types !== name && existsSync(`www/${types}`)) files.add(types);
  }
  if (existsSync("www/custom-elements.json")) files.add("custom-elements.json");
  console.log([...files].sort().join("\n"));
')
mapfile -t www <<< "$list"
for f in embed.js embed.css engine-worker.js; do
  printf '%s\n' "${www[@]}" | grep -qx "$f" || { echo "the element's $f was not found by following embed.js" >&2; exit 1; }
done

rm -rf "$stage" "$out/$name.tar.gz"
mkdir -p "$stage/www" "$stage/pkg/gpu"
for f in "${www[@]}"; do cp "www/$f" "$stage/www/$f"; done
shopt -s nullglob
pkg=(pkg/siamese_digits* pkg/gpu/siamese_digits* pkg/seed.bin*)
shopt -u nullglob
for f in pkg/siamese_digits.js pkg/siamese_digits_bg.wasm pkg/gpu/siamese_digits.js pkg/gpu/siamese_digits_bg.wasm; do
  [ -f "$f" ] || { echo "$f is missing: run .ci/build-pkg.sh" >&2; exit 1; }
done
for f in "${pkg[@]}"; do cp "$f" "$stage/$f"; done
# Whatever the worker loads from pkg/ (`new URL('…', pkg)`) must be in the bundle.
for f in $(grep -ohE "new URL\(\s*['\"][A-Za-z0-9_./-]+['\"]\s*,\s*pkg\s*\)" "${www[@]/#/www/}" | sed -E "s/^new URL\(\s*['\"]([^'\"]+)['\"].*/\1/" | sort -u); do
  [ -f "$stage/pkg/$f" ] || { echo "www/ loads pkg/$f, which is not in pkg/: run .ci/build-pkg.sh" >&2; exit 1; }
done
# A custom-elements manifest at the top names its modules from here (www/embed.js).
[ -f custom-elements.json ] && cp custom-elements.json "$stage/"

echo "$version" > "$stage/VERSION"
cat > "$stage/INSTALL.txt" <<EOF
siamese-digits $version — <siamese-digits>, a Siamese network for handwritten digits
in your page (WebAssembly in a Web Worker; WebGPU where the browser has it).

1. Copy this folder to any static host, keeping www/ and pkg/ side by side
   (embed.js finds the engine in ../pkg/), e.g. as /vendor/siamese-digits/.
   Serve .wasm as application/wasm. Pages on another origin than the files
   need Access-Control-Allow-Origin on them (modules, worker and wasm are
   fetched with CORS).
2. In the page, once:
     <script type="module" src="/vendor/siamese-digits/www/embed.js"></script>
   and wherever the demo goes:
     <siamese-digits mode="compare"></siamese-digits>
   mode="compare" | "gallery" | "full"; backend="auto" | "webgpu" | "cpu";
   pkg="URL" if pkg/ is not next to www/.

Check the copy: sha256sum -c SHA256SUMS (in this folder).
Documentation: the project's README ("Put it in a blog post"). License: MIT OR Apache-2.0.
EOF

(cd "$stage" && find . -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort | xargs -d '\n' sha256sum > SHA256SUMS)

# Reproducible archive: the same files give the same bytes.
find "$stage" -type d -exec chmod 755 {} + && find "$stage" -type f -exec chmod 644 {} +
tar --sort=name --format=gnu --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
  -C "$out" -cf - "$name" | gzip -9 -n > "$out/$name.tar.gz"

echo "$out/$name.tar.gz ($(stat -c %s "$out/$name.tar.gz") bytes):"
tar -tvzf "$out/$name.tar.gz"
