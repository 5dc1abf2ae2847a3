// The explorer's verify page: checks an original and its receipt against
// the alliance roster in this browser, with the node's own verifier
// compiled to WebAssembly (verify.wasm, from explorer/verifywasm). The
// original is read in chunks and hashed here; it is never uploaded.
'use strict';

(function () {
  const form = document.getElementById('verify-form');
  if (!form) return;
  const $ = (id) => document.getElementById(id);
  const status = $('verify-status');
  const stepsList = $('verify-steps');
  const runButton = $('verify-run');
  const receiptInput = $('verify-receipt');
  const fileInput = $('verify-file');
  const saltInput = $('verify-salt');
  const rosterInput = $('verify-roster');
  const drop = $('verify-drop');
  let text = {};
  try {
    text = JSON.parse($('verify-i18n').textContent);
  } catch (e) {
    text = {};
  }
  const t = (k) => text[k] || k;
  const chunkSize = 4 << 20;

  // Files dropped on the drop zone, by role; an <input> choice wins.
  const dropped = { receipt: null, file: null, roster: null };

  function say(msg, kind) {
    status.textContent = msg;
    status.className = kind || '';
  }

  // The verifier loads once; the button waits for it.
  runButton.disabled = true;
  say(t('loading'), 'busy');
  const go = new Go();
  const ready = WebAssembly.instantiateStreaming(fetch('/explorer/assets/verify.wasm'), go.importObject)
    .then((r) => {
      go.run(r.instance);
      runButton.disabled = false;
      say(t('local_only'), '');
    })
    .catch((e) => {
      say(t('error') + ': ' + e, 'fail');
      throw e;
    });

  // classify decides what a dropped file is: a receipt, a roster, a
  // FILE.evidence.json sidecar (its salt), or else the original.
  async function classify(f) {
    if (/\.json$/i.test(f.name) && f.size < (8 << 20)) {
      let v = null;
      try {
        v = JSON.parse(await f.text());
      } catch (e) {
        v = null;
      }
      if (v && typeof v === 'object') {
        if ('leaf_index' in v && 'checkpoint' in v) return 'receipt';
        if (Array.isArray(v.members) && 'chain_id' in v) return 'roster';
        if (typeof v.salt === 'string' && 'commitment' in v) {
          saltInput.value = v.salt;
          return 'sidecar';
        }
      }
    }
    return 'file';
  }

  // Each file picker shows its file's name in a localised span (the
  // browser's own "no file chosen" follows the browser, not the page).
  const inputs = { receipt: receiptInput, file: fileInput, roster: rosterInput };
  function showName(role) {
    const input = inputs[role];
    const span = $(input.id + '-name');
    if (!span) return;
    const f = pick(input, role);
    span.textContent = f ? f.name : span.dataset.empty || '';
  }
  for (const role of Object.keys(inputs)) {
    inputs[role].addEventListener('change', () => showName(role));
  }

  async function onDrop(files) {
    const names = [];
    for (const f of files) {
      const role = await classify(f);
      if (role !== 'sidecar') {
        dropped[role] = f;
        showName(role);
      }
      names.push(f.name + ' → ' + t('as_' + role));
    }
    drop.dataset.files = names.join('\n');
    drop.textContent = names.join(' · ');
  }

  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    onDrop(e.dataTransfer.files);
  });

  const pick = (input, role) => (input.files && input.files[0]) || dropped[role];

  async function rosterText() {
    const f = pick(rosterInput, 'roster');
    if (f) return { text: await f.text(), from: t('roster_file') + ' ' + f.name };
    const resp = await fetch('/v1/roster', { headers: { Accept: 'application/json' } });
    if (!resp.ok) throw new Error('GET /v1/roster: HTTP ' + resp.status);
    return { text: await resp.text(), from: t('roster_node') };
  }

  // sentence says a step's outcome in the page language: the sentence for
  // its reason (or for passing) with the verifier's facts filled in; the
  // verifier's English detail when there is no such sentence or a fact is
  // missing.
  function sentence(s) {
    // The file step of an attestation's receipt checks the attested
    // document (its facts name it), not a salted original.
    const okKey = s.name === 'file' && s.facts && s.facts.document ? 'ok_file_document' : 'ok_' + s.name;
    const key = s.ok ? okKey : s.reason ? 'why_' + s.reason : '';
    const tpl = key && text[key];
    if (!tpl) return s.detail;
    const facts = Object.assign({}, s.facts || {});
    if (facts.step) facts.step = t('step_' + facts.step);
    let missing = false;
    const out = tpl.replace(/\{([a-z_]+)\}/g, (m, name) => {
      if (Object.prototype.hasOwnProperty.call(facts, name)) return facts[name];
      missing = true;
      return m;
    });
    return missing ? s.detail : out;
  }

  function render(report) {
    stepsList.textContent = '';
    for (const s of report.steps) {
      const li = document.createElement('li');
      const state = s.skipped ? 'skipped' : s.ok ? 'pass' : 'fail';
      li.className = 'step ' + state;
      li.dataset.step = s.name;
      li.dataset.state = state;
      const head = document.createElement('strong');
      head.textContent = t('step_' + s.name) + ' — ' + t(state);
      const detail = document.createElement('p');
      detail.className = 'detail';
      detail.textContent = sentence(s);
      detail.title = s.detail; // the verifier's own words (English)
      li.append(head, detail);
      stepsList.append(li);
    }
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    stepsList.textContent = '';
    const receipt = pick(receiptInput, 'receipt');
    if (!receipt) {
      say(t('need_receipt'), 'fail');
      return;
    }
    runButton.disabled = true;
    form.dataset.state = 'running';
    try {
      await ready;
      const roster = await rosterText();
      const original = pick(fileInput, 'file');
      const session = evidencedVerify(await receipt.text(), roster.text, saltInput.value, !!original);
      if (original) {
        for (let off = 0; off < original.size; off += chunkSize) {
          const chunk = new Uint8Array(await original.slice(off, off + chunkSize).arrayBuffer());
          await session.write(chunk);
          say(t('loading') + ' ' + Math.floor((100 * Math.min(off + chunkSize, original.size)) / original.size) + '%', 'busy');
        }
      }
      session.close();
      const report = JSON.parse(await session.result);
      if (report.error) {
        say(t('bad_receipt') + ': ' + report.error, 'fail');
        form.dataset.state = 'error';
        return;
      }
      render(report);
      say((report.ok ? t('verdict_ok') : t('verdict_fail')) + ' (' + roster.from + ')', report.ok ? 'pass' : 'fail');
      form.dataset.state = report.ok ? 'ok' : 'failed';
    } catch (err) {
      say(t('error') + ': ' + err.message, 'fail');
      form.dataset.state = 'error';
    } finally {
      runButton.disabled = false;
    }
  });
})();
