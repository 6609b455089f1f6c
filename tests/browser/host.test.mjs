// <siamese-digits> as the page that embeds it sees it, on both backends: its themes
// (light, dark, and auto following the visitor's preference) with readable text on
// its own surfaces and canvases in the theme's colours, the page's custom properties
// and ::part() rules, Chinese by `lang` (the element's or the page's), and the events
// it dispatches: siamese-ready, -distance, -match, -trained and -error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, openPage } from './harness.mjs';
import { strokes, within, compare, onBackend, waitForStatus } from './page-helpers.mjs';

let server, origin;
before(async () => ({ server, origin } = await startServer()));
after(() => server.close());

const EVENTS = ['siamese-ready', 'siamese-distance', 'siamese-match', 'siamese-trained', 'siamese-error'];

/**
 * A host page: a font of its own, a rule that sets custom properties and a part on
 * elements of class "custom", and a log of every event the element dispatches.
 */
async function hostPage(page, path, element) {
  await page.goto(origin + path);
  await page.evaluate(async ([events, element]) => {
    document.head.insertAdjacentHTML('beforeend', `<style>
      body { font-family: Georgia, serif; }
      siamese-digits.custom { --siamese-accent: rgb(1, 2, 3); --siamese-font: "Courier New", monospace; }
      siamese-digits.custom::part(verdict) { text-transform: uppercase; }
    </style>`);
    window.heard = [];
    for (const type of events) {
      document.addEventListener(type, (e) => window.heard.push({ type, detail: e.detail, bubbles: e.bubbles, composed: e.composed, from: e.target.id }));
    }
    await import('/www/embed.js');
    document.body.innerHTML = element;
  }, [EVENTS, element]);
}

/** The events of `type` heard so far. */
const heard = (page, type) => page.evaluate((type) => window.heard.filter((e) => e.type === type), type);

/** Wait until an event of `type` whose detail passes `check` (a function's source, of `d`) has been heard; resolves to its detail. */
async function hear(page, type, check = 'true', timeout = 120_000) {
  const handle = await page.waitForFunction(([type, check]) => window.heard.find((e) => e.type === type && new Function('d', `return ${check}`)(e.detail))?.detail, [type, check], { timeout, polling: 100 });
  return handle.jsonValue();
}

/**
 * Every piece of text in the element's shadow root (and its form controls) against the
 * background it is drawn on: `{ checked, failures: [{ text, ratio }], surface }`, the
 * surface being the panel's luminance. Disabled controls are left out (WCAG 1.4.3
 * exempts them); so are canvases, which hold no text. The verdict's colours for "same"
 * and "different" are checked too, shown or not.
 */
function readability(page) {
  return page.evaluate(() => {
    const host = document.querySelector('siamese-digits');
    const root = host.shadowRoot;
    const rgba = (colour) => {
      const m = colour.match(/^rgba?\(([^)]+)\)$/);
      if (!m) throw new Error(`unexpected colour ${colour}`);
      const [r, g, b, a = 1] = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
      return [r, g, b, a];
    };
    const over = ([r, g, b, a], [R, G, B]) => [r * a + R * (1 - a), g * a + G * (1 - a), b * a + B * (1 - a)];
    const luminance = (c) => {
      const [r, g, b] = c.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const ratio = (x, y) => { const [hi, lo] = [luminance(x), luminance(y)].sort((p, q) => q - p); return (hi + 0.05) / (lo + 0.05); };
    /** The background under `el`: its own and its ancestors' backgrounds, composited down to an opaque one. */
    const background = (el) => {
      const layers = [];
      for (let node = el; node; node = node.parentElement ?? node.getRootNode().host) {
        const c = rgba(getComputedStyle(node).backgroundColor);
        if (c[3] > 0) layers.push(c);
        if (c[3] === 1) break;
      }
      return layers.reduceRight((under, layer) => over(layer, under), [255, 255, 255]);
    };
    const failures = [];
    let checked = 0;
    const check = (el, text, colour = getComputedStyle(el).color) => {
      const bg = background(el);
      const r = ratio(over(rgba(colour), bg), bg);
      checked++;
      if (r < 4.5) failures.push({ text, ratio: Number(r.toFixed(2)), colour, background: bg.map(Math.round).join(',') });
    };
    for (const el of root.querySelectorAll('*')) {
      if (el.closest(':disabled, .upload:has(input:disabled)') || !el.checkVisibility({ checkOpacity: true, visibilityProperty: true })) continue;
      const own = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent.trim()).join(' ').trim();
      if (own || el.matches('select, input:not([type=file])')) check(el, own || el.outerHTML.slice(0, 60));
    }
    const app = root.querySelector('.app');
    const verdict = root.querySelector('[data-testid=verdict]');
    for (const property of ['--siamese-same', '--siamese-different']) {
      const probe = Object.assign(document.createElement('span'), { textContent: property });
      probe.style.color = `var(${property})`;
      verdict.append(probe);
      check(probe, property);
      probe.remove();
    }
    return { checked, failures, surface: luminance(background(app)) };
  });
}

