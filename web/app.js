// CompressTest page logic: input and size-limit checks, codec panel, upload with progress, results.
'use strict';

const $ = (id) => document.getElementById(id);
const el = {
  form: $('form'), text: $('text'), text_info: $('text-info'), file: $('file'), drop: $('drop'),
  limit_hint: $('limit-hint'), chosen: $('chosen'), chosen_name: $('chosen-name'),
  panel_box: $('panel-box'), panel: $('panel'), panel_summary: $('panel-summary'),
  submit: $('submit'), progress: $('progress'), status: $('status'), error: $('error'),
  results: $('results'), results_title: $('results-title'), summary: $('summary'),
  chart: $('chart'), table: $('table'),
};

const state = {
  codecs: [],                   // descriptors from /api/codecs, in registry order
  default_panel: [],            // [{codec, level}]
  max_input_nbytes: Infinity,   // unknown until /api/codecs answers
  file: null,                   // the chosen File, which wins over the text
  rows: [],                     // results of the last report, with derived speed
  best: null,                   // the smallest of rows
  sort: { key: 'size', dir: 1 },
};

const NBSP = '\u00a0';
const group_digits = new Intl.NumberFormat('en');

// Decimal units, like MB/s: 334815 -> "335 kB".
function format_nbytes(n) {
  if (n < 1000) return `${n}${NBSP}B`;
  const units = ['kB', 'MB', 'GB'];
  let v = n / 1000, i = 0;
  while (v >= 999.5 && i < units.length - 1) { v /= 1000; i++; }
  return `${v.toPrecision(3)}${NBSP}${units[i]}`;
}

function format_percent(fraction) {
  const p = fraction * 100;
  return `${p < 1 ? p.toFixed(2) : p.toFixed(1)}${NBSP}%`;
}

// MB/s, the unit being in the column header.
function format_speed(mb_per_s) {
  if (!Number.isFinite(mb_per_s)) return '—';
  return mb_per_s >= 100 ? group_digits.format(Math.round(mb_per_s)) : mb_per_s.toPrecision(3);
}

const format_ms = (ms) => (ms < 1000 ? `${Math.round(ms)}${NBSP}ms` : `${(ms / 1000).toPrecision(3)}${NBSP}s`);

function node(tag, cls, text) {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text !== undefined) n.textContent = text;
  return n;
}

function set_state(name) {
  el.form.dataset.state = name;
  const busy = name === 'uploading' || name === 'compressing';
  el.submit.disabled = busy || name === 'loading';
  el.form.setAttribute('aria-busy', String(busy));
}

function show_error(message) {
  el.error.textContent = message;
  el.error.hidden = false;
  el.error.scrollIntoView({ block: 'nearest' });
}

function hide_error() {
  el.error.hidden = true;
  el.error.textContent = '';
}

// ---- codec panel ----

function panel_inputs() {
  return [...el.panel.querySelectorAll('input[type=checkbox]')];
}

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
      const face = node('span', level === c.default_level ? 'default' : null, String(level));
      if (level === c.default_level) label.title = 'default level';
      label.append(input, face);
      levels.append(label);
    }
    set.append(legend, levels);
    el.panel.append(set);
  }
}

function apply_panel(panel) {
  const wanted = new Set(panel.map((p) => `${p.codec}:${p.level}`));
  for (const input of panel_inputs()) input.checked = wanted.has(`${input.dataset.codec}:${input.dataset.level}`);
  update_panel_summary();
}

// Selected levels per codec, in registry order: [[name, [levels…]], …].
function selected_levels() {
  const by_codec = new Map(state.codecs.map((c) => [c.name, []]));
  for (const input of panel_inputs()) {
    if (input.checked) by_codec.get(input.dataset.codec).push(Number(input.dataset.level));
  }
  return [...by_codec].filter(([, levels]) => levels.length);
}

// Sorted levels folded into runs, written with dash: [1,2,3,9] -> ["1-3", "9"].
function fold_runs(levels, dash) {
  const runs = [];
  for (let i = 0; i < levels.length; ) {
    let j = i;
    while (j + 1 < levels.length && levels[j + 1] === levels[j] + 1) j++;
    runs.push(j > i ? `${levels[i]}${dash}${levels[j]}` : String(levels[i]));
    i = j + 1;
  }
  return runs;
}

// The server's panel syntax: "gzip:1-3,gzip:9,zstd:3".
function panel_spec() {
  return selected_levels().flatMap(([name, levels]) => fold_runs(levels, '-').map((r) => `${name}:${r}`)).join(',');
}

