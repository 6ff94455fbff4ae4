#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
//
// Time one ONNX model (BERT sequence classification) with onnxruntime-node
// on the CPU:
//
//   node ort_bench.js MODEL.onnx [--batch 32] [--seq 128] [--threads 2]
//                     [--reps 10] [--warmup 2] [--vocab 1000] [--name NAME]
//                     [--ids IDS.bin --dump-logits OUT.bin]
//
// Session: intraOpNumThreads = --threads, interOpNumThreads = 1,
// graphOptimizationLevel 'all', sequential execution, CPU provider.
// Inputs: input_ids seeded random in [0, --vocab) (default 1000, which
// every model here has; the values do not change the speed), attention_mask all ones, token_type_ids all zeros, int64 [batch, seq].
// After --warmup untimed runs, --reps runs are timed one by one and the
// median is printed as a single line:
//
//   ort NAME ms_per_batch=<median ms> seq_per_s=<batch * 1000 / median>
//
// NAME defaults to the model's file name without ".onnx". The session
// creation time and the min/max of the reps go to stderr.
//
// --ids FILE reads the token ids (little-endian int64, batch*seq) instead;
// --dump-logits FILE writes the logits of one run as little-endian float32
// (export_onnx.py uses both to check the graphs against torch).
//
// onnxruntime-node is looked up as usual (NODE_PATH, node_modules), then
// in ${LIBTPA_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/libtpa-bench}/
// node_modules, where run_refs.sh installs it.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

function loadOrt() {
  try {
    return require('onnxruntime-node');
  } catch (e) {
    const cache = process.env.LIBTPA_BENCH_CACHE ||
        path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'libtpa-bench');
    try {
      return require(path.join(cache, 'node_modules', 'onnxruntime-node'));
    } catch (e2) {
      console.error('ort_bench.js: onnxruntime-node not found (run run_refs.sh, or ' +
                    `npm install --prefix ${cache} onnxruntime-node)`);
      process.exit(2);
    }
  }
}

function parseArgs(argv) {
  const a = {batch: 32, seq: 128, threads: 2, reps: 10, warmup: 2, vocab: 1000, name: null, ids: null, dump: null};
  const ints = {'--batch': 'batch', '--seq': 'seq', '--threads': 'threads', '--reps': 'reps',
                '--warmup': 'warmup', '--vocab': 'vocab'};
  const strs = {'--name': 'name', '--ids': 'ids', '--dump-logits': 'dump'};
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '-h' || k === '--help') {
      console.log('usage: node ort_bench.js MODEL.onnx [--batch 32] [--seq 128] [--threads 2] ' +
                  '[--reps 10] [--warmup 2] [--vocab 1000] [--name NAME] [--ids IDS.bin --dump-logits OUT.bin]');
      process.exit(0);
    }
    if (k in ints || k in strs) {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      const v = argv[++i];
      if (k in ints) {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0) throw new Error(`${k}: not a count: ${v}`);
        a[ints[k]] = n;
      } else {
        a[strs[k]] = v;
      }
    } else if (k.startsWith('--')) {
      throw new Error(`unknown option ${k}`);
    } else {
      rest.push(k);
    }
  }
  if (rest.length !== 1) throw new Error('give exactly one MODEL.onnx');
  a.model = rest[0];
  if (a.batch < 1 || a.seq < 1 || a.threads < 1) throw new Error('batch, seq and threads must be >= 1');
  if (!a.name) a.name = path.basename(a.model).replace(/\.onnx$/, '');
  return a;
}

// Small seeded generator (mulberry32): the same ids in every run.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main() {
  let a;
  try {
    a = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`ort_bench.js: ${e.message}`);
    process.exit(2);
  }
  const ort = loadOrt();
  const opts = {
    executionProviders: ['cpu'],
    intraOpNumThreads: a.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  };
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(a.model, opts);
  const createMs = Number(process.hrtime.bigint() - t0) / 1e6;

  const n = a.batch * a.seq;
  let ids;
  if (a.ids) {
    const buf = fs.readFileSync(a.ids);
    if (buf.length !== n * 8) {
      console.error(`ort_bench.js: ${a.ids} has ${buf.length} bytes, expected ${n * 8}`);
      process.exit(2);
    }
    ids = new BigInt64Array(n);
    for (let i = 0; i < n; i++) ids[i] = buf.readBigInt64LE(i * 8);
  } else {
    const r = rng(7);
    ids = new BigInt64Array(n);
    for (let i = 0; i < n; i++) ids[i] = BigInt(Math.floor(r() * Math.max(1, a.vocab)));
  }
  const dims = [a.batch, a.seq];
  const all = {
    input_ids: new ort.Tensor('int64', ids, dims),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), dims),
    token_type_ids: new ort.Tensor('int64', new BigInt64Array(n), dims),
  };
  const feeds = {};
  for (const name of session.inputNames) {
    if (!(name in all)) {
      console.error(`ort_bench.js: the model has an input ${name} this script does not know`);
      process.exit(2);
    }
    feeds[name] = all[name];
  }

  if (a.dump) {
    const out = await session.run(feeds);
    const logits = out[session.outputNames[0]];
    fs.writeFileSync(a.dump, Buffer.from(Float32Array.from(logits.data).buffer));
  }
  for (let i = 0; i < a.warmup; i++) await session.run(feeds);
  const times = [];
  for (let i = 0; i < a.reps; i++) {
    const s = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  console.error(`ort_bench.js: ${a.name}: session ${createMs.toFixed(0)} ms, ` +
                `reps=${a.reps} warmup=${a.warmup} threads=${a.threads}` +
                (times.length ? ` min=${Math.min(...times).toFixed(1)} max=${Math.max(...times).toFixed(1)} ms` : ''));
  if (times.length) {
    const med = median(times);
    console.log(`ort ${a.name} ms_per_batch=${med.toFixed(1)} seq_per_s=${(a.batch * 1000 / med).toFixed(2)}`);
  }
  await session.release();
}

main().catch((e) => {
  console.error(`ort_bench.js: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