/** Wait until pad A's canvas shows its computed background (the theme's paper) in a corner. */
async function padFollowsTheme(page, name) {
  const state = () => {
    const canvas = document.querySelector('siamese-digits').shadowRoot.querySelector('[data-testid=pad-a]');
    const want = getComputedStyle(canvas).backgroundColor.match(/\d+/g).slice(0, 3).map(Number);
    const got = [...canvas.getContext('2d').getImageData(2, 2, 1, 1).data.slice(0, 3)];
    return { want, got, same: got.every((v, i) => Math.abs(v - want[i]) <= 1) };
  };
  try {
    await page.waitForFunction(`(${state})().same`, null, { timeout: 20_000, polling: 100 });
  } catch {
    assert.fail(`${name}: pad A is not drawn in the theme's colours: ${JSON.stringify(await page.evaluate(`(${state})()`))}`);
  }
}

/**
 * Latin words in the element's text — every text node outside engine messages
 * (marked lang="en"), and the aria-labels, titles and aria-valuetexts — other than
 * `allowed`; `skip` lists strings to leave out first (the engine's own words).
 */
function latinWords(page, allowed, skip) {
  return page.evaluate(([allowed, skip]) => {
    const root = document.querySelector('siamese-digits').shadowRoot;
    const texts = [];
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (!n.parentElement?.closest('[lang=en]')) texts.push(n.textContent);
    }
    for (const el of root.querySelectorAll('[aria-label], [title], [aria-valuetext]')) {
      for (const a of ['aria-label', 'title', 'aria-valuetext']) if (el.hasAttribute(a)) texts.push(el.getAttribute(a));
    }
    const words = [];
    for (let text of texts) {
      for (const s of skip) if (s) text = text.split(s).join(' ');
      words.push(...(text.match(/[A-Za-z]{2,}/g) ?? []).filter((w) => !allowed.includes(w)));
    }
    return [...new Set(words)];
  }, [allowed, skip]);
}

// Names the element may show in Chinese as they are: the backends (WebGPU, CPU, GPU),
// the MNIST data set, and the Ctrl key, printed so on keyboards. Single letters (the
// pads A and B) and numbers are not words here.
const ALLOWED = ['WebGPU', 'CPU', 'GPU', 'MNIST', 'Ctrl'];

