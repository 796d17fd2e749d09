// Browser tests of the CompressTest page against a real server, in Debian's Chromium.
//
// Environment (set by ./run): COMPRESSTEST_URL (http://127.0.0.1:PORT), SCREENSHOT_DIR.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const base_url = process.env.COMPRESSTEST_URL;
const screenshot_dir = process.env.SCREENSHOT_DIR;
assert.ok(base_url && screenshot_dir, 'COMPRESSTEST_URL and SCREENSHOT_DIR must be set (use ./run)');
const server_host = new URL(base_url).host;

const test_timeout_ms = 120_000;
let context;
let temp_dir;

before(async () => {
  temp_dir = fs.mkdtempSync(path.join(os.tmpdir(), 'compresstest-browser-'));
  context = await chromium.launchPersistentContext(path.join(temp_dir, 'profile'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run',
      '--disable-quic', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
});

after(async () => {
  await context?.close();
  fs.rmSync(temp_dir, { recursive: true, force: true });
});

// Opens the page at the given width (running init_script first, if any), records every
// request it makes and waits until the codec list has loaded. Every test ends with
// assert_only_server_requests(page).
async function open_page(width = 1280, init_script = null) {
  const page = await context.newPage();
  page.setDefaultTimeout(60_000); // a loaded CI machine; a 3 MB text area takes a while to lay out
  await page.setViewportSize({ width, height: 900 });
  if (init_script) await page.addInitScript(init_script);
  page.requests_seen = [];
  page.on('request', (r) => page.requests_seen.push({ method: r.method(), url: r.url() }));
  const codecs_response = page.waitForResponse((r) => r.url() === `${base_url}/api/codecs`);
  await page.goto(`${base_url}/`);
  page.codecs = await (await codecs_response).json();
  await page.waitForSelector('#form[data-state="ready"]');
  return page;
}

function assert_only_server_requests(page) {
  assert.ok(page.requests_seen.length >= 3, 'the page, its script and style were requested');
  for (const { url } of page.requests_seen) {
    if (url.startsWith('data:')) continue; // inline, never leaves the browser
    assert.equal(new URL(url).host, server_host, `request to another host: ${url}`);
  }
}

const post_count = (page) => page.requests_seen.filter((r) => r.method === 'POST').length;

// Varied English-like text: compressible, but not trivially so.
function sample_text(nbytes, seed = 1) {
  const words = ('the quick brown fox jumps over a lazy dog while compression codecs count every byte ' +
    'of input and output lorem ipsum dolor sit amet entropy window dictionary huffman block').split(' ');
  let x = seed, out = '';
  while (out.length < nbytes) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out += words[x % words.length] + (x % 13 === 0 ? '.\n' : ' ');
  }
  return out.slice(0, nbytes);
}

// What a paste does to the text area: a new value and one input event. (Playwright's fill()
// types through the editor and takes seconds for large texts.)
async function paste_text(page, text) {
  await page.$eval('#text', (area, value) => {
    area.value = value;
    area.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertFromPaste' }));
  }, text);
}

function write_temp_file(name, contents) {
  const file = path.join(temp_dir, name);
  fs.writeFileSync(file, contents);
  return file;
}

// "335 kB" -> 335000; the page uses decimal units.
function parse_size(text) {
  const m = text.replace(/\s+/g, ' ').trim().match(/^([\d.,]+) (B|kB|MB|GB)$/);
  assert.ok(m, `not a size: "${text}"`);
  return Number(m[1].replace(/,/g, '')) * { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 }[m[2]];
}

const parse_number = (text) => Number(text.replace(/[^\d.]/g, ''));

async function compress_and_wait(page) {
  const response_promise = page.waitForResponse((r) => r.url() === `${base_url}/compress` && r.request().method() === 'POST');
  await page.click('#submit');
  const response = await response_promise;
  return response;
}

test('pasted text shows a chart and a table with the sizes the API returned', { timeout: test_timeout_ms }, async () => {
  const page = await open_page();
  // Screen readers: every control has a label, status changes are announced.
  const unlabelled = await page.$$eval('input, textarea, progress', (controls) => controls
    .filter((c) => !c.labels?.length && !c.getAttribute('aria-label')).map((c) => c.outerHTML));
  assert.deepEqual(unlabelled, []);
  assert.equal(await page.getAttribute('#status', 'aria-live'), 'polite');
  assert.equal(await page.getAttribute('#error', 'role'), 'alert');

  const text = sample_text(40_000);
  await paste_text(page, text);
  const response = await compress_and_wait(page);
  assert.equal(response.status(), 200);
  const report = await response.json();
  await page.waitForSelector('#results:not([hidden])');

  // The default panel was pre-ticked and sent: the server computed exactly that panel.
  const key = (r) => `${r.codec}:${r.level}`;
  assert.deepEqual(report.results.map(key).sort(), page.codecs.default_panel.map(key).sort());
  // Browsers send a text field's line breaks as CRLF.
  assert.equal(report.original_size, Buffer.byteLength(text.replace(/\n/g, '\r\n')));

  // Chart: the original, then one bar per codec × level, sizes to scale.
  const bars = await page.$$eval('#chart li', (items) => items.map((li) => ({
    name: li.querySelector('.name').textContent.replace(/\s+/g, ' ').trim(),
    size_text: li.querySelector('.value').firstChild.textContent,
    pct_text: li.querySelector('.pct')?.textContent ?? null,
    // layout widths, which the bars' grow-in animation (a transform) does not change
    width_px: parseFloat(getComputedStyle(li.querySelector('.bar')).width),
    track_px: parseFloat(getComputedStyle(li.querySelector('.track')).width),
  })));
  assert.equal(bars.length, report.results.length + 1);
  assert.equal(bars[0].name, 'Original');
  const scale = Math.max(report.original_size, ...report.results.map((r) => r.size));
  const expect_bar = (bar, nbytes) => {
    assert.ok(Math.abs(parse_size(bar.size_text) - nbytes) <= nbytes * 0.005 + 0.5, `${bar.name}: ${bar.size_text} vs ${nbytes}`);
    const want_px = Math.max((nbytes / scale) * bar.track_px, 3); // the page's minimum bar
    assert.ok(Math.abs(bar.width_px - want_px) <= 1.5, `${bar.name}: bar ${bar.width_px}px, want ${want_px}px`);
  };
  expect_bar(bars[0], report.original_size);
  for (const r of report.results) {
    const bar = bars.find((b) => b.name === `${r.codec} level ${r.level}`);
    assert.ok(bar, `a bar for ${r.codec} ${r.level}`);
    expect_bar(bar, r.size);
    assert.ok(Math.abs(parse_number(bar.pct_text) - (r.size / report.original_size) * 100) <= 0.051, bar.pct_text);
  }

  // Table: exact bytes, % of original and speed = original_size / compress_ms / 1000 MB/s.
  const rows = await page.$$eval('#table tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((td) => ({
    text: td.firstChild.textContent, sub: td.querySelector('.sub')?.textContent ?? null,
  }))));
  assert.equal(rows.length, report.results.length);
  for (const r of report.results) {
    const row = rows.find((cells) => cells[0].text === r.codec && Number(cells[1].text) === r.level);
    assert.ok(row, `a row for ${r.codec} ${r.level}`);
    assert.equal(parse_number(row[2].sub), r.size, 'exact size in bytes');
    assert.ok(Math.abs(parse_size(row[2].text) - r.size) <= r.size * 0.005 + 0.5);
    assert.ok(Math.abs(parse_number(row[3].text) - (r.size / report.original_size) * 100) <= 0.051, row[3].text);
    if (r.compress_ms === 0) {
      assert.equal(row[4].text, '—', 'no speed for a time below the clock resolution');
    } else {
      const speed = report.original_size / r.compress_ms / 1000;
      assert.ok(Math.abs(parse_number(row[4].text) - speed) <= speed * 0.006 + 0.0006, `${row[4].text} vs ${speed}`);
    }
  }

  // Sorting by keyboard: the Speed header sorts fastest first, then slowest first.
  const speeds = () => page.$$eval('#table tbody tr td:last-child', (tds) => tds.map((td) => Number(td.textContent.replace(/[^\d.]/g, ''))));
  await page.focus('#table th:last-child button');
  await page.keyboard.press('Enter');
  assert.equal(await page.getAttribute('#table th:last-child', 'aria-sort'), 'descending');
  const fastest_first = await speeds();
  assert.deepEqual(fastest_first, [...fastest_first].sort((a, b) => b - a));
  await page.keyboard.press('Enter');
  assert.equal(await page.getAttribute('#table th:last-child', 'aria-sort'), 'ascending');
  const slowest_first = await speeds();
  assert.deepEqual(slowest_first, [...slowest_first].sort((a, b) => a - b));

  // Start again brings back an empty form.
  await page.click('#again');
  assert.equal(await page.isHidden('#results'), true);
  assert.equal(await page.inputValue('#text'), '');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'text');

  assert_only_server_requests(page);
  await page.close();
});

