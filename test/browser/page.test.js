// Browser tests of the CompressTest page against a real server, in Debian's Chromium.
//
// Environment (set by ./run): COMPRESSTEST_URL (http://127.0.0.1:PORT), COMPRESSTEST_SERVER (the
// server binary, for tests that need a second server with other limits), SCREENSHOT_DIR.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const child_process = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const base_url = process.env.COMPRESSTEST_URL;
const server_bin = process.env.COMPRESSTEST_SERVER;
const screenshot_dir = process.env.SCREENSHOT_DIR;
assert.ok(base_url && server_bin && screenshot_dir, 'COMPRESSTEST_URL, COMPRESSTEST_SERVER and SCREENSHOT_DIR must be set (use ./run)');
const axe_source = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const test_timeout_ms = 180_000;
const page_budget_nbytes = 24 * 1024; // page + script + style (+ the chart, drawn by the script), compressed
const viewports = [{ width: 1280, height: 800 }, { width: 390, height: 844 }];
let context;
let temp_dir;

before(async () => {
  temp_dir = fs.mkdtempSync(path.join(os.tmpdir(), 'compresstest-browser-'));
  context = await chromium.launchPersistentContext(path.join(temp_dir, 'profile'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run',
      '--disable-quic', '--disable-component-update', '--disable-sync'],
    viewport: viewports[0],
    acceptDownloads: true,
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base_url });
});

after(async () => {
  await context?.close();
  fs.rmSync(temp_dir, { recursive: true, force: true });
});

// Opens the page (at url, after init_script if any), records every request it makes and every
// console error, and waits until the codec list has loaded. Every test ends with
// assert_clean(page).
async function open_page({ url = `${base_url}/`, viewport = viewports[0], init_script = null, wait_codecs = true } = {}) {
  const page = await context.newPage();
  page.setDefaultTimeout(60_000); // a loaded CI machine; a 3 MB text area takes a while to lay out
  await page.setViewportSize(viewport);
  await page.emulateMedia({ colorScheme: 'light' });
  await page.addInitScript(record_answers);
  if (init_script) await page.addInitScript(init_script);
  page.origin = new URL(url).origin;
  page.requests_seen = [];
  page.console_errors = [];
  page.on('request', (r) => page.requests_seen.push({ method: r.method(), url: r.url(), at_ms: Date.now() }));
  page.on('console', (m) => { if (m.type() === 'error') page.console_errors.push(m.text()); });
  page.on('pageerror', (e) => page.console_errors.push(String(e)));
  const codecs_response = wait_codecs && page.waitForResponse((r) => r.url() === `${page.origin}/api/codecs`);
  await page.goto(url);
  if (wait_codecs) page.codecs = await (await codecs_response).json();
  await page.waitForSelector('#form[data-state="ready"]');
  return page;
}

// No request left the server's origin and no script error happened; allowed_errors lists the
// browser's own console lines a test provokes on purpose (a refused request).
async function assert_clean(page, allowed_errors = []) {
  assert.ok(page.requests_seen.length >= 3, 'the page, its script and style were requested');
  for (const { url } of page.requests_seen) {
    if (url.startsWith('data:') || url.startsWith('blob:')) continue; // never leave the browser
    assert.equal(new URL(url).origin, page.origin, `request to another origin: ${url}`);
  }
  const unexpected = page.console_errors.filter((e) => !allowed_errors.some((re) => re.test(e)));
  assert.deepEqual(unexpected, [], 'no console errors');
  await page.close();
}

const post_count = (page) => page.requests_seen.filter((r) => r.method === 'POST').length;
const key = (r) => `${r.codec}:${r.level}`;

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

// Ticks exactly these entries ("zstd:19") in the codec grid.
async function choose_codecs(page, entries) {
  if (!(await page.$eval('#panel-box', (d) => d.open))) await page.click('#panel-box summary');
  await page.click('#panel-clear');
  for (const entry of entries) {
    const [codec, level] = entry.split(':');
    await page.check(`#panel input[data-codec="${codec}"][data-level="${level}"]`);
  }
}

const ticked = (page) => page.$$eval('#panel input:checked', (boxes) => boxes.map((b) => `${b.dataset.codec}:${b.dataset.level}`));

// Runs in the page before its own script: keeps every XMLHttpRequest's answer as it arrived
// (status, content type, raw text), so a test reads what the server sent.
function record_answers() {
  window.answers_seen = [];
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (...args) {
    this.addEventListener('loadend', () => window.answers_seen.push({
      status: this.status, content_type: this.getResponseHeader('Content-Type') || '', text: this.responseText,
    }));
    return send.apply(this, args);
  };
}

// Clicks Compress (or the given button) and waits for the whole answer and for the page to show it.
async function compress_and_wait(page, button = '#submit') {
  const nseen = await page.evaluate(() => window.answers_seen.length);
  await page.click(button);
  await page.waitForFunction((n) => window.answers_seen.length > n, nseen);
  const answer = await page.evaluate((n) => window.answers_seen[n], nseen);
  if (answer.status === 200) await page.waitForSelector('#results[data-complete="true"]');
  return { status: answer.status, content_type: answer.content_type, report: report_of(answer) };
}

// The report in a plain JSON or an NDJSON answer (or the error object).
function report_of({ content_type, text }) {
  if (!/x-ndjson/.test(content_type)) return JSON.parse(text);
  const last = JSON.parse(text.trim().split('\n').at(-1));
  return last.type === 'report' ? last.report : last;
}