for (const backend of ['webgpu', 'cpu']) {
  test(`themes, languages and events for the host page on ${backend}`, { timeout: 600_000 }, async (t) => {
    const browser = await launch(backend);
    const { page, problems } = await openPage(browser, origin);
    await page.setViewportSize({ width: 900, height: 1400 });
    try {
      // ?testing: the studio's "Simulate an engine crash", for an error.
      await hostPage(page, '/tests/browser/blank.html?testing', '<siamese-digits id="demo" mode="full"></siamese-digits>');
      const ui = within(page.locator('siamese-digits'));

      await t.test('siamese-ready tells the backend and the threshold, once, bubbling and composed', async () => {
        const ready = await hear(page, 'siamese-ready');
        const info = await page.evaluate(() => document.getElementById('demo').client.info);
        assert.ok(['cpu', 'webgpu'].includes(ready.backend), ready.backend);
        assert.equal(typeof ready.threshold, 'number');
        assert.equal(ready.threshold, info.threshold);
        const [event, ...more] = await heard(page, 'siamese-ready');
        assert.deepEqual(more, []);
        assert.deepEqual([event.bubbles, event.composed, event.from], [true, true, 'demo']);
        await onBackend(page, backend);
      });

      await t.test('light, dark and auto (under a dark preference) are readable on the element\'s own surfaces', async () => {
        const schemes = [
          ['theme=light', 'light', () => page.evaluate(() => document.getElementById('demo').setAttribute('theme', 'light'))],
          ['theme=dark', 'dark', () => page.evaluate(() => document.getElementById('demo').setAttribute('theme', 'dark'))],
          ['auto, preferring dark', 'dark', async () => {
            await page.evaluate(() => document.getElementById('demo').removeAttribute('theme'));
            await page.emulateMedia({ colorScheme: 'dark' });
          }],
          ['auto, preferring light', 'light', () => page.emulateMedia({ colorScheme: 'light' })],
          ['theme=light under a dark preference', 'light', async () => {
            await page.emulateMedia({ colorScheme: 'dark' });
            await page.evaluate(() => document.getElementById('demo').setAttribute('theme', 'light'));
          }],
        ];
        for (const [name, scheme, apply] of schemes) {
          await apply();
          const { checked, failures, surface } = await readability(page);
          assert.ok(checked > 40, `${name}: ${checked} texts checked`);
          assert.deepEqual(failures, [], `${name}: text below 4.5:1`);
          assert.ok(scheme === 'dark' ? surface < 0.05 : surface > 0.8, `${name}: the panel's luminance is ${surface}`);
          await padFollowsTheme(page, name); // the canvases draw themselves again in the new colours
        }
        await page.evaluate(() => document.getElementById('demo').removeAttribute('theme'));
        await page.emulateMedia({ colorScheme: 'light' });
      });

      await t.test('the page\'s custom properties and ::part() rules reach inside; the font is the page\'s by default', async () => {
        const styles = () => page.evaluate(() => {
          const root = document.getElementById('demo').shadowRoot;
          return {
            accent: getComputedStyle(root.querySelector('.app')).accentColor,
            loss: getComputedStyle(root.querySelector('canvas.loss')).color,
            font: getComputedStyle(root.querySelector('[data-testid=train]')).fontFamily,
            verdict: getComputedStyle(root.querySelector('[data-testid=verdict]')).textTransform,
          };
        });
        const plain = await styles();
        assert.equal(plain.font, 'Georgia, serif');
        assert.notEqual(plain.accent, 'rgb(1, 2, 3)');
        await page.evaluate(() => document.getElementById('demo').classList.add('custom'));
        // Canvases change colour through a 1 ms transition (embed.css), a frame or two on a busy machine.
        await page.waitForFunction(() => getComputedStyle(document.getElementById('demo').shadowRoot.querySelector('canvas.loss')).color === 'rgb(1, 2, 3)', null, { timeout: 10_000, polling: 100 }).catch(() => {});
        assert.deepEqual(await styles(), { accent: 'rgb(1, 2, 3)', loss: 'rgb(1, 2, 3)', font: '"Courier New", monospace', verdict: 'uppercase' });
        await page.evaluate(() => document.getElementById('demo').classList.remove('custom'));
      });

      await t.test('siamese-distance follows the distance shown, naming the pad that changed, never twice the same', async () => {
        await compare(page, ui, strokes(1, 0), strokes(1, 1));
        const { d, verdict } = await compare(page, ui, strokes(7, 0), strokes(1, 1));
        const last = await hear(page, 'siamese-distance', `d.distance === ${d}`);
        assert.deepEqual(last, { distance: d, same: /same/.test(verdict), pad: 'b' });
        const all = await heard(page, 'siamese-distance');
        assert.ok(all.some((e) => e.detail.distance === null && e.detail.same === null && ['a', 'b'].includes(e.detail.pad)), 'clearing a pad (no distance then) is a change too');
        for (let i = 1; i < all.length; i++) {
          assert.notDeepEqual([all[i].detail.distance, all[i].detail.same], [all[i - 1].detail.distance, all[i - 1].detail.same], `event ${i} repeats the one before`);
        }
      });

      await t.test('siamese-match reports a pad\'s new match once a reference is added', async () => {
        await ui.testid('gallery-name').fill('环');
        await ui.testid('gallery-add-a').click();
        const match = await hear(page, 'siamese-match', "d.pad === 'a' && d.label === '环'");
        assert.equal(match.nearest, '环');
        assert.ok(match.distance < 0.01, `pad A matches the drawing it added: ${match.distance}`);
        const b = await hear(page, 'siamese-match', "d.pad === 'b'");
        assert.equal(b.nearest, '环');
        for (const pad of ['a', 'b']) {
          const mine = (await heard(page, 'siamese-match')).filter((e) => e.detail.pad === pad).map((e) => JSON.stringify(e.detail));
          assert.ok(mine.every((m, i) => i === 0 || m !== mine[i - 1]), `pad ${pad}: ${mine.join(' ')}`);
        }
      });

      await t.test('siamese-trained reports each training step with its loss', async () => {
        await page.evaluate(async () => {
          const { client } = document.getElementById('demo');
          for (const [i, digit] of [1, 7, 1, 7].entries()) await client.addItem({ kind: 'example', image: await client.sample(digit, i), label: digit });
        });
        await page.locator('siamese-digits >> [data-setting=steps]').fill('2');
        await ui.testid('train').click();
        await waitForStatus(page, /^Done after 2 steps; /, 300_000);
        const steps = (await heard(page, 'siamese-trained')).map((e) => e.detail);
        const losses = (await page.locator('siamese-digits >> canvas.loss').getAttribute('data-losses')).split(',').map(Number);
        assert.deepEqual(steps, [{ step: 1, steps: 2, loss: losses[0] }, { step: 2, steps: 2, loss: losses[1] }]);
        assert.ok(losses.every(Number.isFinite), String(losses));
      });

      await t.test('lang="zh", on the element or the page, leaves no English word; back to English at once', async () => {
        // The release is a checksum (a number, in hex), and the badge's reason the engine's own words.
        const { release, reason } = await page.evaluate(() => document.getElementById('demo').client.info);
        const skip = [release, reason];
        const verdict = () => ui.testid('verdict').textContent();
        const chinese = async (how) => {
          await page.waitForFunction(() => /[\u4e00-\u9fff]/.test(document.getElementById('demo').shadowRoot.querySelector('[data-testid=verdict]').textContent));
          assert.deepEqual(await latinWords(page, ALLOWED, skip), [], how);
          assert.match(await ui.testid('map-summary').textContent(), /^离它们最近的数字/, how);
          assert.match(await page.locator('siamese-digits >> .status-text').textContent(), /^完成了 2 步训练；/, how);
        };
        const english = () => page.evaluate(() => {
          document.getElementById('demo').removeAttribute('lang');
          document.documentElement.lang = 'en';
        });
        try {
          await page.evaluate(() => document.getElementById('demo').setAttribute('lang', 'zh'));
          await chinese('lang="zh" on the element');
          await english();
          assert.match(await verdict(), /^(same digit|different digits)$/);
          await page.evaluate(() => { document.documentElement.lang = 'zh-CN'; });
          await chinese('<html lang="zh-CN">');
          await english();
          assert.match(await verdict(), /^(same digit|different digits)$/);
          assert.match(await page.locator('siamese-digits >> .status-text').textContent(), /^Done after 2 steps; /);
        } finally {
          await english(); // the subtests after this one read English
        }
      });

      await t.test('siamese-error reports an engine crash, recovered', async () => {
        await page.locator('siamese-digits >> button[data-action=crash]').click();
        const error = await hear(page, 'siamese-error', 'd.recovered && /restarted/.test(d.message)');
        assert.match(error.message, /^The engine stopped \(.*a test panic.*\) and was restarted\./);
        // The panic hook logs it once, on the console; it is the only console error expected.
        const logged = problems.filter((p) => p.includes('a test panic'));
        assert.equal(logged.length, 1, problems.join('\n'));
        problems.splice(problems.indexOf(logged[0]), 1);
        // That the engine goes on after a restart is the page test's (page.test.mjs).
      });

      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });
}

test('a failed start is a siamese-error, not recovered', { timeout: 120_000 }, async () => {
  const browser = await launch('cpu');
  try {
    const { context, page, problems } = await openPage(browser, origin);
    await context.route('**/pkg/siamese_digits_bg.wasm', (route) => route.abort('connectionreset'));
    await hostPage(page, '/tests/browser/blank.html', '<siamese-digits id="demo" mode="compare" backend="cpu"></siamese-digits>');
    const error = await hear(page, 'siamese-error', 'true', 60_000);
    assert.equal(error.recovered, false);
    assert.match(error.message, /^Could not start the model: /);
    assert.deepEqual(await heard(page, 'siamese-ready'), []);
    // The aborted request is the only console error expected.
    assert.deepEqual(problems.filter((p) => !/siamese_digits_bg\.wasm|Failed to load resource|ERR_CONNECTION_RESET/.test(p)), []);
  } finally {
    await browser.close();
  }
});