// Runs in the page before its own script: records, in order, every value the page gives the
// progress bar (and whether the submit button was disabled then), every status message and
// the moment the results are shown.
function record_progress_events() {
  window.events_seen = [];
  const value = Object.getOwnPropertyDescriptor(HTMLProgressElement.prototype, 'value');
  Object.defineProperty(HTMLProgressElement.prototype, 'value', {
    ...value,
    set(v) {
      window.events_seen.push({ progress: Number(v), submit_disabled: document.getElementById('submit').disabled });
      value.set.call(this, v);
    },
  });
  const hidden = Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'hidden');
  Object.defineProperty(HTMLElement.prototype, 'hidden', {
    ...hidden,
    set(v) {
      if (this.id === 'results' && !v) window.events_seen.push({ results: true });
      hidden.set.call(this, v);
    },
  });
  document.addEventListener('DOMContentLoaded', () => {
    new MutationObserver((records) => {
      for (const r of records) for (const n of r.addedNodes) window.events_seen.push({ status: n.textContent });
    }).observe(document.getElementById('status'), { childList: true });
  });
}

test('a 2 MB upload drives the progress bar to 100 % before the results appear', { timeout: test_timeout_ms }, async (t) => {
  const page = await open_page(1280, record_progress_events);
  const file = write_temp_file('upload-2mb.txt', sample_text(2_000_000, 7));
  await page.setInputFiles('#file', file);
  assert.match(await page.textContent('#chosen-name'), /upload-2mb\.txt/);
  assert.equal(await page.isDisabled('#text'), true, 'the file is used instead of the text');
  const response = await compress_and_wait(page);
  assert.equal(response.status(), 200);
  const report = await response.json();
  await page.waitForSelector('#results:not([hidden])');
  assert.equal(report.original_size, 2_000_000);

  const events = await page.evaluate(() => window.events_seen);
  const results_at = events.findIndex((e) => e.results);
  assert.ok(results_at > 0, 'the results were shown');
  const progress = events.slice(0, results_at).filter((e) => 'progress' in e);
  t.diagnostic(`progress values seen: ${progress.map((e) => e.progress).join(' ')}`);
  assert.ok(progress.length >= 2, `progress values seen: ${JSON.stringify(progress)}`);
  assert.equal(progress[0].progress, 0);
  assert.equal(progress.at(-1).progress, 100, 'the last progress value before the results is 100');
  for (let i = 1; i < progress.length; i++) {
    assert.ok(progress[i].progress >= progress[i - 1].progress, 'progress never goes back');
  }
  assert.ok(progress.every((e) => e.submit_disabled), 'the submit button is disabled while uploading');
  const hundred_at = events.findIndex((e) => e.progress === 100);
  const uploading_at = events.findIndex((e) => e.status === 'Uploading…');
  const compressing_at = events.findIndex((e) => e.status === 'Compressing…');
  assert.ok(uploading_at >= 0 && uploading_at < hundred_at, 'uploading is announced first');
  assert.ok(hundred_at < compressing_at && compressing_at < results_at, 'uploaded, then compressing, then results');
  assert.match(await page.textContent('#results-title'), /upload-2mb\.txt/);
  assert.equal(await page.isEnabled('#submit'), true);

  assert_only_server_requests(page);
  await page.close();
});

