// The release bundle (.ci/release.sh) as a host uses it: built twice to the same bytes,
// its VERSION Cargo.toml's, its SHA256SUMS true and complete, unpacked into an empty
// folder, served from a sub-path of one origin, and embedded by a page on another
// origin with one script tag — the element must find everything it needs in the
// bundle (the server logs every request; none may fail) and give a distance.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '../../.ci/serve.mjs';
import { launch, openPage } from './harness.mjs';
import { strokes, within, compare, onBackend } from './page-helpers.mjs';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const VERSION = readFileSync(join(REPO, 'Cargo.toml'), 'utf8').match(/^\[package\][^[]*?^version = "([^"]+)"/m)[1];
const NAME = `siamese-digits-${VERSION}`;
const TARBALL = join(REPO, 'target/release-bundle', `${NAME}.tar.gz`);
const SUBPATH = '/vendor/siamese/';

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const release = () => execFileSync('bash', ['.ci/release.sh'], { cwd: REPO, encoding: 'utf8' });
/** Every file under `dir`, as paths relative to it with `/`. */
const filesIn = (dir) => readdirSync(dir, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath ?? e.path, e.name)).split('\\').join('/')).sort();

let temp, bundle, bundleSite, hostSite;
const requests = []; // [path, status] of every request the bundle's server answered

before(async () => {
  release();
  const first = sha256(readFileSync(TARBALL));
  release();
  assert.equal(sha256(readFileSync(TARBALL)), first, 'two runs of .ci/release.sh give the same bytes');

  // Unpacked into an empty folder, under a sub-path of the bundle's origin.
  temp = mkdtempSync(join(tmpdir(), 'siamese-bundle-'));
  const vendor = join(temp, 'bundle', ...SUBPATH.split('/').filter(Boolean));
  mkdirSync(vendor, { recursive: true });
  execFileSync('tar', ['-xzf', TARBALL, '-C', vendor]);
  assert.deepEqual(readdirSync(vendor), [NAME], 'the archive holds one folder');
  bundle = join(vendor, NAME);

  bundleSite = await serve({ root: join(temp, 'bundle'), port: 0 });
  bundleSite.on('request', (req, res) => res.on('finish', () => requests.push([req.url, res.statusCode])));
  const bundleOrigin = `http://127.0.0.1:${bundleSite.address().port}`;
  bundleSite.embed = `${bundleOrigin}${SUBPATH}${NAME}/www/embed.js`;

  // The host: another origin (port), a page with the one script tag and the element.
  mkdirSync(join(temp, 'host'));
  writeFileSync(join(temp, 'host', 'post.html'), `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>A post that embeds the release bundle</title>
  <link rel="icon" href="data:,">
  <script type="module" src="${bundleSite.embed}"></script>
</head>
<body>
  <h1>Two digits</h1>
  <siamese-digits mode="compare" backend="cpu"></siamese-digits>
</body>
</html>
`);
  hostSite = await serve({ root: join(temp, 'host'), port: 0 });
});

after(() => {
  bundleSite?.close();
  hostSite?.close();
  if (temp) rmSync(temp, { recursive: true, force: true });
});

test('the archive is reproducible: gzip without name or time, entries owned by 0 with one mtime', () => {
  const gz = readFileSync(TARBALL);
  assert.equal(gz[3] & 0x08, 0, 'no file name in the gzip header (gzip -n)');
  assert.equal(gz.readUInt32LE(4), 0, 'no time in the gzip header (gzip -n)');
  const listing = execFileSync('tar', ['--numeric-owner', '-tvzf', TARBALL], { encoding: 'utf8' }).trim().split('\n').map((l) => l.split(/\s+/));
  assert.deepEqual([...new Set(listing.map((l) => l[1]))], ['0/0'], 'every entry is owned by 0/0');
  assert.equal(new Set(listing.map((l) => `${l[3]} ${l[4]}`)).size, 1, 'every entry has the same mtime');
  assert.ok(listing.every((l) => l[5].startsWith(`${NAME}/`)), 'every entry is inside the one folder');
});