function update_panel_summary() {
  const chosen = selected_levels();
  const count = chosen.reduce((n, [, levels]) => n + levels.length, 0);
  const names = chosen.map(([name, levels]) => `${name} ${fold_runs(levels, '–').join(', ')}`);
  el.panel_summary.textContent = count ? `${count} selected: ${names.join(' · ')}` : 'none selected';
}

async function load_codecs() {
  try {
    const response = await fetch('/api/codecs');
    if (!response.ok) throw new Error(String(response.status));
    const body = await response.json();
    state.codecs = body.codecs;
    state.default_panel = body.default_panel;
    state.max_input_nbytes = body.max_input_nbytes;
    el.limit_hint.textContent = `Up to ${format_nbytes(body.max_input_nbytes)}`;
    render_panel();
    apply_panel(state.default_panel);
  } catch {
    el.panel_box.hidden = true;
    show_error('Could not load the list of codecs, so the server’s default set will be used.');
  }
  set_state('ready');
}

// ---- input ----

// Browsers send a text field's line breaks as CRLF; count what the server will receive.
const text_nbytes = (text) => new TextEncoder().encode(text.replace(/\r\n|\r|\n/g, '\r\n')).length;

function too_large_message(what, nbytes) {
  const advice = what === 'The text' ? 'Please shorten it.' : 'Please choose a smaller file.';
  const limit = format_nbytes(state.max_input_nbytes);
  return `${what} is ${format_nbytes(nbytes)}, which is over the ${limit} limit. ${advice}`;
}

function choose_file(file) {
  if (!file || el.form.dataset.state === 'uploading' || el.form.dataset.state === 'compressing') return;
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
  el.chosen.hidden = !file;
  el.drop.classList.toggle('has-file', Boolean(file));
  el.text.disabled = Boolean(file);
  if (file) {
    el.chosen_name.textContent = `${file.name} · ${format_nbytes(file.size)}`;
    el.text_info.textContent = 'The chosen file will be compressed instead of the text.';
    return;
  }
  const nbytes = text_nbytes(el.text.value);
  el.text_info.textContent = `${nbytes ? `${group_digits.format(nbytes)} bytes · ` : ''}Ctrl + Enter to compress.`;
  el.text_info.classList.toggle('warn', nbytes > state.max_input_nbytes);
  if (nbytes > state.max_input_nbytes) el.text_info.textContent = too_large_message('The text', nbytes);
}

// ---- upload ----

function on_submit(event) {
  event.preventDefault();
  if (el.submit.disabled) return;
  hide_error();
  const form = new FormData();
  const spec = state.codecs.length ? panel_spec() : null;
  if (spec === '') {
    el.panel_box.open = true;
    return show_error('Please choose at least one codec level.');
  }
  if (spec) form.append('codecs', spec); // before the input, so the server knows the panel first
  let in_nbytes, subject, what;
  if (state.file) {
    in_nbytes = state.file.size;
    subject = what = `“${state.file.name}”`;
    form.append('fileUpload', state.file, state.file.name);
  } else {
    const text = el.text.value;
    if (!text) {
      el.text.focus();
      return show_error('Please paste some text or choose a file first.');
    }
    in_nbytes = text_nbytes(text);
    subject = 'the pasted text';
    what = 'The text';
    form.append('textEntry', text);
  }
  // Checked here as well as on input: nothing is sent that the server would refuse for size.
  if (in_nbytes > state.max_input_nbytes) return show_error(too_large_message(what, in_nbytes));
  send(form, subject);
}

function show_progress(percent) {
  el.progress.hidden = false;
  el.progress.value = percent;
}

function send(form, subject) {
  const xhr = new XMLHttpRequest();
  xhr.open('POST', '/compress');
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) show_progress(Math.floor((e.loaded / e.total) * 100)); };
  xhr.upload.onload = () => {
    show_progress(100);
    el.progress.removeAttribute('value'); // indeterminate while the server compresses
    set_state('compressing');
    el.status.textContent = 'Compressing…';
  };
  xhr.onload = () => {
    let body = null;
    try { body = JSON.parse(xhr.responseText); } catch { /* not JSON: described by status below */ }
    finish();
    if (xhr.status === 200 && body && Array.isArray(body.results)) return show_results(body, subject);
    show_error(describe_failure(xhr.status, body, xhr.getResponseHeader('Retry-After')));
  };
  xhr.onerror = () => {
    finish();
    show_error('Could not reach the server. Please check your connection and try again.');
  };
  set_state('uploading');
  show_progress(0);
  el.status.textContent = 'Uploading…';
  xhr.send(form);
}