function get_raw(url, headers = {}) {
  return new Promise((resolve, reject) => {
    http.get(url, { headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

async function metric(name_and_labels) {
  const text = (await get_raw(`${base_url}/metrics`)).body.toString();
  const line = text.split('\n').find((l) => l.startsWith(`${name_and_labels} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

async function axe_violations(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.addScriptTag({ content: axe_source });
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => `${n.target.join(' ')} (${n.failureSummary.replace(/\s+/g, ' ')})`).join('; ')}`);
}

// Checks the page as it stands in light and dark at both sizes: axe-core finds nothing, there is
// no sideways scrolling, and each is saved as NAME-WIDTHxHEIGHT-SCHEME.png.
async function check_and_save(page, name) {
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    for (const viewport of viewports) {
      await page.setViewportSize(viewport);
      await page.waitForTimeout(100); // the chart redraws for the new width
      const overflow_px = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow_px <= 0, `${name} ${viewport.width}px ${scheme}: no sideways scrolling (${overflow_px}px too wide)`);
      await page.screenshot({ path: path.join(screenshot_dir, `${name}-${viewport.width}x${viewport.height}-${scheme}.png`), fullPage: true, animations: 'disabled' });
    }
    assert.deepEqual(await axe_violations(page), [], `${name}, ${scheme}: axe-core violations`);
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await page.setViewportSize(viewports[0]);
}

// Runs in the page before its own script: records what the meter, status and results table show,
// in order, with whether the report had arrived by then.
function record_progress() {
  window.seen = [];
  document.addEventListener('DOMContentLoaded', () => {
    const results = document.getElementById('results');
    const note = (what, text) => window.seen.push({
      what, text: text.replace(/\u00a0/g, ' '), rows: document.querySelectorAll('#table tbody tr').length,
      complete: results.dataset.complete === 'true', at_ms: performance.now(),
    });
    for (const id of ['meter', 'status']) {
      const target = document.getElementById(id);
      new MutationObserver(() => note(id, target.textContent)).observe(target, { childList: true, characterData: true, subtree: true });
    }
    new MutationObserver(() => note('rows', '')).observe(document.querySelector('#table tbody'), { childList: true });
    new MutationObserver(() => note('results', results.dataset.complete)).observe(results, { attributes: true, attributeFilter: ['data-complete'] });
  });
}

// "335 KiB" -> 343040; the page uses binary units.
function parse_size(text) {
  const m = text.replace(/\s+/g, ' ').trim().match(/^([\d.,]+) (B|KiB|MiB|GiB)$/);
  assert.ok(m, `not a size: "${text}"`);
  return Number(m[1].replace(/,/g, '')) * { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }[m[2]];
}

const results_rows = (page) => page.$$eval('#table tbody tr', (trs) => trs.map((tr) => ({
  key: tr.dataset.key, cells: [...tr.cells].map((td) => td.textContent.replace(/\u00a0/g, ' ')),
})));

// ---- 1. the user's own bytes ----

test('pasted LF-only text is sent as its exact UTF-8 bytes, and the page shows that count', { timeout: test_timeout_ms }, async () => {
  const page = await open_page();
  const limit = page.codecs.max_input_nbytes;
  assert.equal((await page.textContent('#limit-hint')).replace(/\u00a0/g, ' '),
    `Up to ${limit / 1048576} MiB (${limit.toLocaleString('en')} bytes)`, 'one unit for the limit, stated once');
  const text = `${sample_text(2000, 4)}\nnaïve café — 20 €, “quoted”\n\n  trailing spaces  \n`;
  const nbytes = Buffer.byteLength(text, 'utf8');
  assert.ok(nbytes > text.length, 'the text has multi-byte characters');
  await paste_text(page, text);
  assert.match((await page.textContent('#text-info')).replace(/\u00a0/g, ' '), new RegExp(`^${nbytes.toLocaleString('en')} bytes of UTF-8, sent exactly as typed`));
  const { status, report } = await compress_and_wait(page);
  assert.equal(status, 200);
  assert.equal(report.original_size, nbytes, 'the server measured exactly the typed bytes');
  assert.match(await page.textContent('#results-title'), new RegExp(`${nbytes.toLocaleString('en')}.bytes`));
  assert.equal(await page.inputValue('#text'), text, 'the input stays beside the results');
  await assert_clean(page);
});

// ---- 2. live results, progress, Cancel ----

// Whether this server streams a report when asked (the NDJSON answer came with the report issue).
async function server_streams() {
  const answer = await new Promise((resolve, reject) => {
    const req = http.request(`${base_url}/compress?codecs=lz4:1`, { method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream', Accept: 'application/x-ndjson' } }, resolve);
    req.on('error', reject);
    req.end('hello hello hello');
  });
  answer.resume();
  return /^application\/x-ndjson/.test(answer.headers['content-type'] || '');
}

test('rows appear as each codec finishes, before the last one; the meter counts them with a timer', { timeout: test_timeout_ms }, async (t) => {
  if (!(await server_streams())) return t.skip('this server does not stream reports (Accept: application/x-ndjson) yet');
  const page = await open_page({ init_script: record_progress });
  // Fast levels and two slow ones: the fast rows must show while the slow ones still run.
  const entries = ['lz4:1', 'gzip:1', 'zstd:1', 'zstd:3', 'brotli:11', 'xz:9'];
  await choose_codecs(page, entries);
  await page.setInputFiles('#file', write_temp_file('live-1mb.txt', sample_text(1_000_000, 9)));
  const { status, content_type, report } = await compress_and_wait(page);
  assert.equal(status, 200);
  assert.match(content_type, /^application\/x-ndjson/, 'the page asks for the stream and gets it');
  assert.equal(report.results.length, entries.length);
  const seen = await page.evaluate(() => window.seen);
  const early = seen.filter((s) => s.what === 'rows' && !s.complete && s.rows > 0 && s.rows < entries.length);
  assert.ok(early.length > 0, `rows shown before the report: ${JSON.stringify(seen.filter((s) => s.what === 'rows'))}`);
  const counts = seen.filter((s) => s.what === 'meter' && /^Compressing: \d+ of \d+ done · [\d.]+ m?s$/.test(s.text));
  // Entries that finish within one frame are counted together: some count between none and all.
  const done_counts = counts.map((s) => Number(/^Compressing: (\d+) of/.exec(s.text)[1]));
  assert.ok(done_counts.some((n) => n > 0 && n < entries.length) && done_counts.includes(0),
    `the meter counts finished entries: ${JSON.stringify(counts.map((s) => s.text))}`);
  const timers = [...new Set(seen.filter((s) => s.what === 'meter').map((s) => s.text.split(' · ')[1]))];
  assert.ok(timers.length >= 3, `the elapsed timer ticks: ${timers.join(', ')}`);
  assert.ok(seen.some((s) => s.what === 'status' && s.text === 'Compressing…'));
  assert.equal((await results_rows(page)).length, entries.length);

  // Cancel while rows arrive: the stream stops, the finished rows stay, said to be incomplete.
  await page.click('#submit');
  await page.waitForFunction(() => document.getElementById('results').dataset.complete === 'false' &&
    document.querySelectorAll('#table tbody tr').length > 0);
  await page.click('#cancel');
  await page.waitForSelector('#form[data-state="ready"]');
  assert.match(await page.textContent('#status'), /^Cancelled/);
  const kept = (await results_rows(page)).length;
  assert.ok(kept > 0 && kept < entries.length, `${kept} finished rows kept`);
  assert.match(await page.textContent('#summary'), new RegExp(`^Stopped after ${kept} of ${entries.length} codec levels`));
  await page.waitForTimeout(1000);
  assert.equal((await results_rows(page)).length, kept, 'nothing more arrives');
  await assert_clean(page);
});

test('Cancel during the upload stops it: the server receives less than the file and makes no report', { timeout: test_timeout_ms }, async () => {
  const page = await open_page({ init_script: record_progress });
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 400 * 1024 });
  const file_nbytes = 2_500_000;
  await page.setInputFiles('#file', write_temp_file('cancel-2.5mb.txt', sample_text(file_nbytes, 2)));
  const received_before = await metric('compresstest_received_bytes_total');
  const reports_before = await metric('compresstest_requests_total{route="/compress",status="200"}');
  await page.click('#submit');
  await page.waitForFunction(() => /^Uploading .+ of .+ \((\d+) %\)/.test(document.getElementById('meter').textContent.replace(/\u00a0/g, ' ')));
  // While the request is out, nothing can change it.
  assert.equal(await page.isDisabled('#clear-file'), true, 'Remove file is disabled during the upload');
  assert.equal(await page.isDisabled('#panel input[data-codec="gzip"][data-level="1"]'), true, 'the codec grid is disabled');
  assert.equal(await page.isDisabled('#file'), true);
  await page.click('#cancel');
  await page.waitForSelector('#form[data-state="ready"]');
  assert.match(await page.textContent('#status'), /^Cancelled/);
  assert.equal(await page.isHidden('#cancel'), true);
  assert.equal(await page.isEnabled('#clear-file'), true);
  assert.match(await page.textContent('#chosen-name'), /cancel-2\.5mb\.txt/, 'the file is kept for another try');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await page.waitForTimeout(1500); // anything still flowing would arrive by now
  const received = (await metric('compresstest_received_bytes_total')) - received_before;
  assert.ok(received < file_nbytes * 0.9, `the server received ${received} of ${file_nbytes} bytes`);
  assert.equal(await metric('compresstest_requests_total{route="/compress",status="200"}'), reports_before, 'no report was made');
  const uploads = (await page.evaluate(() => window.seen)).filter((s) => s.what === 'meter' && /^Uploading/.test(s.text));
  assert.ok(uploads.some((s) => /^Uploading \d[\d.]* (B|KiB|MiB) of 2\.38 MiB \(\d+ %\) · /.test(s.text.replace(/\u00a0/g, ' '))),
    `upload progress in bytes and percent: ${uploads.map((s) => s.text).join(' | ')}`);
  await assert_clean(page);
});

// ---- 3. the chart, bars, table and wire line ----

test('the chart plots size against speed on a log axis, draws the Pareto frontier, and every point is reachable', { timeout: test_timeout_ms }, async () => {
  const page = await open_page();
  await choose_codecs(page, ['gzip:1', 'gzip:9', 'zstd:1', 'zstd:19', 'brotli:5', 'brotli:11', 'lz4:1', 'bzip2:9', 'xz:6']);
  await paste_text(page, sample_text(300_000, 6));
  const { status, report } = await compress_and_wait(page);
  assert.equal(status, 200);
  for (const axis of ['compress', 'decompress']) {
    await page.check(`input[name=axis][value=${axis}]`);
    const dots = await page.$$eval('#plot-box circle', (cs) => cs.map((c) => ({
      label: c.getAttribute('aria-label'), cx: Number(c.getAttribute('cx')), cy: Number(c.getAttribute('cy')), pareto: c.classList.contains('pareto'),
    })));
    const measured = report.results.filter((r) => r[`${axis}_mb_s`] !== null);
    assert.equal(dots.length, measured.length, 'one point per measured entry');
    const dot_of = (r) => dots.find((d) => d.label.startsWith(`${r.codec} ${r.level}:`));
    // x is log(speed): equal ratios of speed are equal distances.
    const [a, b, c] = [...measured].sort((p, q) => p[`${axis}_mb_s`] - q[`${axis}_mb_s`]).filter((_, i, all) => i === 0 || i === 1 || i === all.length - 1);
    const per_decade = (p, q) => (dot_of(q).cx - dot_of(p).cx) / Math.log10(q[`${axis}_mb_s`] / p[`${axis}_mb_s`]);
    assert.ok(Math.abs(per_decade(a, b) - per_decade(a, c)) <= 0.02 * per_decade(a, c) + 0.5, `log axis: ${per_decade(a, b)} vs ${per_decade(a, c)} px per decade`);
    for (const r of measured) {
      const dot = dot_of(r);
      assert.ok(dot, `a point for ${key(r)}`);
      assert.equal(dot.pareto, r.pareto[axis], `${key(r)} on the ${axis} frontier`);
      for (const q of measured) if (q.size < r.size) assert.ok(dot_of(q).cy >= dot.cy - 0.01, `${key(q)} is smaller, so lower than ${key(r)}`);
    }
    const frontier = report.results.filter((r) => r.pareto[axis]);
    assert.ok(frontier.length >= 1);
    const labels = await page.$$eval('#plot-box .labels text', (ts) => ts.map((t) => t.textContent));
    assert.ok(labels.length >= Math.min(frontier.length, 2) && labels.every((l) => frontier.some((r) => l === `${r.codec} ${r.level}`)),
      `frontier points labelled: ${labels.join(', ')}`);
    if (frontier.length > 1) assert.equal(await page.$$eval('#plot-box polyline.frontier', (p) => p.length), 1, 'the frontier line');
    assert.match(await page.textContent('#plot-box svg .title'), axis === 'compress' ? /^Compression speed, MB\/s \(log scale\)/ : /^Decompression speed/);

    // Keyboard: one Tab stop, arrows walk every point, the tip says what it is.
    await page.focus('#plot-box circle[tabindex="0"]');
    const visited = new Set();
    for (let i = 0; i < dots.length; i++) {
      const label = await page.evaluate(() => document.activeElement.getAttribute('aria-label'));
      visited.add(label);
      assert.equal(await page.textContent('#tip'), label, 'the tip shows the focused point');
      await page.keyboard.press('ArrowRight');
    }
    assert.equal(visited.size, dots.length, 'every point reached by keyboard');
    // Hover: the tip follows the pointer to the nearest point. Aimed 2 px off the point that
    // stands farthest from the others (two codecs can measure alike and overlap).
    const box = await page.$eval('#plot-box', (b) => { const r = b.getBoundingClientRect(); return { x: r.left, y: r.top }; });
    const room = (d) => Math.min(...dots.filter((o) => o !== d).map((o) => Math.hypot(o.cx - d.cx, o.cy - d.cy)));
    const target = dots.reduce((best, d) => (room(d) > room(best) ? d : best));
    assert.ok(room(target) > 6, `some point stands apart: ${room(target)} px`);
    await page.mouse.move(box.x + target.cx + 2, box.y + target.cy + 1);
    assert.equal(await page.isVisible('#tip'), true);
    assert.equal(await page.textContent('#tip'), target.label);
  }
  await assert_clean(page);
});

test('the table adds decompression speed, memory and the verified mark; copying it keeps figures apart', { timeout: test_timeout_ms }, async () => {
  const page = await open_page();
  await choose_codecs(page, ['gzip:6', 'zstd:3', 'brotli:5', 'zopfli:1', 'lz4:1']);
  await paste_text(page, sample_text(60_000, 8));
  const { status, report } = await compress_and_wait(page);
  assert.equal(status, 200);
  const rows = await results_rows(page);
  assert.equal(rows.length, report.results.length);
  const speed_text = (v) => (v === null ? 'too fast to time' : v >= 100 ? Math.round(v).toLocaleString('en') : String(Number(v.toPrecision(3))));
  for (const r of report.results) {
    const row = rows.find((x) => x.key === key(r));
    assert.ok(row, `a row for ${key(r)}`);
    const [codec, level, size, ratio, cspeed, dspeed, memory, checked] = row.cells;
    assert.equal(codec, r.codec);
    assert.equal(Number(level), r.level);
    if (r.size < 1024) assert.equal(size, `${r.size} B`);
    else assert.match(size, new RegExp(`^[\\d.]+ (KiB|MiB) ${r.size.toLocaleString('en')} bytes$`), 'exact bytes, set apart from the rounded size');
    assert.ok(Math.abs(parseFloat(ratio) - r.ratio * 100) <= 0.051, ratio);
    assert.equal(cspeed, speed_text(r.compress_mb_s));
    assert.equal(dspeed, speed_text(r.decompress_mb_s));
    const [cm, dm] = memory.split(' · ');
    for (const [shown, nbytes] of [[cm, r.compress_peak_bytes], [dm, r.decompress_peak_bytes]]) {
      if (nbytes === null) assert.equal(shown, '—', 'no figure where the library has no allocator hook');
      else assert.ok(Math.abs(parse_size(shown) - nbytes) <= nbytes * 0.005 + 0.5, `${shown} vs ${nbytes}`);
    }
    assert.equal(checked, r.verified ? '✓ verified' : '✗ mismatch');
  }
  // The wire line, where the server gives it.
  if (report.wire) {
    const w = report.wire.chosen || report.wire.identity;
    const line = (await page.textContent('#wire')).replace(/\u00a0/g, ' ');
    assert.ok(line.startsWith(`Your browser (Accept-Encoding: ${report.wire.accept_encoding}) would receive `), line);
    assert.match(line, new RegExp(`${w.segments_mss1460.toLocaleString('en')} segments?, ${w.round_trips_mss1460} round trips?`));
  } else {
    assert.equal(await page.isHidden('#wire'), true, 'no wire line without the server’s figures');
  }
  // Sorting by keyboard: the decompression header sorts fastest first, then slowest first.
  const column = async () => (await results_rows(page)).map((r) => report.results.find((x) => key(x) === r.key).decompress_mb_s ?? -1);
  await page.focus('#table button[data-key="dspeed"]');
  await page.keyboard.press('Enter');
  const fastest_first = await column();
  assert.deepEqual(fastest_first, [...fastest_first].sort((a, b) => b - a));
  await page.keyboard.press('Enter');
  const slowest_first = await column();
  assert.deepEqual(slowest_first, [...slowest_first].sort((a, b) => a - b));
  await assert_clean(page);
});

// ---- 4. run again, the URL, Back and Forward ----

test('run again reuses the file; the codecs live in the URL; Back and Forward move between runs', { timeout: test_timeout_ms }, async () => {
  const page = await open_page();
  const file_nbytes = 150_000;
  await page.setInputFiles('#file', write_temp_file('again.txt', sample_text(file_nbytes, 12)));
  const first = await compress_and_wait(page);
  assert.equal(first.status, 200);
  const default_keys = page.codecs.default_panel.map(key).sort();
  assert.deepEqual(first.report.results.map(key).sort(), default_keys);
  const first_url = page.url();
  assert.match(first_url, /\?codecs=[a-z0-9:,-]+$/);

  await choose_codecs(page, ['zstd:19', 'brotli:11']);
  assert.match(page.url(), /\?codecs=(zstd:19,brotli:11|brotli:11,zstd:19)$/, 'the URL follows the choice');
  const second = await compress_and_wait(page);
  assert.equal(second.status, 200);
  assert.equal(second.report.original_size, file_nbytes, 'the same file, not chosen again');
  assert.deepEqual(second.report.results.map(key).sort(), ['brotli:11', 'zstd:19']);
  assert.equal(post_count(page), 2);
  const second_url = page.url();

  await page.goBack();
  await page.waitForFunction((n) => document.querySelectorAll('#table tbody tr').length === n, default_keys.length);
  assert.equal(page.url(), first_url);
  assert.deepEqual((await ticked(page)).sort(), default_keys, 'Back restores the first run’s codecs');
  await page.goForward();
  await page.waitForFunction(() => document.querySelectorAll('#table tbody tr').length === 2);
  assert.equal(page.url(), second_url);
  assert.deepEqual((await ticked(page)).sort(), ['brotli:11', 'zstd:19']);
  assert.match(await page.textContent('#chosen-name'), /again\.txt/);
  assert.equal(post_count(page), 2, 'Back and Forward send nothing');
  await assert_clean(page);
});

test('a bookmarked ?codecs= link ticks those codecs and runs exactly them', { timeout: test_timeout_ms }, async () => {
  const page = await open_page({ url: `${base_url}/?codecs=zstd:1-3,brotli:11,xz,nosuch:1` });
  const xz_default = page.codecs.codecs.find((c) => c.name === 'xz').default_level;
  const want = ['zstd:1', 'zstd:2', 'zstd:3', 'brotli:11', `xz:${xz_default}`].sort();
  assert.deepEqual((await ticked(page)).sort(), want);
  assert.match(await page.textContent('#error'), /nosuch:1/, 'an unknown codec in the link is named');
  await paste_text(page, sample_text(5000, 3));
  const { status, report } = await compress_and_wait(page);
  assert.equal(status, 200);
  assert.deepEqual(report.results.map(key).sort(), want);
  await assert_clean(page);
});

// ---- 5. honest words ----

for (const [name, contents] of [['random-1mb.bin', crypto.randomBytes(1_000_000)], ['three-spaces.txt', Buffer.from('   ')]]) {
  test(`incompressible input (${name}) is said not to get smaller, with the ± bytes`, { timeout: test_timeout_ms }, async () => {
    const page = await open_page();
    await page.setInputFiles('#file', write_temp_file(name, contents));
    const { status, report } = await compress_and_wait(page);
    assert.equal(status, 200);
    const best = Math.min(...report.results.map((r) => r.size));
    assert.ok(best >= contents.length, 'nothing got smaller');
    const summary = (await page.textContent('#summary')).replace(/\u00a0/g, ' ');
    assert.match(summary, /^No codec made it smaller/);
    const delta = best - contents.length;
    assert.ok(summary.includes(`${delta ? `+${delta.toLocaleString('en')}` : '±0'} bytes`), summary);
    assert.match(summary, /already compressed, or random/);
    assert.doesNotMatch(summary, /smaller,|× smaller/);
    assert.equal(await page.$$eval('#table tr.best, #chart li.best', (b) => b.length), 0, 'no “best” mark on a loss');
    for (const r of report.results) {
      const row = (await results_rows(page)).find((x) => x.key === key(r));
      for (const [cell, mb_s] of [[row.cells[4], r.compress_mb_s], [row.cells[5], r.decompress_mb_s]]) {
        if (mb_s === null) assert.equal(cell, 'too fast to time', 'an unmeasurable time is labelled, not shown as a speed');
        else assert.match(cell, /^[\d,.]+$/);
      }
    }
    await assert_clean(page);
  });
}

// ---- 6. cost before the upload ----

test('the time estimate disables Compress over the server’s budget, and no upload starts', { timeout: test_timeout_ms }, async (t) => {
  const page = await open_page();
  if (!page.codecs.codecs.every((c) => Array.isArray(c.costs))) {
    t.skip('this server’s /api/codecs has no cost data yet');
    return assert_clean(page);
  }
  await paste_text(page, sample_text(page.codecs.max_input_nbytes - 1024, 5));
  assert.match(await page.textContent('#cost'), /^Estimated server time for these \d+ codec levels on .*: about /);
  assert.equal(await page.isEnabled('#submit'), true);
  assert.ok(await page.$$eval('#panel .chip span.slow', (s) => s.length) > 0, 'slow levels are marked');
  await page.click('#panel-box summary');
  const nslow = await page.$$eval('#panel .chip span.slow', (s) => s.length);
  assert.equal(await page.getByRole('checkbox', { name: /\(slow\)$/ }).count(), nslow, 'a screen reader hears “slow” on the slow levels only');
  await page.$$eval('#panel input[type=checkbox]', (boxes) => boxes.forEach((box) => { if (!box.checked) box.click(); }));
  const reason = await page.textContent('#cost');
  assert.match(reason, /^Too much work for one run: .* would take about .* of server time, and the server allows /);
  assert.doesNotMatch(reason, /panel/i);
  assert.equal(await page.isDisabled('#submit'), true);
  assert.equal(await page.getAttribute('#submit', 'aria-describedby'), 'cost', 'the reason is tied to the button');
  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    assert.deepEqual(await axe_violations(page), [], `over budget, ${scheme}: axe-core violations`);
  }
  await page.focus('#text');
  await page.keyboard.press('Control+Enter');
  await page.waitForTimeout(500);
  assert.equal(post_count(page), 0, 'nothing was uploaded');
  await assert_clean(page);
});

// ---- 7. export ----

test('exports: CSV, Markdown and curl on the clipboard, JSON downloaded, each matching the report', { timeout: test_timeout_ms }, async () => {
  const page = await open_page();
  await choose_codecs(page, ['gzip:9', 'zstd:3', 'brotli:11']);
  const text = `it's "quoted", with a \\ and $HOME and\nline feeds\n${sample_text(3000, 13)}`;
  await paste_text(page, text);
  const { status, report } = await compress_and_wait(page);
  assert.equal(status, 200);
  const clipboard = async (button) => {
    await page.click(`[data-export="${button}"]`);
    await page.waitForFunction(() => /^Copied/.test(document.getElementById('export-status').textContent));
    return page.evaluate(() => navigator.clipboard.readText());
  };

  const csv = (await clipboard('csv')).trim().split('\n').map((l) => l.split(','));
  assert.deepEqual(csv[0].slice(0, 4), ['codec', 'level', 'size', 'ratio']);
  assert.equal(csv.length, report.results.length + 1);
  report.results.forEach((r, i) => {
    const row = Object.fromEntries(csv[0].map((h, j) => [h, csv[i + 1][j]]));
    assert.deepEqual([row.codec, Number(row.level), Number(row.size), Number(row.ratio), row.verified], [r.codec, r.level, r.size, r.ratio, String(r.verified)]);
    assert.equal(row.compress_mb_s, r.compress_mb_s === null ? '' : String(r.compress_mb_s));
  });

  const markdown = (await clipboard('markdown')).trim().split('\n');
  assert.match(markdown[0], /^\| codec \| level \| size \(bytes\) \|/);
  assert.match(markdown[1], /^\|---\|---:\|/);
  assert.equal(markdown.length, report.results.length + 2);
  for (const r of report.results) {
    assert.ok(markdown.some((l) => l.startsWith(`| ${r.codec} | ${r.level} | ${r.size.toLocaleString('en')} |`)), `a Markdown row for ${key(r)}`);
  }

  const download_promise = page.waitForEvent('download');
  await page.click('[data-export="json"]');
  const download = await download_promise;
  assert.equal(download.suggestedFilename(), 'compresstest-report.json');
  assert.deepEqual(JSON.parse(fs.readFileSync(await download.path(), 'utf8')), report);

  // The curl command, run by a shell, asks for the same report of the same bytes.
  const command = await clipboard('curl');
  assert.match(command, /^printf '%s' '/);
  const out = child_process.execFileSync('bash', ['-c', command], { cwd: temp_dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const again = JSON.parse(out);
  assert.equal(again.original_size, Buffer.byteLength(text));
  assert.deepEqual(again.results.map((r) => [key(r), r.size]), report.results.map((r) => [key(r), r.size]));
  await assert_clean(page);
});

test('copy as curl for a file names the file and gives the same sizes', { timeout: test_timeout_ms }, async () => {
  const page = await open_page();
  await choose_codecs(page, ['gzip:6', 'xz:6']);
  await page.setInputFiles('#file', write_temp_file('it\'s a file.txt', sample_text(20_000, 21)));
  const { status, report } = await compress_and_wait(page);
  assert.equal(status, 200);
  await page.click('[data-export="curl"]');
  await page.waitForFunction(() => /^Copied/.test(document.getElementById('export-status').textContent));
  const command = await page.evaluate(() => navigator.clipboard.readText());
  assert.match(command, /--data-binary @'it'\\''s a file\.txt'/);
  const again = JSON.parse(child_process.execFileSync('bash', ['-c', command], { cwd: temp_dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  assert.deepEqual(again.results.map((r) => [key(r), r.size]), report.results.map((r) => [key(r), r.size]));
  await assert_clean(page);
});

// ---- 8. accessibility and touch ----

test('keyboard: one Tab stop per codec row, arrow keys move inside the grid, Space ticks', { timeout: test_timeout_ms }, async () => {
  const page = await open_page();
  await page.click('#panel-box summary');
  const nrows = page.codecs.codecs.length;
  const stops = [];
  await page.focus('#panel-box summary');
  for (;;) {
    await page.keyboard.press('Tab');
    const id = await page.evaluate(() => {
      const a = document.activeElement;
      return a.dataset.codec ? `${a.dataset.codec}:${a.dataset.level}` : a.id;
    });
    if (!id.includes(':')) break;
    stops.push(id);
  }
  assert.deepEqual(stops.map((s) => s.split(':')[0]), page.codecs.codecs.map((c) => c.name), 'one stop per codec row, in order');
  assert.equal(stops.length, nrows);

  const focused = () => page.evaluate(() => `${document.activeElement.dataset.codec}:${document.activeElement.dataset.level}`);
  const [first, second] = page.codecs.codecs;
  await page.focus(`#panel input[data-codec="${first.name}"][tabindex="0"]`);
  await page.keyboard.press('Home');
  assert.equal(await focused(), `${first.name}:${first.min_level}`);
  await page.keyboard.press('ArrowRight');
  assert.equal(await focused(), `${first.name}:${first.min_level + 1}`);
  await page.keyboard.press('End');
  assert.equal(await focused(), `${first.name}:${first.max_level}`);
  await page.keyboard.press('ArrowDown');
  assert.equal(await focused(), `${second.name}:${Math.min(first.max_level - first.min_level + second.min_level, second.max_level)}`);
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowLeft');
  const target = await focused();
  const was = await page.isChecked(`#panel input[data-codec="${target.split(':')[0]}"][data-level="${target.split(':')[1]}"]`);
  await page.keyboard.press('Space');
  assert.equal(await page.isChecked(`#panel input[data-codec="${target.split(':')[0]}"][data-level="${target.split(':')[1]}"]`), !was, 'Space ticks');
  // The row remembers where the user was: Tab back into it lands there.
  await page.keyboard.press('Tab');
  await page.keyboard.press('Shift+Tab');
  assert.equal(await focused(), target);
  await assert_clean(page);
});

test('on a touch screen the page speaks of tapping, not keys or dragging', { timeout: test_timeout_ms }, async () => {
  const page = await open_page();
  assert.match(await page.textContent('#text-info'), /Ctrl \+ Enter/);
  assert.equal(await page.isVisible('#drop-words'), true);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 5 });
  await cdp.send('Emulation.setEmulatedMedia', { features: [{ name: 'pointer', value: 'coarse' }, { name: 'hover', value: 'none' }] });
  await page.reload();
  await page.waitForSelector('#form[data-state="ready"]');
  assert.equal(await page.evaluate(() => matchMedia('(pointer: coarse)').matches), true, 'touch emulated');
  await paste_text(page, 'hello');
  const info = await page.textContent('#text-info');
  assert.doesNotMatch(info, /Ctrl|Enter/);
  assert.match(info.replace(/\u00a0/g, ' '), /^5 bytes/);
  assert.equal(await page.isVisible('#drop-words'), false, 'no “drop it here” on a phone');
  await page.click('#panel-box summary');
  assert.equal(await page.isVisible('#keys-hint'), false, 'no arrow keys on a phone');
  await assert_clean(page);
});

// A second server with a small body-memory budget, nearly all of it held by an upload that this
// test starts and never finishes: every other report gets 503 + Retry-After before its body is read.
async function start_busy_server(retry_after_s) {
  const proc = child_process.spawn(server_bin, ['serve', '--listen', '127.0.0.1:0', '--max-input-bytes', '60000',
    '--max-body-bytes', '100000', '--max-body-memory-bytes', '100000', '--retry-after-s', String(retry_after_s),
    '--access-log', 'off'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const port = await new Promise((resolve, reject) => {
    const on_data = (d) => {
      log += d;
      const m = log.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m) resolve(Number(m[1]));
    };
    proc.stdout.on('data', on_data);
    proc.stderr.on('data', on_data);
    proc.on('exit', (code) => reject(new Error(`busy server exited (${code}): ${log}`)));
  });
  const held = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => held.on('connect', resolve));
  held.write(`POST /compress HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/octet-stream\r\nContent-Length: 95000\r\n\r\nxxxx`);
  await new Promise((resolve) => setTimeout(resolve, 200)); // the server has reserved the 95000 bytes
  return { url: `http://127.0.0.1:${port}`, stop: () => { held.destroy(); proc.kill('SIGKILL'); } };
}

test('a 503 shows one sentence and a Retry button that waits for Retry-After', { timeout: test_timeout_ms }, async () => {
  const server = await start_busy_server(2);
  try {
    const page = await open_page({ url: `${server.url}/` });
    await paste_text(page, sample_text(8000, 14));
    const { status } = await compress_and_wait(page);
    assert.equal(status, 503);
    await page.waitForSelector('#error-box:not([hidden])');
    const message = await page.textContent('#error');
    assert.equal(message, 'The server is busy right now.');
    assert.equal((message.match(/[.!?](\s|$)/g) || []).length, 1, 'one sentence');
    assert.equal(await page.isDisabled('#retry'), true, 'Retry waits');
    assert.match((await page.textContent('#retry')).replace(/\u00a0/g, ' '), /^Retry in [12] s$/);
    assert.equal(await page.isHidden('#results'), true);
    await check_and_save(page, 'error');
    await page.waitForSelector('#retry:not([disabled])', { timeout: 5000 });
    assert.equal(await page.textContent('#retry'), 'Retry');
    assert.equal((await compress_and_wait(page, '#retry')).status, 503);
    const posts = page.requests_seen.filter((r) => r.method === 'POST');
    assert.equal(posts.length, 2);
    assert.ok(posts[1].at_ms - posts[0].at_ms >= 2000, `the retry came ${posts[1].at_ms - posts[0].at_ms} ms later`);
    await assert_clean(page, [/status of 503/]);
  } finally {
    server.stop();
  }
});

test('a failed /api/codecs is said so, and Compress still works with the server’s defaults', { timeout: test_timeout_ms }, async () => {
  const page = await context.newPage();
  await page.route(`${base_url}/api/codecs`, (route) => route.abort('connectionrefused'));
  await page.addInitScript(record_answers);
  page.origin = base_url;
  page.requests_seen = [];
  page.console_errors = [];
  page.on('request', (r) => page.requests_seen.push({ method: r.method(), url: r.url() }));
  page.on('console', (m) => { if (m.type() === 'error') page.console_errors.push(m.text()); });
  await page.goto(`${base_url}/`);
  await page.waitForSelector('#form[data-state="ready"]');
  assert.match(await page.textContent('#error'), /^Could not load the list of codecs/);
  assert.equal(await page.isHidden('#panel-box'), true);
  await paste_text(page, sample_text(4000, 15));
  const { status, report } = await compress_and_wait(page);
  assert.equal(status, 200);
  assert.ok(report.results.length > 0, 'the server’s default codecs ran');
  await assert_clean(page, [/ERR_CONNECTION_REFUSED|Failed to load resource/]);
});

// ---- what the first edition did, kept ----

// Runs in the page before its own script: records, in order, every value the page gives the
// progress bar (and whether the submit button was disabled then) and every status message.
function record_progress_values() {
  window.events_seen = [];
  const value = Object.getOwnPropertyDescriptor(HTMLProgressElement.prototype, 'value');
  Object.defineProperty(HTMLProgressElement.prototype, 'value', {
    ...value,
    set(v) {
      window.events_seen.push({ progress: Number(v), max: this.max, submit_disabled: document.getElementById('submit').disabled });
      value.set.call(this, v);
    },
  });
  document.addEventListener('DOMContentLoaded', () => {
    new MutationObserver((records) => {
      for (const r of records) for (const n of r.addedNodes) window.events_seen.push({ status: n.textContent });
    }).observe(document.getElementById('status'), { childList: true });
  });
}

test('a 2 MB upload drives the progress bar to 100 % before compressing is announced', { timeout: test_timeout_ms }, async (t) => {
  const page = await open_page({ init_script: record_progress_values });
  await page.setInputFiles('#file', write_temp_file('upload-2mb.txt', sample_text(2_000_000, 7)));
  assert.match(await page.textContent('#chosen-name'), /upload-2mb\.txt/);
  assert.equal(await page.isDisabled('#text'), true, 'the file is used instead of the text');
  const { status, report } = await compress_and_wait(page);
  assert.equal(status, 200);
  assert.equal(report.original_size, 2_000_000);
  const events = await page.evaluate(() => window.events_seen);
  const uploading_at = events.findIndex((e) => e.status === 'Uploading…');
  const compressing_at = events.findIndex((e) => e.status === 'Compressing…');
  const done_at = events.findIndex((e) => e.status === 'Done.');
  assert.ok(uploading_at >= 0 && uploading_at < compressing_at && compressing_at < done_at, 'uploading, compressing, done');
  const upload = events.slice(0, compressing_at).filter((e) => 'progress' in e);
  t.diagnostic(`upload progress values seen: ${upload.map((e) => e.progress).join(' ')}`);
  assert.equal(upload[0].progress, 0);
  assert.equal(upload.at(-1).progress, 100, 'the upload ends at 100');
  for (let i = 1; i < upload.length; i++) assert.ok(upload[i].progress >= upload[i - 1].progress, 'progress never goes back');
  assert.ok(events.filter((e) => 'progress' in e).every((e) => e.submit_disabled), 'the submit button is disabled while busy');
  assert.match(await page.textContent('#results-title'), /upload-2mb\.txt/);
  assert.equal(await page.isEnabled('#submit'), true);
  await assert_clean(page);
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
  const { status, report } = await compress_and_wait(page);
  assert.equal(status, 200);
  assert.equal(report.original_size, 30_000);
  assert.match(await page.textContent('#results-title'), /dropped\.txt/);
  await assert_clean(page);
});

test('input over the size limit is refused in the page and nothing is sent', { timeout: test_timeout_ms }, async () => {
  const page = await open_page();
  const limit_nbytes = page.codecs.max_input_nbytes;
  assert.ok(limit_nbytes > 0 && limit_nbytes < 4 * 1024 * 1024, `a 4 MiB file is over the limit (${limit_nbytes})`);
  await page.setInputFiles('#file', write_temp_file('big-4mb.bin', crypto.randomBytes(4 * 1024 * 1024)));
  await page.waitForSelector('#error-box:not([hidden])');
  const message = (await page.textContent('#error')).replace(/\u00a0/g, ' ');
  assert.match(message, /big-4mb\.bin/);
  assert.match(message, /is 4 MiB \(4,194,304 bytes\), over the limit of 3 MiB \(3,145,728 bytes\)/);
  assert.equal(await page.isHidden('#chosen'), true, 'the file is not kept');
  await page.click('#submit');
  assert.match(await page.textContent('#error'), /paste some text or choose a file/);

  // Text over the limit: one byte more than allowed, counted as UTF-8 (é is two bytes).
  await paste_text(page, `${'x'.repeat(limit_nbytes - 1)}é`);
  assert.match(await page.textContent('#text-info'), /over the limit/);
  await page.click('#submit');
  assert.match((await page.textContent('#error')).replace(/\u00a0/g, ' '), /^The text is 3 MiB \(3,145,729 bytes\), over the limit/);
  await page.waitForTimeout(500); // a request, if one were sent, would have shown up by now
  assert.equal(post_count(page), 0, 'no POST request was sent');
  await assert_clean(page);
});

// ---- every state: axe-core in light and dark, screenshots at both sizes ----

test('the states of the page pass axe-core in light and dark and fit 1280×800 and 390×844', { timeout: 400_000 }, async () => {
  const page = await open_page();
  await check_and_save(page, 'empty');

  await paste_text(page, sample_text(40_000, 16));
  assert.equal((await compress_and_wait(page)).status, 200);
  await check_and_save(page, 'text-result');

  await choose_codecs(page, [...page.codecs.default_panel.map(key), 'zstd:19', 'brotli:11', 'xz:6', 'libdeflate:12']);
  await page.setInputFiles('#file', write_temp_file('file-2.5mb.txt', sample_text(2_500_000, 17)));
  assert.equal((await compress_and_wait(page)).status, 200);
  assert.ok(await page.$$eval('#plot-box circle', (c) => c.length) >= 10, 'the chart is drawn');
  await page.focus('#plot-box circle[tabindex="0"]'); // the tip shows in the screenshots
  await check_and_save(page, 'file-2.5mb-result');

  await page.click('#clear-file');
  await choose_codecs(page, page.codecs.default_panel.map(key));
  await page.setInputFiles('#file', write_temp_file('random-800kb.bin', crypto.randomBytes(800_000)));
  assert.equal((await compress_and_wait(page)).status, 200);
  await check_and_save(page, 'random-result');
  await assert_clean(page);
});

// ---- what it weighs ----

test(`the page, its script and style (the chart included) stay within ${page_budget_nbytes} bytes compressed`, { timeout: test_timeout_ms }, async (t) => {
  for (const coding of ['br', 'gzip']) {
    let total = 0;
    for (const asset of ['/', '/app.js', '/style.css']) {
      const res = await get_raw(`${base_url}${asset}`, { 'Accept-Encoding': coding });
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-encoding'], coding, `${asset} is served with ${coding}`);
      total += res.body.length;
    }
    t.diagnostic(`${coding}: ${total} bytes`);
    assert.ok(total <= page_budget_nbytes, `${coding}: ${total} bytes`);
  }
});