test('a dropped file is compressed', { timeout: test_timeout_ms }, async () => {
  const page = await open_page();
  const drop = await page.evaluateHandle((text) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([text], 'dropped.txt', { type: 'text/plain' }));
    return transfer;
  }, sample_text(30_000, 3));
  await page.dispatchEvent('#drop', 'dragenter', { dataTransfer: drop });
  assert.equal(await page.$eval('#drop', (d) => d.classList.contains('over')), true, 'the drop zone lights up');
  await page.dispatchEvent('#drop', 'drop', { dataTransfer: drop });
  assert.match(await page.textContent('#chosen-name'), /dropped\.txt/);
  const response = await compress_and_wait(page);
  assert.equal(response.status(), 200);
  assert.equal((await response.json()).original_size, 30_000);
  await page.waitForSelector('#results:not([hidden])');
  assert.match(await page.textContent('#results-title'), /dropped\.txt/);
  assert_only_server_requests(page);
  await page.close();
});

test('input over the size limit is refused in the page and nothing is sent', { timeout: test_timeout_ms }, async () => {
  const page = await open_page();
  const limit_nbytes = page.codecs.max_input_nbytes;
  assert.ok(limit_nbytes > 0 && limit_nbytes < 4 * 1024 * 1024, `a 4 MB file is over the limit (${limit_nbytes})`);

  const file = write_temp_file('big-4mb.bin', crypto.randomBytes(4 * 1024 * 1024));
  await page.setInputFiles('#file', file);
  await page.waitForSelector('#error:not([hidden])');
  const message = await page.textContent('#error');
  assert.match(message, /big-4mb\.bin/);
  assert.match(message, /over the .*limit/);
  assert.equal(await page.isHidden('#chosen'), true, 'the file is not kept');
  await page.click('#submit');
  assert.match(await page.textContent('#error'), /paste some text or choose a file/);

  // Text over the limit: the same check before upload.
  await paste_text(page, 'x'.repeat(limit_nbytes + 1));
  assert.match(await page.textContent('#text-info'), /over the .*limit/);
  await page.click('#submit');
  assert.match(await page.textContent('#error'), /The text is .* over the .*limit/);

  await page.waitForTimeout(500); // a request, if one were sent, would have shown up by now
  assert.equal(post_count(page), 0, 'no POST request was sent');
  assert_only_server_requests(page);
  await page.close();
});