function finish() {
  el.progress.hidden = true;
  el.status.textContent = '';
  set_state('ready');
}

// The server's messages are lower-case clauses; show them as a sentence.
const sentence = (text) => text[0].toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? '' : '.');

function describe_failure(status, body, retry_after_s) {
  let message = body && typeof body.error === 'string' && body.error
    ? sentence(body.error)
    : status === 413 ? 'The input is too large for the server.'
    : status >= 500 ? 'The server is busy or unavailable right now.'
    : 'The server could not compress this input.';
  if (status === 503) {
    const wait = retry_after_s === '1' ? '1 second' : `${retry_after_s} seconds`;
    message += retry_after_s ? ` Please try again in ${wait}.` : ' Please try again in a moment.';
  }
  return message;
}

// ---- results ----

const codec_rank = (name) => state.codecs.findIndex((c) => c.name === name);

const compare = {
  codec: (a, b) => codec_rank(a.codec) - codec_rank(b.codec) || a.codec.localeCompare(b.codec) || a.level - b.level,
  level: (a, b) => a.level - b.level || compare.codec(a, b),
  size: (a, b) => a.size - b.size || compare.codec(a, b),
  ratio: (a, b) => compare.size(a, b),
  speed: (a, b) => a.speed - b.speed || compare.codec(a, b),
};

function show_results(report, subject) {
  const original = report.original_size;
  state.rows = report.results.map((r) => ({
    ...r, fraction: r.size / original, speed: r.compress_ms > 0 ? original / r.compress_ms / 1000 : Infinity,
  }));
  const by_size = [...state.rows].sort(compare.size);
  const best = by_size[0];

  el.results_title.textContent = `Results for ${subject}`;
  el.summary.textContent = best
    ? `${format_nbytes(original)} became ${format_nbytes(best.size)} with ${best.codec} level ${best.level}: ` +
      `${format_percent(best.fraction)} of the original, ${(1 / best.fraction).toPrecision(3)}× smaller. ` +
      `The server took ${format_ms(report.elapsed_ms)}.`
    : 'No codec results.';

  // Chart: the original first, then the codecs from smallest to largest, all on one scale.
  const scale = Math.max(original, ...state.rows.map((r) => r.size));
  el.chart.textContent = '';
  const bar_row = (cls, name, level, size) => {
    const li = node('li', cls);
    const label = node('span', 'name', name);
    if (level !== null) {
      label.append(node('span', 'sr-only', ' level'), node('span', 'level', ` ${level}`));
    }
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
  for (const r of by_size) bar_row(r === best ? 'best' : '', r.codec, r.level, r.size);

  state.best = best;
  render_table();
  el.form.hidden = true;
  el.results.hidden = false;
  el.results.focus(); // moves screen readers to the results heading
}

function render_table() {
  const { key, dir } = state.sort;
  const rows = [...state.rows].sort((a, b) => dir * compare[key](a, b));
  const body = el.table.tBodies[0];
  body.textContent = '';
  for (const r of rows) {
    const tr = node('tr', r === state.best ? 'best' : null);
    tr.append(node('td', null, r.codec), node('td', 'num', String(r.level)));
    const size = node('td', 'num size', format_nbytes(r.size));
    size.append(node('span', 'sub', `${group_digits.format(r.size)} B`));
    tr.append(size, node('td', 'num', format_percent(r.fraction)), node('td', 'num', format_speed(r.speed)));
    body.append(tr);
  }
  for (const th of el.table.tHead.rows[0].cells) {
    const is_key = th.querySelector('button').dataset.key === key;
    if (is_key) th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending');
    else th.removeAttribute('aria-sort');
  }
}

function on_sort(event) {
  const button = event.target.closest('button[data-key]');
  if (!button) return;
  const key = button.dataset.key;
  state.sort = state.sort.key === key ? { key, dir: -state.sort.dir } : { key, dir: key === 'speed' ? -1 : 1 };
  render_table();
}

function start_again() {
  state.file = null;
  state.rows = [];
  el.text.value = '';
  hide_error();
  update_input_view();
  el.results.hidden = true;
  el.form.hidden = false;
  el.status.textContent = '';
  window.scrollTo(0, 0);
  el.text.focus();
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
el.panel.addEventListener('change', update_panel_summary);
$('panel-defaults').addEventListener('click', () => apply_panel(state.default_panel));
$('panel-clear').addEventListener('click', () => apply_panel([]));
el.table.tHead.addEventListener('click', on_sort);
$('again').addEventListener('click', start_again);

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
