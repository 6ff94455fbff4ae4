// SPDX-License-Identifier: Apache-2.0
// Golden output of `tpa tokenize`, made with Hugging Face's own tokenizer
// (the `tokenizers` npm package, configured as bert-base-uncased by
// ../fixtures/tokenizer/hf_bert.js) on the first rows of real GLUE dev
// files. test_cli.py copies the same rows into a small TSV, runs
// `tpa tokenize` on it and compares line by line.
//
//   cd tests/fixtures/tokenizer && npm ci --ignore-scripts   (once)
//   node tests/cli/make_golden.js ../shared/data tests/cli/golden
'use strict';
const fs = require('fs');
const path = require('path');
const hf = require('../fixtures/tokenizer/hf_bert.js');

// name, GLUE folder, task, text columns (docs/method.md section 3), header?,
// rows, max length. Short max lengths exercise truncation, including
// mrpc_max20, where both segments of a pair are cut with an odd budget
// (docs/formats.md: where tokenization follows HF tokenizers).
const SETS = [
  { name: 'sst2', dir: 'SST-2', task: 'sst2', cols: [0], header: true, rows: 16, max: 128 },
  { name: 'sst2_max8', dir: 'SST-2', task: 'sst2', cols: [0], header: true, rows: 16, max: 8 },
  { name: 'cola', dir: 'CoLA', task: 'cola', cols: [3], header: false, rows: 12, max: 128 },
  { name: 'mrpc', dir: 'MRPC', task: 'mrpc', cols: [3, 4], header: true, rows: 16, max: 128 },
  { name: 'mrpc_max20', dir: 'MRPC', task: 'mrpc', cols: [3, 4], header: true, rows: 16, max: 20 },
  { name: 'rte_max40', dir: 'RTE', task: 'rte', cols: [1, 2], header: true, rows: 8, max: 40 },
  { name: 'stsb', dir: 'STS-B', task: 'stsb', cols: [7, 8], header: true, rows: 12, max: 128 },
];

// The first `n` data rows of a GLUE TSV: tab separated, no quoting, a BOM
// dropped, the header line skipped except for CoLA.
function rows(file, header, n) {
  let text = fs.readFileSync(file, 'utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  return lines.slice(header ? 1 : 0).filter((l) => l !== '').slice(0, n).map((l) => l.split('\t'));
}

async function main() {
  const [shared, outDir] = process.argv.slice(2);
  const vocab = path.join(shared, 'vocab', 'bert-base-uncased-vocab.txt');
  const manifest = [];
  for (const s of SETS) {
    const tok = hf.load(vocab, true, s.max);
    const file = path.join('glue', s.dir, 'dev.tsv');
    const lines = [];
    for (const r of rows(path.join(shared, file), s.header, s.rows)) {
      const b = s.cols.length > 1 ? r[s.cols[1]] : null;
      const e = await hf.encode(tok, r[s.cols[0]], b);
      lines.push(JSON.stringify({ ids: e.ids, type_ids: e.type_ids }));
    }
    fs.writeFileSync(path.join(outDir, `${s.name}.jsonl`), lines.join('\n') + '\n');
    manifest.push({ name: s.name, task: s.task, file, header: s.header, rows: s.rows,
                    max_seq_length: s.max });
  }
  fs.writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
}

main().catch((e) => { console.error(e); process.exit(1); });
