// CompressTest page logic: input, codec choice and its cost, streamed upload, results, chart, export, history.
'use strict';

const $ = (id) => document.getElementById(id);
const el = {
  main: $('main'), form: $('form'), inputs: $('inputs'), text: $('text'), text_info: $('text-info'),
  file: $('file'), drop: $('drop'), drop_words: $('drop-words'), limit_hint: $('limit-hint'),
  chosen: $('chosen'), chosen_name: $('chosen-name'), panel_box: $('panel-box'), panel: $('panel'),
  panel_summary: $('panel-summary'), slow_legend: $('slow-legend'), keys_hint: $('keys-hint'),
  cost: $('cost'), submit: $('submit'), cancel: $('cancel'), progress: $('progress'), status: $('status'), meter: $('meter'),
  error_box: $('error-box'), error: $('error'), retry: $('retry'), results: $('results'),
  results_title: $('results-title'), summary: $('summary'), wire: $('wire'), export_status: $('export-status'),
  plot_box: $('plot-box'), tip: $('tip'), plot_note: $('plot-note'), chart: $('chart'), table: $('table'),
};

const slow_ms = 1000; // a level estimated above this on the current input is marked slow

const state = {
  api: null,                    // the /api/codecs document, once loaded
  codecs: [],                   // its codec descriptors, in registry order
  max_input_nbytes: Infinity,   // unknown until /api/codecs answers
  file: null,                   // the chosen File, which wins over the text
  busy: false,                  // a request is in flight: no control may change it
  xhr: null,                    // the request in flight, which Cancel aborts
  started_at: 0,                // Date.now() when it was sent, for the elapsed timer
  over_budget: false,           // the estimate is over the server's CPU budget: Compress is off
  retry_at: 0,                  // Date.now() before which Retry waits (Retry-After)
  last_request: null,           // what Retry sends again
  view: null,                   // the report shown: {input, spec, subject, original, rows, report, complete}
  axis: 'compress',
  sort: { key: 'size', dir: 1 },
  runs: new Map(),              // this visit's finished runs, by history entry id
  next_run: 1,
};

const NBSP = '\u00a0';
const group_digits = new Intl.NumberFormat('en');
const coarse_pointer = matchMedia('(pointer: coarse)');