test('VERSION is Cargo.toml\'s, SHA256SUMS verifies and lists every other file', () => {
  assert.equal(readFileSync(join(bundle, 'VERSION'), 'utf8'), `${VERSION}\n`);
  const sums = readFileSync(join(bundle, 'SHA256SUMS'), 'utf8').trim().split('\n').map((line) => {
    const m = line.match(/^([0-9a-f]{64}) {2}(.+)$/);
    assert.ok(m, `a sha256sum line: ${line}`);
    return m;
  });
  for (const [, hash, file] of sums) assert.equal(sha256(readFileSync(join(bundle, file))), hash, file);
  assert.deepEqual(sums.map((m) => m[2]).sort(), filesIn(bundle).filter((f) => f !== 'SHA256SUMS'));
  execFileSync('sha256sum', ['--quiet', '-c', 'SHA256SUMS'], { cwd: bundle }); // as INSTALL.txt says
});

test('the bundle holds the element and both modules, as built, and none of the demo site', () => {
  const files = filesIn(bundle);
  for (const f of ['www/embed.js', 'www/embed.css', 'www/engine-worker.js', 'www/worker-client.js', 'www/i18n.js', 'INSTALL.txt',
    'pkg/siamese_digits.js', 'pkg/siamese_digits_bg.wasm', 'pkg/gpu/siamese_digits.js', 'pkg/gpu/siamese_digits_bg.wasm']) {
    assert.ok(files.includes(f), `${f} is in the bundle`);
  }
  for (const f of files.filter((f) => /^(www|pkg)\//.test(f))) {
    assert.ok(readFileSync(join(bundle, f)).equals(readFileSync(join(REPO, f))), `${f} is the repository's`);
  }
  const extra = files.filter((f) => /\.html$|^www\/(sw|main)\.js$|page\.css$|webmanifest$/.test(f));
  assert.deepEqual(extra, [], 'no pages, service worker or demo-site files');
  assert.match(readFileSync(join(bundle, 'INSTALL.txt'), 'utf8'), /<script type="module" src="[^"]*\/www\/embed\.js"><\/script>/);
});

test('a page on another origin embeds the unpacked bundle from a sub-path and gets a distance (cpu)', { timeout: 300_000 }, async () => {
  const browser = await launch('cpu');
  try {
    const host = `http://127.0.0.1:${hostSite.address().port}`;
    const { page, problems } = await openPage(browser, host, '/post.html');
    // Loaded (the load event waits for the module graph): a file missing from the bundle shows here.
    assert.ok(await page.evaluate(() => !!customElements.get('siamese-digits')), `the element is defined: ${JSON.stringify({ problems, requests })}`);
    await page.evaluate(() => window.siameseReady);
    await onBackend(page, 'cpu');
    const { d } = await compare(page, within(page), strokes(4, 0), strokes(7, 1));
    assert.ok(Number.isFinite(d) && d > 0, `a distance: ${d}`);

    // Only the bundle's files were asked for, each one found.
    const bundleOrigin = new URL(bundleSite.embed).origin;
    const foreign = problems.filter((p) => !p.startsWith(`request to another host: ${bundleOrigin}${SUBPATH}${NAME}/`));
    assert.deepEqual(foreign, []);
    assert.deepEqual(requests.filter(([, status]) => status !== 200), [], 'every request to the bundle was answered');
    const asked = new Set(requests.map(([url]) => url.slice(`${SUBPATH}${NAME}/`.length)));
    for (const f of ['www/embed.js', 'www/embed.css', 'www/engine-worker.js', 'pkg/siamese_digits.js', 'pkg/siamese_digits_bg.wasm']) {
      assert.ok(asked.has(f), `${f} was loaded from the bundle (asked: ${[...asked].join(', ')})`);
    }
  } finally {
    await browser.close();
  }
});
