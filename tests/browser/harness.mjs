// Shared set-up for the browser tests: the static server, Debian's Chromium with
// or without a (software) WebGPU adapter, and a page that fails the test on any
// console error or request to another host.
import { chromium } from 'playwright-core';
import { serve } from '../../.ci/serve.mjs';

export const BACKENDS = {
  // SwiftShader's WebGPU adapter: what a browser with WebGPU looks like here. Without
  // Dawn's bounds clamping in every shader (robustness): on a CPU it costs a quarter
  // of the WebGPU tests' time, and a kernel that read out of bounds would show here
  // anyway, as distances unlike the CPU module's. Validation stays on.
  webgpu: ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader', '--use-webgpu-adapter=swiftshader', '--enable-dawn-features=disable_robustness'],
  // No flag: navigator.gpu exists but requestAdapter() resolves to null.
  cpu: [],
};

/** The static server on a free port; `headers` are added to every response. */
export async function startServer(headers = {}) {
  const server = await serve({ port: 0, headers });
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

/** Chromium on `backend`; `extra` flags are added (e.g. to lift the frame-rate limit). */
export async function launch(backend, extra = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', ...BACKENDS[backend], ...extra],
  });
}

/** Input is delivered once a frame: without the 60 Hz limit, long drawn trials run ~2.5× faster. */
export const UNTHROTTLED = ['--disable-frame-rate-limit', '--disable-gpu-vsync'];

/** The page's console errors, page errors and requests to hosts other than `origin`, as they come. */
export function problemsOf(page, origin) {
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => { if (!r.url().startsWith(origin) && !r.url().startsWith('data:') && !r.url().startsWith('blob:')) problems.push(`request to another host: ${r.url()}`); });
  return problems;
}

/** A page in a new context, its problems collected (problemsOf). */
export async function openPage(browser, origin, path, contextOptions = {}) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  const problems = problemsOf(page, origin);
  if (path) await page.goto(origin + path);
  return { context, page, problems };
}