test('a server error is shown in words', { timeout: test_timeout_ms }, async () => {
  // A real refusal: every level of every codec on a large input is over the server's CPU
  // budget for one report, so the server answers 422 with a JSON message.
  const page = await open_page();
  await page.click('#panel-box summary');
  await page.click('#panel-clear');
  await page.$$eval('#panel input[type=checkbox]', (boxes) => boxes.forEach((box) => box.click()));
  assert.match(await page.textContent('#panel-summary'), /^\d{2,} selected/);
  // No line breaks, which browsers send as CRLF: the text stays just under the limit.
  await paste_text(page, sample_text(page.codecs.max_input_nbytes - 1024, 5).replace(/\n/g, ' '));
  const response = await compress_and_wait(page);
  assert.ok(response.status() >= 400, `the server refused (status ${response.status()})`);
  const body = await response.json();
  assert.equal(typeof body.error, 'string');
  await page.waitForSelector('#error:not([hidden])');
  const shown = (await page.textContent('#error')).replace(/\s+/g, ' ');
  assert.ok(shown.toLowerCase().includes(body.error.replace(/\s+/g, ' ').toLowerCase()), `"${shown}" shows "${body.error}"`);
  assert.doesNotMatch(shown, new RegExp(`\\b${response.status()}\\b`), 'no bare status code');
  assert.equal(await page.isHidden('#results'), true);
  assert.equal(await page.isEnabled('#submit'), true, 'the user can try again');
  assert.ok((await page.inputValue('#text')).length > 0, 'the input is kept');
  assert_only_server_requests(page);
  await page.close();
});

for (const width of [1280, 375]) {
  const name = width === 1280 ? 'results-desktop.png' : `results-${width}.png`;
  test(`the results view fits ${width} px and is saved as ${name}`, { timeout: test_timeout_ms }, async () => {
    const page = await open_page(width);
    await page.click('#panel-box summary');
    for (const [codec, level] of [['zstd', 19], ['brotli', 11], ['xz', 6]]) {
      await page.check(`#panel input[data-codec="${codec}"][data-level="${level}"]`);
    }
    await paste_text(page, sample_text(120_000, 11));
    // By keyboard: Ctrl + Enter in the text area compresses; focus then moves to the results.
    const response_promise = page.waitForResponse((r) => r.url() === `${base_url}/compress`);
    await page.focus('#text');
    await page.keyboard.press('Control+Enter');
    assert.equal((await response_promise).status(), 200);
    await page.waitForSelector('#results:not([hidden])');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'results');
    const overflow_px = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow_px <= 0, `no sideways scrolling (${overflow_px}px too wide)`);
    await page.screenshot({ path: path.join(screenshot_dir, name), fullPage: true, animations: 'disabled' });
    assert_only_server_requests(page);
    await page.close();
  });
}