// Binary units throughout, like the limit: 3145728 -> "3 MiB".
function format_nbytes(n) {
  if (n < 1024) return `${n}${NBSP}B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024, i = 0;
  while (v >= 999.5 && i < units.length - 1) { v /= 1024; i++; }
  return `${Number(v.toPrecision(3))}${NBSP}${units[i]}`;
}
const format_exact = (n) => `${group_digits.format(n)}${NBSP}bytes`;

function format_percent(fraction) {
  const p = fraction * 100;
  if (p > 0 && p < 0.005) return `<${NBSP}0.01${NBSP}%`;
  return `${p < 1 ? p.toFixed(2) : p.toFixed(1)}${NBSP}%`;
}

// MB/s (10^6 bytes per second, as the API reports it).
const format_speed = (mb_s) => (mb_s >= 100 ? group_digits.format(Math.round(mb_s)) : String(Number(mb_s.toPrecision(3))));

function format_ms(ms) {
  if (ms < 1000) return `${Number(ms.toPrecision(ms < 1 ? 2 : 3))}${NBSP}ms`;
  return `${Number((ms / 1000).toPrecision(3))}${NBSP}s`;
}

function node(tag, cls, text) {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text !== undefined) n.textContent = text;
  return n;
}

// The server's messages are lower-case clauses; show them as a sentence.
const sentence = (text) => text[0].toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? '' : '.');

function show_error(message, retry_after_s = null) {
  el.error.textContent = message;
  el.error_box.hidden = false;
  el.retry.hidden = retry_after_s === null;
  if (retry_after_s !== null) {
    state.retry_at = Date.now() + retry_after_s * 1000;
    tick_retry();
  }
  el.error_box.scrollIntoView({ block: 'nearest' });
}

function hide_error() {
  el.error_box.hidden = true;
  el.retry.hidden = true;
  el.error.textContent = '';
}

// Retry stays disabled, counting down, until Retry-After has passed.
function tick_retry() {
  if (el.retry.hidden) return;
  const wait_s = Math.ceil((state.retry_at - Date.now()) / 1000);
  el.retry.disabled = wait_s > 0;
  el.retry.textContent = wait_s > 0 ? `Retry in ${wait_s}${NBSP}s` : 'Retry';
  if (wait_s > 0) setTimeout(tick_retry, 250);
}

function refresh_submit() {
  el.submit.disabled = state.busy || !el.form.dataset.state || el.form.dataset.state === 'loading' || state.over_budget;
}

function set_state(name) {
  el.form.dataset.state = name;
  state.busy = name === 'uploading' || name === 'compressing';
  el.inputs.disabled = state.busy; // nothing changes a request once it is sent
  el.cancel.hidden = !state.busy;
  el.form.setAttribute('aria-busy', String(state.busy));
  for (const b of document.querySelectorAll('[data-export]')) b.disabled = state.busy;
  refresh_submit();
}

// ---- codec panel ----

const panel_inputs = () => [...el.panel.querySelectorAll('input[type=checkbox]')];
const codec_named = (name) => state.codecs.find((c) => c.name === name);

function render_panel() {
  el.panel.textContent = '';
  for (const c of state.codecs) {
    const set = node('fieldset', 'codec');
    const legend = node('legend', null, c.name);
    legend.append(node('span', 'hint', ` ${c.library}`));
    const levels = node('div', 'levels');
    for (let level = c.min_level; level <= c.max_level; level++) {
      const label = node('label', 'chip');
      const input = node('input');
      input.type = 'checkbox';
      input.dataset.codec = c.name;
      input.dataset.level = String(level);
      input.tabIndex = level === c.min_level ? 0 : -1; // one Tab stop per row (roving)
      const face = node('span', level === c.default_level ? 'default' : null, String(level));
      face.append(node('span', 'sr-only slow-words', ' (slow)'));
      if (level === c.default_level) label.title = 'default level';
      label.append(input, face);
      levels.append(label);
    }
    set.append(legend, levels);
    el.panel.append(set);
  }
}

// Arrow keys inside the grid: Left/Right (Home/End) within a codec's row, Up/Down to the same
// place in the row above or below. The focused box becomes its row's one Tab stop.
function on_panel_key(e) {
  const input = e.target;
  if (input.type !== 'checkbox') return;
  const rows = [...el.panel.querySelectorAll('.levels')].map((r) => [...r.querySelectorAll('input')]);
  const r = rows.findIndex((row) => row.includes(input));
  const i = rows[r].indexOf(input);
  const moves = {
    ArrowRight: [r, i + 1], ArrowLeft: [r, i - 1], Home: [r, 0], End: [r, rows[r].length - 1],
    ArrowDown: [r + 1, i], ArrowUp: [r - 1, i],
  };
  if (!(e.key in moves)) return;
  e.preventDefault();
  const [to_r, to_i] = moves[e.key];
  const row = rows[to_r];
  if (row) row[Math.max(0, Math.min(to_i, row.length - 1))].focus(); // focusin moves the row's Tab stop
}

function apply_panel(entries, update_url = false) {
  const wanted = new Set(entries.map((p) => `${p.codec}:${p.level}`));
  for (const input of panel_inputs()) input.checked = wanted.has(`${input.dataset.codec}:${input.dataset.level}`);
  on_panel_change(update_url);
}

// The chosen entries, in registry order: [{codec, level}, …].
function selected_entries() {
  return panel_inputs().filter((i) => i.checked).map((i) => ({ codec: i.dataset.codec, level: Number(i.dataset.level) }));
}

// Sorted levels folded into runs, written with dash: [1,2,3,9] -> ["1-3", "9"].
function fold_runs(levels, dash) {
  const runs = [];
  for (let i = 0; i < levels.length;) {
    let j = i;
    while (j + 1 < levels.length && levels[j + 1] === levels[j] + 1) j++;
    runs.push(j > i ? `${levels[i]}${dash}${levels[j]}` : String(levels[i]));
    i = j + 1;
  }
  return runs;
}

function by_codec(entries) {
  const groups = new Map();
  for (const e of entries) groups.set(e.codec, [...(groups.get(e.codec) || []), e.level]);
  return [...groups];
}

// The server's syntax, also the URL's: "gzip:1-3,gzip:9,zstd:3".
const panel_spec = (entries) => by_codec(entries).flatMap(([name, levels]) => fold_runs(levels, '-').map((r) => `${name}:${r}`)).join(',');

// Reads a ?codecs= value; returns the entries this server has and the tokens it has not.
function parse_spec(spec) {
  const entries = [], unknown = [];
  for (const token of spec.split(',').map((t) => t.trim()).filter(Boolean)) {
    if (token === 'all') {
      for (const c of state.codecs) for (let l = c.min_level; l <= c.max_level; l++) entries.push({ codec: c.name, level: l });
      continue;
    }
    const m = token.match(/^([a-z0-9_-]+)(?::(\d+)(?:-(\d+))?)?$/i);
    const c = m && codec_named(m[1]);
    const lo = c && (m[2] === undefined ? c.default_level : Number(m[2]));
    const hi = c && (m[3] === undefined ? lo : Number(m[3]));
    if (!c || lo < c.min_level || hi > c.max_level || lo > hi) { unknown.push(token); continue; }
    for (let l = lo; l <= hi; l++) entries.push({ codec: c.name, level: l });
  }
  return { entries, unknown };
}

function on_panel_change(update_url = true) {
  const chosen = selected_entries();
  const names = by_codec(chosen).map(([name, levels]) => `${name} ${fold_runs(levels, '–').join(', ')}`);
  el.panel_summary.textContent = chosen.length ? `${chosen.length} selected: ${names.join(' · ')}` : 'none selected';
  if (update_url) {
    // A changed choice beside a finished run is a new entry, so that Back still shows that run
    // with its own codecs; further changes (and the run they lead to) replace that entry.
    const url = url_for(panel_spec(chosen));
    if (history.state?.run) history.pushState({ draft: true }, '', url);
    else history.replaceState(history.state, '', url);
  }
  update_cost();
}

const url_for = (spec) => (spec ? `?codecs=${spec}` : location.pathname);

// ---- the CPU estimate, from /api/codecs' measured costs (the server's 422 stays authoritative) ----

function level_cost(codec, level) {
  const costs = codec_named(codec)?.costs;
  return Array.isArray(costs) ? costs.find((c) => c.level === level) : undefined;
}

// One entry's estimated ms: its compression repeated in whole runs until they reach half the
// timing floor, then its decompression until the two together reach it; each at least once
// and at most max_runs times (as the server counts them).
function entry_ms(cost, nbytes) {
  const floor_ms = state.api.timing_floor_ms ?? 0, max_runs = state.api.max_runs ?? 1;
  const repeated = (t, floor) => (t > 0 ? t * Math.min(Math.max(Math.ceil(floor / t), 1), max_runs) : 0);
  const c = repeated((nbytes * cost.compress_ns_per_byte) / 1e6, floor_ms / 2);
  return c + repeated((nbytes * cost.decompress_ns_per_byte) / 1e6, Math.max(0, floor_ms - c));
}

// Entries that share one compression (gzip, zlib and deflate at one level) count once: the
// registry says so through derived_from where the API gives it, and their costs are equal.
function compression_key(codec, level, cost) {
  const c = codec_named(codec);
  if (state.codecs.some((d) => 'derived_from' in d)) return `${c.derived_from || c.name}:${level}`;
  return `${level}|${cost.compress_ns_per_byte}|${cost.decompress_ns_per_byte}`;
}

// null when the server gives no cost data.
function estimate_ms(entries, nbytes) {
  const distinct = new Map();
  for (const { codec, level } of entries) {
    const cost = level_cost(codec, level);
    if (!cost) return null;
    distinct.set(compression_key(codec, level, cost), entry_ms(cost, nbytes));
  }
  return [...distinct.values()].reduce((a, b) => a + b, 0);
}

function current_nbytes() {
  return state.file ? state.file.size : new Blob([el.text.value]).size;
}

function update_cost() {
  if (!state.api) return;
  const nbytes = current_nbytes();
  const basis = nbytes || state.max_input_nbytes;
  let any_slow = false;
  for (const input of panel_inputs()) {
    const cost = level_cost(input.dataset.codec, Number(input.dataset.level));
    const slow = Boolean(cost) && Number.isFinite(basis) && entry_ms(cost, basis) > slow_ms;
    input.nextElementSibling.classList.toggle('slow', slow);
    any_slow ||= slow;
  }
  el.slow_legend.hidden = !any_slow;
  const entries = selected_entries();
  const total_ms = estimate_ms(entries, nbytes);
  const limit_ms = state.api.max_panel_cpu_ms;
  state.over_budget = total_ms !== null && nbytes > 0 && total_ms > limit_ms;
  el.cost.hidden = total_ms === null || !nbytes || !entries.length;
  el.cost.classList.toggle('warn', state.over_budget);
  refresh_submit();
  if (el.cost.hidden) return;
  const what = `${entries.length === 1 ? 'this codec level' : `these ${entries.length} codec levels`} on ${format_nbytes(nbytes)}`;
  el.cost.textContent = state.over_budget
    ? `Too much work for one run: ${what} would take about ${format_ms(total_ms)} of server time, and the server allows ${format_ms(limit_ms)}. Untick some slow levels (marked with a dot) or use a smaller input.`
    : `Estimated server time for ${what}: about ${format_ms(total_ms)} (the server allows ${format_ms(limit_ms)}).`;
}

async function load_codecs() {
  try {
    const response = await fetch('/api/codecs');
    if (!response.ok) throw new Error(String(response.status));
    const body = await response.json();
    state.api = body;
    state.codecs = body.codecs;
    state.max_input_nbytes = body.max_input_nbytes;
    const limit = body.max_input_nbytes;
    el.limit_hint.textContent = `Up to ${format_nbytes(limit)} (${format_exact(limit)})`;
    render_panel();
    const spec = new URLSearchParams(location.search).get('codecs');
    const from_url = spec === null ? null : parse_spec(spec);
    apply_panel(from_url && from_url.entries.length ? from_url.entries : body.default_panel);
    if (from_url?.unknown.length) {
      show_error(`This link asks for codec levels this server does not have (${from_url.unknown.join(', ')}); they are left out.`);
    }
  } catch {
    el.panel_box.hidden = true;
    show_error('Could not load the list of codecs from the server, so the codec choice, the size limit and the time estimate are not available. Compress still works, with the server’s default codecs.');
  }
  set_state('ready');
  update_input_view();
}

// ---- input ----

function too_large_message(what, nbytes) {
  const advice = what === 'The text' ? 'Please shorten it.' : 'Please choose a smaller file.';
  return `${what} is ${format_nbytes(nbytes)} (${format_exact(nbytes)}), over the limit of ${el.limit_hint.textContent.replace(/^Up to /, '')}. ${advice}`;
}

function choose_file(file) {
  if (!file || state.busy) return;
  hide_error();
  el.file.value = '';
  if (file.size > state.max_input_nbytes) return show_error(too_large_message(`“${file.name}”`, file.size));
  if (file.size === 0) return show_error(`“${file.name}” is empty. Please choose a file with something in it.`);
  state.file = file;
  update_input_view();
  el.status.textContent = `“${file.name}” is ready to compress.`;
}

function update_input_view() {
  const file = state.file;
  const touch = coarse_pointer.matches;
  el.drop_words.hidden = touch; // no dragging, no arrow keys on a phone
  el.keys_hint.hidden = touch;
  el.chosen.hidden = !file;
  el.drop.classList.toggle('has-file', Boolean(file));
  el.text.disabled = Boolean(file);
  if (file) {
    el.chosen_name.textContent = `${file.name} · ${format_nbytes(file.size)} (${format_exact(file.size)})`;
    el.text_info.textContent = 'The chosen file will be compressed instead of the text.';
    el.text_info.classList.remove('warn');
  } else {
    // The text is sent as its UTF-8 bytes, line ends as typed: this is what the server measures.
    const nbytes = current_nbytes();
    const keys = touch ? '' : 'Ctrl + Enter to compress.';
    el.text_info.textContent = nbytes ? `${format_exact(nbytes)} of UTF-8, sent exactly as typed. ${keys}` : keys;
    el.text_info.classList.toggle('warn', nbytes > state.max_input_nbytes);
    if (nbytes > state.max_input_nbytes) el.text_info.textContent = too_large_message('The text', nbytes);
  }
  update_cost();
}

// ---- the request: the input's exact bytes as application/octet-stream, the report streamed back ----

function on_submit(event) {
  event.preventDefault();
  if (el.submit.disabled) return;
  hide_error();
  const entries = state.codecs.length ? selected_entries() : null;
  if (entries && !entries.length) {
    el.panel_box.open = true;
    return show_error('Please choose at least one codec level.');
  }
  let input;
  if (state.file) {
    input = { file: state.file, subject: `“${state.file.name}”`, what: `“${state.file.name}”` };
  } else {
    if (!el.text.value) {
      el.text.focus();
      return show_error('Please paste some text or choose a file first.');
    }
    input = { text: el.text.value, subject: 'the pasted text', what: 'The text' };
  }
  input.body = input.file || new Blob([input.text]); // Blob: UTF-8, line ends untouched
  // Checked here as well as on input: nothing is sent that the server would refuse for size.
  if (input.body.size > state.max_input_nbytes) return show_error(too_large_message(input.what, input.body.size));
  send({ input, spec: entries ? panel_spec(entries) : '' });
}

function show_meter(text) {
  el.meter.textContent = `${text} · ${format_ms(Date.now() - state.started_at)}`;
}

function send(request) {
  state.last_request = request;
  const { input, spec } = request;
  const nbytes = input.body.size;
  const xhr = new XMLHttpRequest();
  state.xhr = xhr;
  const stream = { offset: 0, total: 0, done: 0, report: null, failure: null, streaming: false };
  const view = begin_view(input, spec, nbytes);
  let phase_text = 'Uploading';
  state.started_at = Date.now();
  const timer = setInterval(() => show_meter(phase_text), 200);

  xhr.open('POST', `/compress${spec ? `?codecs=${spec}` : ''}`);
  xhr.setRequestHeader('Content-Type', 'application/octet-stream');
  xhr.setRequestHeader('Accept', 'application/x-ndjson'); // a server without streaming answers JSON
  xhr.upload.onprogress = (e) => {
    if (!e.lengthComputable) return;
    el.progress.max = 100;
    el.progress.value = Math.floor((e.loaded / e.total) * 100);
    phase_text = `Uploading ${format_nbytes(e.loaded)} of ${format_nbytes(e.total)} (${el.progress.value}${NBSP}%)`;
    show_meter(phase_text);
  };
  xhr.upload.onload = () => {
    el.progress.value = 100;
    el.progress.removeAttribute('value'); // indeterminate until the server says how many
    set_state('compressing');
    el.status.textContent = 'Compressing…';
    phase_text = 'Compressing';
    show_meter(phase_text);
  };
  // NDJSON lines as they arrive: start, one per finished entry, then the report (or an error).
  const consume = () => {
    if (!stream.streaming) return;
    const text = xhr.responseText;
    let end;
    while ((end = text.indexOf('\n', stream.offset)) >= 0) {
      const line = text.slice(stream.offset, end).trim();
      stream.offset = end + 1;
      if (!line) continue;
      let msg;
      try { msg = JSON.parse(line); } catch { stream.failure = { status: 500, body: null }; return; }
      if (msg.type === 'start') {
        stream.total = msg.total;
      } else if (msg.type === 'entry') {
        stream.done = msg.done;
        stream.total = msg.total;
        add_entry(view, msg.entry);
      } else if (msg.type === 'report') {
        stream.report = msg.report;
      } else if (msg.type === 'error') {
        stream.failure = { status: msg.status || 500, body: msg };
      }
      if (stream.total) {
        el.progress.max = stream.total;
        el.progress.value = stream.done;
        phase_text = `Compressing: ${stream.done} of ${stream.total} done`;
        show_meter(phase_text);
      }
    }
  };
  xhr.onreadystatechange = () => {
    if (xhr.readyState === XMLHttpRequest.HEADERS_RECEIVED) {
      stream.streaming = xhr.status === 200 && /^application\/x-ndjson/.test(xhr.getResponseHeader('Content-Type') || '');
    }
  };
  xhr.onprogress = consume;
  const done = () => {
    clearInterval(timer);
    state.xhr = null;
    el.progress.hidden = true;
    el.meter.textContent = '';
    set_state('ready');
  };
  xhr.onload = () => {
    let body = null;
    if (stream.streaming) {
      consume();
      body = stream.report;
    } else {
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON: described by status below */ }
    }
    done();
    if (!stream.failure && xhr.status === 200 && body && Array.isArray(body.results)) {
      el.status.textContent = 'Done.';
      return finish_view(view, body);
    }
    const failure = stream.failure || { status: xhr.status, body };
    el.status.textContent = '';
    if (view.rows.length) mark_incomplete(view, stream);
    else hide_results();
    show_failure(failure.status, failure.body, xhr.getResponseHeader('Retry-After'));
  };
  xhr.onerror = () => {
    done();
    el.status.textContent = '';
    if (!view.rows.length) hide_results();
    show_error('Could not reach the server. Please check your connection and try again.', 0);
  };
  xhr.onabort = () => {
    done();
    if (view.rows.length) mark_incomplete(view, stream);
    else hide_results();
    el.status.textContent = 'Cancelled. Nothing more is being sent or received.';
  };
  set_state('uploading');
  el.progress.hidden = false;
  el.progress.max = 100;
  el.progress.value = 0;
  el.status.textContent = 'Uploading…';
  show_meter(phase_text);
  xhr.send(input.body);
}

function show_failure(status, body, retry_after) {
  const server_says = body && typeof body.error === 'string' && body.error ? body.error : '';
  if (status === 503 || status === 429) {
    // One sentence; the Retry button says when (Retry-After), the server's advice would repeat it.
    const seconds = Number.parseInt(retry_after, 10);
    const message = status === 503 ? 'The server is busy right now.' : 'You already have several runs in progress on this server.';
    return show_error(message, Number.isFinite(seconds) && seconds > 0 ? seconds : 1);
  }
  let message = server_says ? sentence(server_says.replace(/\bpanel\b/g, 'codec choice'))
    : status === 413 ? 'The input is too large for the server.'
      : status >= 500 ? 'The server could not finish this run.'
        : 'The server could not compress this input.';
  show_error(message, status >= 500 ? 0 : null);
}

// ---- results ----

const key_of = (r) => `${r.codec}:${r.level}`;

// Speed in MB/s, or null where the time was too short to measure (the API's null).
function speed_of(mb_s, ms, original) {
  if (mb_s === undefined) return ms > 0 && original > 0 ? original / ms / 1000 : null; // an older server
  return Number.isFinite(mb_s) && mb_s > 0 ? mb_s : null;
}

function row_of(entry, original) {
  return {
    ...entry,
    fraction: original ? entry.size / original : 1,
    cspeed: speed_of(entry.compress_mb_s, entry.compress_ms, original),
    dspeed: speed_of(entry.decompress_mb_s, entry.decompress_ms, original),
  };
}

function begin_view(input, spec, nbytes) {
  const subject = input.file ? input.subject : `${input.subject} (${format_exact(nbytes)})`;
  return { input, spec, subject, original: nbytes, rows: [], report: null, complete: false };
}

function add_entry(view, entry) {
  view.rows = view.rows.filter((r) => key_of(r) !== key_of(entry)).concat(row_of(entry, view.original));
  show_view(view, false);
}

function finish_view(view, report) {
  view.original = report.original_size;
  view.rows = report.results.map((r) => row_of(r, report.original_size));
  view.report = report;
  view.complete = true;
  el.export_status.textContent = '';
  const id = state.next_run++;
  state.runs.set(id, view);
  if (history.state?.draft) history.replaceState({ run: id }, '', url_for(view.spec));
  else history.pushState({ run: id }, '', url_for(view.spec));
  show_view(view, true);
}

function mark_incomplete(view, stream) {
  show_view(view, false);
  el.summary.textContent = `Stopped after ${view.rows.length} of ${stream.total || '?'} codec levels; these are the ones that finished.`;
}

function hide_results() {
  state.view = null;
  el.results.hidden = true;
  el.main.classList.remove('split');
}

const codec_rank = (name) => state.codecs.findIndex((c) => c.name === name);
const memory_of = (r) => (r.compress_peak_bytes ?? -1) + (r.decompress_peak_bytes ?? 0);
const by_speed = (key) => (a, b) => (a[key] ?? -1) - (b[key] ?? -1) || compare.codec(a, b);
const compare = {
  codec: (a, b) => codec_rank(a.codec) - codec_rank(b.codec) || a.codec.localeCompare(b.codec) || a.level - b.level,
  level: (a, b) => a.level - b.level || compare.codec(a, b),
  size: (a, b) => a.size - b.size || compare.codec(a, b),
  ratio: (a, b) => compare.size(a, b),
  cspeed: by_speed('cspeed'),
  dspeed: by_speed('dspeed'),
  memory: (a, b) => memory_of(a) - memory_of(b) || compare.codec(a, b),
  verified: (a, b) => Number(a.verified === true) - Number(b.verified === true) || compare.codec(a, b),
};

function describe_best(view) {
  const { original } = view;
  const best = [...view.rows].sort(compare.size)[0];
  if (!best) return 'No codec results.';
  const name = `${best.codec} ${best.level}`;
  if (best.size >= original) {
    const delta = best.size - original;
    return `No codec made it smaller: the best, ${name}, gives ${format_exact(best.size)}, ` +
      `${delta ? `+${group_digits.format(delta)}` : '±0'} bytes against the ${format_exact(original)} of the input. ` +
      'It looks already compressed, or random.';
  }
  return `${format_nbytes(original)} became ${format_nbytes(best.size)} with ${name}: ` +
    `${format_percent(best.fraction)} of the original, ${Number((1 / best.fraction).toPrecision(3))}× smaller, ` +
    `${group_digits.format(original - best.size)} bytes saved.`;
}

function describe_wire(wire) {
  const w = wire && (wire.chosen || wire.identity);
  if (!w) return '';
  const what = wire.chosen ? `${wire.chosen.codec} ${wire.chosen.level}` : 'it uncompressed';
  const plural = (n, word) => `${group_digits.format(n)} ${word}${n === 1 ? '' : 's'}`;
  return `Your browser (Accept-Encoding: ${wire.accept_encoding || 'none'}) would receive ${what}: ` +
    `${format_nbytes(w.response_bytes)}, ${plural(w.segments_mss1460, 'segment')}, ${plural(w.round_trips_mss1460, 'round trip')} ` +
    '(1460-byte segments).';
}

function show_view(view, focus) {
  state.view = view;
  el.main.classList.add('split');
  el.results.hidden = false; // first, so that the chart is drawn at its real width
  el.results_title.textContent = `Results for ${view.subject}`;
  const report = view.report;
  el.summary.textContent = view.complete
    ? `${describe_best(view)} The server took ${format_ms(report.elapsed_ms)}.`
    : `${view.rows.length} finished so far…`;
  el.wire.textContent = view.complete ? describe_wire(report.wire) : '';
  el.wire.hidden = !el.wire.textContent;
  render_bars(view);
  render_table();
  render_plot();
  el.results.dataset.complete = String(view.complete);
  if (focus) el.results.focus(); // moves screen readers to the results heading
}

function render_bars(view) {
  const { original } = view;
  const rows = [...view.rows].sort(compare.size);
  const scale = Math.max(original, ...rows.map((r) => r.size));
  el.chart.textContent = '';
  const bar_row = (cls, name, level, size) => {
    const li = node('li', cls);
    const label = node('span', 'name', name);
    if (level !== null) label.append(node('span', 'sr-only', ' level'), node('span', 'level', ` ${level}`));
    const track = node('span', 'track');
    track.setAttribute('aria-hidden', 'true');
    const bar = node('span', 'bar');
    bar.style.width = `max(${(size / scale) * 100}%, 3px)`; // the tiniest result stays visible
    track.append(bar);
    const value = node('span', 'value', format_nbytes(size));
    if (level !== null) value.append(node('span', 'pct', ` ${format_percent(size / original)}`));
    li.append(label, track, value);
    el.chart.append(li);
  };
  bar_row('original', 'Original', null, original);
  for (const r of rows) bar_row(r === rows[0] && r.size < original ? 'best' : '', r.codec, r.level, r.size);
}

const too_fast = 'too fast to time';

function speed_cell(mb_s) {
  if (mb_s !== null) return node('td', 'num', format_speed(mb_s));
  return node('td', 'num unmeasured', too_fast);
}

const peak_text = (n) => (n === null || n === undefined ? '—' : format_nbytes(n));
const memory_text = (r) => `${peak_text(r.compress_peak_bytes)} · ${peak_text(r.decompress_peak_bytes)}`;

// Compression's peak above decompression's; the copied text still reads "a · b".
function memory_cell(r) {
  const td = node('td', 'num mem', peak_text(r.compress_peak_bytes));
  td.append(node('span', 'sub', ` · ${peak_text(r.decompress_peak_bytes)}`));
  return td;
}

function render_table() {
  const view = state.view;
  const { key, dir } = state.sort;
  const rows = [...view.rows].sort((a, b) => dir * compare[key](a, b));
  const best = [...view.rows].sort(compare.size)[0];
  const body = el.table.tBodies[0];
  body.textContent = '';
  for (const r of rows) {
    const tr = node('tr', r === best && r.size < view.original ? 'best' : null);
    tr.dataset.key = key_of(r);
    tr.append(node('td', null, r.codec), node('td', 'num', String(r.level)));
    const size = node('td', 'num size', format_nbytes(r.size));
    if (r.size >= 1024) size.append(node('span', 'sub', ` ${format_exact(r.size)}`)); // the space keeps a copied cell readable
    const checked = node('td', r.verified === false ? 'bad' : null, r.verified === true ? '✓' : r.verified === false ? '✗' : '—');
    checked.append(node('span', 'sr-only', r.verified === true ? ' verified' : r.verified === false ? ' mismatch' : ' not checked'));
    tr.append(size, node('td', 'num', format_percent(r.fraction)), speed_cell(r.cspeed), speed_cell(r.dspeed),
      memory_cell(r), checked);
    body.append(tr);
  }
  for (const th of el.table.tHead.rows[0].cells) {
    if (th.querySelector('button').dataset.key === key) th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
    else th.removeAttribute('aria-sort');
  }
}

function on_sort(event) {
  const button = event.target.closest('button[data-key]');
  if (!button || !state.view) return;
  const key = button.dataset.key;
  const fastest_first = key === 'cspeed' || key === 'dspeed' || key === 'verified';
  state.sort = state.sort.key === key ? { key, dir: -state.sort.dir } : { key, dir: fastest_first ? -1 : 1 };
  render_table();
}

// ---- the chart: size (% of the original) against speed on a log axis, Pareto frontier drawn ----

const SVG_NS = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, text) {
  const n = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  if (text !== undefined) n.textContent = text;
  return n;
}

// The size axis over [lo, hi] (percent): linear with round ticks, or logarithmic with ticks at
// 1, 2 and 5 per decade when the sizes span ten times or more, so small ones do not pile up.
function size_axis(lo, hi) {
  if (hi >= lo * 10) {
    const y0 = lo / 1.2, y1 = hi * 1.2, ticks = [];
    for (let k = Math.floor(Math.log10(y0)); k <= Math.ceil(Math.log10(y1)); k++) {
      for (const s of [1, 2, 5]) if (s * 10 ** k >= y0 && s * 10 ** k <= y1) ticks.push(Number((s * 10 ** k).toPrecision(3)));
    }
    const at = (v) => (Math.log10(v) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0));
    return { log: true, ticks, at };
  }
  const span = hi - lo || Math.max(hi * 0.2, 1);
  const raw = span / 4, mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((s) => s * mag).find((s) => s >= raw);
  const y0 = Math.max(0, Math.floor((lo - span * 0.08) / step) * step);
  const ticks = [];
  for (let t = y0; t <= hi + span * 0.08 + step * 0.999; t += step) ticks.push(Number(t.toPrecision(6)));
  const y1 = ticks.at(-1);
  return { log: false, ticks, at: (v) => (v - y0) / (y1 - y0) };
}

const speed_word = () => (state.axis === 'compress' ? 'compression' : 'decompression');
const point_text = (r) => `${r.codec} ${r.level}: ${format_nbytes(r.size)}, ${format_percent(r.fraction)}; ` +
  `compresses at ${r.cspeed === null ? too_fast : `${format_speed(r.cspeed)} MB/s`}, ` +
  `decompresses at ${r.dspeed === null ? too_fast : `${format_speed(r.dspeed)} MB/s`}` +
  `${r.pareto?.[state.axis] ? `; on the ${speed_word()} frontier` : ''}`;

function render_plot() {
  const view = state.view;
  if (!view) return;
  const key = state.axis === 'compress' ? 'cspeed' : 'dspeed';
  const points = view.rows.filter((r) => r[key] !== null).sort((a, b) => a[key] - b[key] || a.size - b.size);
  const left_out = view.rows.length - points.length;
  el.plot_note.textContent = left_out
    ? `Not plotted: ${left_out} ${left_out === 1 ? 'entry' : 'entries'} ${too_fast} on this input.` : '';
  const focused = el.plot_box.contains(document.activeElement) ? document.activeElement.dataset.key : null;
  for (const old of el.plot_box.querySelectorAll('svg')) old.remove();
  el.tip.hidden = true;
  if (!points.length) return;

  const width = Math.max(260, el.plot_box.clientWidth);
  const height = width < 560 ? 260 : 330;
  const m = { l: 64, r: 16, t: 14, b: 44 };
  const logs = points.map((p) => Math.log10(p[key]));
  const x0 = Math.floor(Math.min(...logs)), x1 = Math.max(Math.ceil(Math.max(...logs)), x0 + 1);
  const y = size_axis(Math.min(...points.map((p) => p.fraction * 100)), Math.max(...points.map((p) => p.fraction * 100)));
  const X = (v) => m.l + ((Math.log10(v) - x0) / (x1 - x0)) * (width - m.l - m.r);
  const Y = (pct) => height - m.b - y.at(pct) * (height - m.t - m.b);

  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'group', class: 'plot' });
  root.setAttribute('aria-label', `Compressed size against ${speed_word()} speed, ${points.length} points; use the arrow keys to go from point to point`);
  const axes = svg('g', { class: 'axes', 'aria-hidden': 'true' });
  for (let k = x0; k <= x1; k++) {
    const x = X(10 ** k);
    axes.append(svg('line', { x1: x, x2: x, y1: m.t, y2: height - m.b, class: 'grid' }),
      svg('text', { x, y: height - m.b + 16, 'text-anchor': 'middle' }, k < 0 ? String(10 ** k) : group_digits.format(10 ** k)));
    if (k < x1) for (const minor of [2, 5]) {
      const xm = X(minor * 10 ** k);
      axes.append(svg('line', { x1: xm, x2: xm, y1: m.t, y2: height - m.b, class: 'grid minor' }));
    }
  }
  for (const t of y.ticks) {
    axes.append(svg('line', { x1: m.l, x2: width - m.r, y1: Y(t), y2: Y(t), class: 'grid' }),
      svg('text', { x: m.l - 6, y: Y(t) + 4, 'text-anchor': 'end' }, `${t}%`));
  }
  axes.append(svg('text', { x: (m.l + width - m.r) / 2, y: height - 6, 'text-anchor': 'middle', class: 'title' },
    `${speed_word()[0].toUpperCase()}${speed_word().slice(1)} speed, MB/s (log scale) →`));
  axes.append(svg('text', { x: 12, y: m.t + (height - m.b - m.t) / 2, 'text-anchor': 'middle', class: 'title',
    transform: `rotate(-90 12 ${m.t + (height - m.b - m.t) / 2})` }, `← smaller   size, % of original${y.log ? ' (log)' : ''}`));
  root.append(axes);

  // The frontier: no other point is both at least as small and at least as fast.
  const frontier = points.filter((p) => p.pareto?.[state.axis]);
  if (frontier.length > 1) {
    root.append(svg('polyline', { class: 'frontier', 'aria-hidden': 'true',
      points: frontier.map((p) => `${X(p[key])},${Y(p.fraction * 100)}`).join(' ') }));
  }
  const labels = svg('g', { class: 'labels', 'aria-hidden': 'true' });
  const placed = [];
  for (const p of frontier) {
    const x = X(p[key]), yy = Y(p.fraction * 100), text = `${p.codec} ${p.level}`;
    const w = text.length * 6.5, anchor_end = x + 8 + w > width - m.r;
    const lx = anchor_end ? x - 8 : x + 8;
    for (const dy of [-8, 14, -20, 26]) {
      const box = { x: anchor_end ? lx - w : lx, y: yy + dy - 10, w, h: 12 };
      if (placed.some((b) => box.x < b.x + b.w && b.x < box.x + box.w && box.y < b.y + b.h && b.y < box.y + box.h)) continue;
      placed.push(box);
      labels.append(svg('text', { x: lx, y: yy + dy, 'text-anchor': anchor_end ? 'end' : 'start' }, text));
      break;
    }
  }
  const dots = svg('g', { class: 'points' });
  points.forEach((p, i) => {
    const dot = svg('circle', { cx: X(p[key]), cy: Y(p.fraction * 100), r: p.pareto?.[state.axis] ? 5.5 : 4.5,
      class: p.pareto?.[state.axis] ? 'pareto' : '', tabindex: i === 0 ? 0 : -1, role: 'img', 'aria-label': point_text(p) });
    dot.dataset.key = key_of(p);
    dots.append(dot);
  });
  root.append(dots, labels);
  el.plot_box.prepend(root);
  // A redraw (new width, a new row) keeps the point the keyboard was on.
  const again = focused && dots.querySelector(`[data-key="${focused}"]`);
  if (again) {
    dots.querySelector('[tabindex="0"]').setAttribute('tabindex', '-1');
    again.setAttribute('tabindex', '0');
    again.focus();
  }
}

function show_tip(dot) {
  const row = state.view.rows.find((r) => key_of(r) === dot.dataset.key);
  for (const d of el.plot_box.querySelectorAll('circle.active')) d.classList.remove('active');
  dot.classList.add('active');
  el.tip.textContent = point_text(row);
  el.tip.hidden = false;
  const x = Number(dot.getAttribute('cx')), y = Number(dot.getAttribute('cy'));
  const box_w = el.plot_box.clientWidth;
  el.tip.style.left = `${Math.min(Math.max(x - el.tip.offsetWidth / 2, 0), box_w - el.tip.offsetWidth)}px`;
  el.tip.style.top = `${Math.max(y - el.tip.offsetHeight - 12, 0)}px`;
}

function hide_tip() {
  el.tip.hidden = true;
  for (const d of el.plot_box.querySelectorAll('circle.active')) d.classList.remove('active');
}

function plot_dots() { return [...el.plot_box.querySelectorAll('circle')]; }

function on_plot_key(e) {
  const dots = plot_dots();
  const i = dots.indexOf(e.target);
  if (i < 0) return;
  const to = { ArrowRight: i + 1, ArrowUp: i + 1, ArrowLeft: i - 1, ArrowDown: i - 1, Home: 0, End: dots.length - 1 }[e.key];
  if (to === undefined) return;
  e.preventDefault();
  const target = dots[Math.max(0, Math.min(to, dots.length - 1))];
  dots[i].setAttribute('tabindex', '-1');
  target.setAttribute('tabindex', '0');
  target.focus();
}

// Hover picks the nearest point within reach, so small dots are easy to hit.
function on_plot_pointer(e) {
  const box = el.plot_box.getBoundingClientRect();
  const px = e.clientX - box.left, py = e.clientY - box.top;
  let best = null, best_d = 24 ** 2;
  for (const dot of plot_dots()) {
    const d = (dot.cx.baseVal.value - px) ** 2 + (dot.cy.baseVal.value - py) ** 2;
    if (d < best_d) { best = dot; best_d = d; }
  }
  if (best) show_tip(best);
  else hide_tip();
}

// ---- export ----

const export_columns = ['codec', 'level', 'size', 'ratio', 'compress_ms', 'decompress_ms', 'compress_mb_s',
  'decompress_mb_s', 'compress_peak_bytes', 'decompress_peak_bytes', 'verified'];

function csv_of(view) {
  const cell = (v) => (v === null || v === undefined ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  return [export_columns.join(','), ...view.report.results.map((r) => export_columns.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}

function markdown_of(view) {
  const head = ['codec', 'level', 'size (bytes)', 'ratio', 'compress MB/s', 'decompress MB/s', 'memory compress · decompress', 'verified'];
  const lines = [`| ${head.join(' | ')} |`, '|---|---:|---:|---:|---:|---:|---:|---|'];
  for (const r of view.rows) {
    const speed = (s) => (s === null ? too_fast : format_speed(s));
    lines.push(`| ${[r.codec, r.level, group_digits.format(r.size), format_percent(r.fraction), speed(r.cspeed),
      speed(r.dspeed), memory_text(r), r.verified ? 'yes' : 'no'].join(' | ').replace(/\u00a0/g, ' ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

const shell_quote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
const inline_text_nbytes = 65536; // a longer command line than this is refused by some shells

function curl_of(view) {
  const url = shell_quote(`${location.origin}/compress${view.spec ? `?codecs=${view.spec}` : ''}`);
  const curl = `curl -H 'Content-Type: application/octet-stream' --data-binary @`;
  const { input } = view;
  if (input.file) return `${curl}${shell_quote(input.file.name)} ${url}\n`;
  if (input.body.size <= inline_text_nbytes) return `printf '%s' ${shell_quote(input.text)} | ${curl}- ${url}\n`;
  return `# save the text as text.txt first\n${curl}text.txt ${url}\n`;
}

async function copy_text(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Not a secure context, or no permission: the old way, through a selection.
    const area = node('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.append(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    if (!ok) throw new Error('copy refused');
  }
}

async function on_export(event) {
  const button = event.target.closest('button[data-export]');
  const view = state.view;
  if (!button || !view?.complete) return;
  const kind = button.dataset.export;
  if (kind === 'json') {
    const link = node('a');
    link.href = URL.createObjectURL(new Blob([JSON.stringify(view.report, null, 2)], { type: 'application/json' }));
    link.download = 'compresstest-report.json';
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    el.export_status.textContent = 'Downloaded compresstest-report.json.';
    return;
  }
  const text = { csv: csv_of, markdown: markdown_of, curl: curl_of }[kind](view);
  try {
    await copy_text(text);
    el.export_status.textContent = `Copied ${button.textContent.replace(/^Copy as /, '')} to the clipboard.`;
  } catch {
    el.export_status.textContent = 'The browser refused to copy to the clipboard.';
  }
}

// ---- history: each run is an entry; Back and Forward show this visit's earlier runs ----

function restore_input(input) {
  state.file = input.file || null;
  if (!input.file) el.text.value = input.text;
  update_input_view();
}

function on_popstate(e) {
  if (state.busy) state.xhr.abort();
  hide_error();
  const view = state.runs.get(e.state?.run);
  const spec = new URLSearchParams(location.search).get('codecs');
  if (state.codecs.length) apply_panel(spec === null ? state.api.default_panel : parse_spec(spec).entries);
  if (!view) return e.state?.draft ? undefined : hide_results(); // a draft keeps the run beside it
  restore_input(view.input);
  show_view(view, false);
}

// ---- wiring ----

el.form.addEventListener('submit', on_submit);
el.text.addEventListener('input', update_input_view);
el.text.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) el.form.requestSubmit();
});
el.file.addEventListener('change', () => choose_file(el.file.files[0]));
$('clear-file').addEventListener('click', () => {
  state.file = null;
  update_input_view();
  el.status.textContent = '';
  el.file.focus();
});
el.panel.addEventListener('change', () => on_panel_change());
el.panel.addEventListener('keydown', on_panel_key);
el.panel.addEventListener('focusin', (e) => {
  if (e.target.type !== 'checkbox') return;
  for (const box of e.target.closest('.levels').querySelectorAll('input')) box.tabIndex = box === e.target ? 0 : -1;
});
$('panel-defaults').addEventListener('click', () => apply_panel(state.api.default_panel, true));
$('panel-clear').addEventListener('click', () => apply_panel([], true));
el.cancel.addEventListener('click', () => state.xhr?.abort());
el.retry.addEventListener('click', () => {
  if (!state.last_request || state.busy) return;
  hide_error();
  send(state.last_request);
});
el.table.tHead.addEventListener('click', on_sort);
el.results.addEventListener('click', on_export);
for (const radio of document.querySelectorAll('input[name=axis]')) {
  radio.addEventListener('change', () => { state.axis = radio.value; render_plot(); });
}
el.plot_box.addEventListener('keydown', on_plot_key);
el.plot_box.addEventListener('focusin', (e) => { if (e.target.tagName === 'circle') show_tip(e.target); });
el.plot_box.addEventListener('focusout', hide_tip);
el.plot_box.addEventListener('pointermove', on_plot_pointer);
el.plot_box.addEventListener('pointerleave', hide_tip);
let plot_width = 0;
new ResizeObserver(() => {
  if (el.plot_box.clientWidth !== plot_width) { plot_width = el.plot_box.clientWidth; render_plot(); }
}).observe(el.plot_box);
coarse_pointer.addEventListener('change', update_input_view);
window.addEventListener('popstate', on_popstate);

const has_files = (e) => [...e.dataTransfer.types].includes('Files');
for (const type of ['dragenter', 'dragover']) {
  el.drop.addEventListener(type, (e) => {
    if (!has_files(e)) return;
    e.preventDefault();
    el.drop.classList.add('over');
  });
}
el.drop.addEventListener('dragleave', (e) => {
  if (!el.drop.contains(e.relatedTarget)) el.drop.classList.remove('over');
});
el.drop.addEventListener('drop', (e) => {
  e.preventDefault();
  el.drop.classList.remove('over');
  choose_file(e.dataTransfer.files[0]);
});
// A file dropped beside the zone must not make the browser navigate away from the page.
for (const type of ['dragover', 'drop']) window.addEventListener(type, (e) => e.preventDefault());

set_state('loading');
update_input_view();
load_codecs();
