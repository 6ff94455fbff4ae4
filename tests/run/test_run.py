#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Tests of `tpa run` (the whole pipeline), run as a subprocess.

usage: test_run.py PATH/TO/tpa SOURCE_ROOT

References are computed here, independently of libtpa: accuracy from the
logits `tpa predict` prints and the labels in the dev file; parameter
counts from the safetensors headers and from the hand formula for one
head (3 * (d*H + d) + d*H); the plan from importance.json's normalised
scores (the N lowest, keeping each layer's best head); the rank schedule
from its block scores. Prints one line per case, then "N passed, N failed".
"""
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

TPA = os.path.abspath(sys.argv[1])
ROOT = os.path.abspath(sys.argv[2])
DEFAULT = os.path.join(ROOT, 'share', 'default')
DEV = os.path.join(DEFAULT, 'task', 'dev.tsv')
TMP = tempfile.mkdtemp(prefix='tpa-run-test-')
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'common'))
from cases import case, expect, run_cases  # noqa: E402


def run(args, env=None, timeout=300):
    full_env = dict(os.environ)
    full_env.update(env or {})
    p = subprocess.run([TPA] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, env=full_env)
    return p.returncode, p.stdout.decode(), p.stderr.decode('utf-8', 'replace')


def expect_ok(args, **kw):
    rc, out, err = run(args, **kw)
    expect(rc == 0, 'tpa %s: exit %d, stderr: %s' % (' '.join(args), rc, err.strip()[-2000:]))
    return out, err


def load_json(path):
    with open(path) as f:
        return json.load(f)


def safetensors_counts(path):
    """{name: element count} from a safetensors header."""
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
    header.pop('__metadata__', None)
    return {k: math.prod(v['shape']) for k, v in header.items()}


def dev_labels():
    with open(DEV) as f:
        rows = [ln.rstrip('\n').split('\t') for ln in f.read().splitlines()[1:] if ln]
    return [int(r[1]) for r in rows]


def accuracy_by_predict(model_dir):
    """Accuracy of `tpa predict`'s logits (argmax, first max on ties)."""
    out, _ = expect_ok(['predict', '--model', model_dir, '--task', 'sst2', '--data', DEV, '-q'])
    # Each line: example index, then the logits.
    rows = [ln.split('\t') for ln in out.splitlines() if ln.strip()]
    expect([int(r[0]) for r in rows] == list(range(len(rows))), 'predict indices out of order')
    logits = [[float(x) for x in r[1:]] for r in rows]
    labels = dev_labels()
    expect(len(logits) == len(labels), 'predict gave %d rows for %d labels' % (len(logits),
                                                                              len(labels)))
    hits = sum(1 for lg, y in zip(logits, labels) if max(range(len(lg)), key=lg.__getitem__) == y)
    return hits / len(labels)


_runs = {}


def pipeline(mode, *extra):
    """Run `tpa run` on the default once per (mode, options)."""
    key = (mode,) + extra
    if key not in _runs:
        out = os.path.join(TMP, '-'.join(k.strip('-') for k in key))
        _, err = expect_ok(['run', '--mode', mode, '--out', out] + list(extra))
        _runs[key] = (out, err)
    return _runs[key]


def lowest_heads(imp, n):
    """The plan's rule on importance.json: the n lowest normalised scores
    over the scored heads, ties to the lower (layer, head), never a
    layer's most important head."""
    norm = imp['normalized']
    best = {l: max((v, -h) for h, v in enumerate(row) if v is not None)
            for l, row in enumerate(norm)}
    cands = sorted((v, l, h) for l, row in enumerate(norm) for h, v in enumerate(row)
                   if v is not None and (v, -h) != best[l])
    return sorted((l, h) for _, l, h in cands[:n])


# --------------------------------------------------------------------------


@case
def default_tpa_writes_every_file():
    out, err = pipeline('tpa')
    for name in ['report.md', 'metrics.json', 'plan.json', 'importance.json', 'importance.png',
                 'importance.svg',
                 'adapter/adapter_config.json', 'adapter/adapter_model.safetensors',
                 'model/config.json', 'model/model.safetensors', 'model/vocab.txt']:
        expect(os.path.isfile(os.path.join(out, name)), 'missing %s' % name)
    with open(os.path.join(out, 'importance.png'), 'rb') as f:
        expect(f.read(8) == b'\x89PNG\r\n\x1a\n', 'importance.png is not a PNG')
    for st in ['load', 'importance', 'plan', 'prune', 'schedule', 'train', 'adapter', 'merge',
               'export', 'measure', 'report']:
        expect('] %s:' % st in err, 'stage %s not reported on stderr' % st)
    leftovers = [f for _, _, fs in os.walk(out) for f in fs if '.tmp' in f]
    expect(not leftovers, 'temporary files left: %s' % leftovers)
    report = open(os.path.join(out, 'report.md')).read()
    for needle in ['Table 2', 'Table 3', 'Table 4', 'sequences/s', 'peak RSS', 'tokens/s',
                   '](importance.svg)']:
        expect(needle in report, 'report.md lacks %r' % needle)


@case
def default_tpa_learns_the_task():
    out, _ = pipeline('tpa')
    m = load_json(os.path.join(out, 'metrics.json'))
    expect(m['dev_metric'] > 0.8, 'dev accuracy %.4f not clearly above chance' % m['dev_metric'])
    expect(m['inference_original']['dev_metric'] < 0.7,
           'the untrained model already scores %.4f: the task is too easy to show anything' %
           m['inference_original']['dev_metric'])
    expect(m['wall_seconds'] < 60, 'default run took %.1f s' % m['wall_seconds'])


@case
def exported_model_reloads_with_the_reported_metric():
    out, _ = pipeline('tpa')
    m = load_json(os.path.join(out, 'metrics.json'))
    acc = accuracy_by_predict(os.path.join(out, 'model'))
    expect(abs(acc - m['dev_metric']) < 1e-12,
           'tpa predict on the export: accuracy %.6f, report says %.6f' % (acc, m['dev_metric']))
    expect(abs(m['best_metric'] - m['dev_metric']) < 1e-12,
           'merged export %.6f differs from the best epoch with the adapter %.6f' %
           (m['dev_metric'], m['best_metric']))
    ev, _ = expect_ok(['eval', '--model', os.path.join(out, 'model'), '--task', 'sst2', '--data',
                       DEV, '-q'])
    expect(abs(json.loads(ev)['main'] - acc) < 1e-12, 'tpa eval disagrees with tpa predict')
    info, _ = expect_ok(['info', os.path.join(out, 'model')])
    expect('total     %d of %d' % (18 - m['heads_pruned'], 18) in info, 'tpa info: %s' % info)


@case
def plan_follows_importance_and_shrinks_the_model():
    out, _ = pipeline('tpa')
    m = load_json(os.path.join(out, 'metrics.json'))
    imp = load_json(os.path.join(out, 'importance.json'))
    plan = load_json(os.path.join(out, 'plan.json'))
    n = round(0.3056 * 3 * 6)
    expect(m['heads_pruned'] == n == 6, 'pruned %d heads, expected %d' % (m['heads_pruned'], n))
    got = sorted((int(l), h) for l, hs in plan['pruned_heads'].items() for h in hs)
    expect(got == lowest_heads(imp, n), 'plan %s, expected %s' % (got, lowest_heads(imp, n)))
    # The picture outlines the plan's heads and names the task and sample.
    svg = ET.parse(os.path.join(out, 'importance.svg')).getroot()
    ns = '{http://www.w3.org/2000/svg}'
    marked = sorted((int(e.get('data-layer')), int(e.get('data-head')))
                    for e in svg.iter(ns + 'rect') if e.get('class') == 'mark')
    expect(marked == got, 'importance.svg marks %s, the plan removes %s' % (marked, got))
    title = svg.find(ns + 'title').text
    expect(title == 'Head importance: sst2, %d examples' % imp['examples'],
           'importance.svg title %r' % title)
    cfg = load_json(os.path.join(out, 'model', 'config.json'))
    expect({k: sorted(v) for k, v in cfg['pruned_heads'].items() if v} ==
           {k: sorted(v) for k, v in plan['pruned_heads'].items() if v},
           'config.json pruned_heads %s != plan %s' % (cfg['pruned_heads'], plan['pruned_heads']))
    before = sum(safetensors_counts(os.path.join(DEFAULT, 'model', 'model.safetensors')).values())
    after = sum(safetensors_counts(os.path.join(out, 'model', 'model.safetensors')).values())
    d, hidden = 16, 96
    per_head = 3 * (d * hidden + d) + d * hidden
    expect(before - after == n * per_head, 'removed %d parameters, expected %d heads x %d' %
           (before - after, n, per_head))
    expect(m['params_before']['total'] == before and m['params_after']['total'] == after,
           'metrics.json parameter counts %d/%d, safetensors %d/%d' %
           (m['params_before']['total'], m['params_after']['total'], before, after))
    expect(m['inference_final']['params'] == after, 'inference_final.params')


@case
def ffn_keep_prunes_neurons_by_their_scores():
    """--ffn-keep 0.5: importance.json has neuron scores, the plan drops
    the lower half of each layer by them (ties to the lower index kept),
    the export is an ordinary model with intermediate_size 100, and
    tpa predict on it gives the reported metric."""
    out, err = pipeline('tpa', '--ffn-keep', '0.5')
    imp = load_json(os.path.join(out, 'importance.json'))
    plan = load_json(os.path.join(out, 'plan.json'))
    m = load_json(os.path.join(out, 'metrics.json'))
    expect(len(imp.get('ffn_normalized', [])) == 3 and
           all(len(r) == 200 for r in imp['ffn_normalized']), 'neuron scores in importance.json')
    for l, row in enumerate(imp['ffn_normalized']):
        keep = sorted(range(200), key=lambda j: (-row[j], j))[:100]
        want = sorted(set(range(200)) - set(keep))
        expect(plan['pruned_neurons'].get(str(l)) == want, 'layer %d: pruned neurons' % l)
    cfg = load_json(os.path.join(out, 'model', 'config.json'))
    expect(cfg['intermediate_size'] == 100 and m['intermediate_kept'] == [100] * 3 and
           m['intermediate_size'] == 200, 'intermediate sizes %d / %s' %
           (cfg['intermediate_size'], m.get('intermediate_kept')))
    expect('intermediate_sizes' not in cfg, 'equal widths need no intermediate_sizes')
    counts = safetensors_counts(os.path.join(out, 'model', 'model.safetensors'))
    expect(counts['bert.encoder.layer.0.intermediate.dense.weight'] == 100 * 96,
           'intermediate.dense has 100 rows')
    acc = accuracy_by_predict(os.path.join(out, 'model'))
    expect(abs(acc - m['dev_metric']) < 1e-12,
           'tpa predict on the export: %.6f, report says %.6f' % (acc, m['dev_metric']))
    expect(m['dev_metric'] >= 0.9, 'the pruned model still learns the task: %.4f' %
           m['dev_metric'])
    report = open(os.path.join(out, 'report.md'), encoding='utf-8').read()
    expect('keeps 100 of its 200 feed-forward neurons' in report, 'report.md names the neurons')


def predicted_classes(model_dir):
    out, _ = expect_ok(['predict', '--model', model_dir, '--task', 'sst2', '--data', DEV, '-q'])
    rows = [[float(x) for x in ln.split('\t')[1:]] for ln in out.splitlines() if ln.strip()]
    return [max(range(len(r)), key=r.__getitem__) for r in rows]


@case
def int8_export_agrees_with_f32():
    """--ffn-keep 0.5 --int8 on the default job: OUT/model-int8 is an int8
    checkpoint (I8 block weights, a quantization_config) about a third of
    the f32 export's size; tpa predict on both, compared here, gives the
    same class for at least 99% of dev and accuracies within 0.5 points,
    and metrics.json reports what tpa predict shows."""
    out, err = pipeline('tpa', '--ffn-keep', '0.5', '--int8')
    m = load_json(os.path.join(out, 'metrics.json'))
    q = m.get('inference_int8') or {}
    cfg = load_json(os.path.join(out, 'model-int8', 'config.json'))
    expect(cfg.get('quantization_config', {}).get('quant_method') == 'libtpa_int8',
           'model-int8/config.json has a quantization_config')
    path = os.path.join(out, 'model-int8', 'model.safetensors')
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
    w = header['bert.encoder.layer.2.output.dense.weight']
    expect(w['dtype'] == 'I8' and w['shape'] == [96, 100], 'output.dense is I8 [96, 100]: %s' % w)
    expect(header['bert.encoder.layer.2.output.dense.weight_scale']['shape'] == [96],
           'one scale per output row')
    f32_bytes = os.path.getsize(os.path.join(out, 'model', 'model.safetensors'))
    expect(os.path.getsize(path) < 0.4 * f32_bytes, 'int8 file %d bytes, f32 %d' %
           (os.path.getsize(path), f32_bytes))
    a, b = predicted_classes(os.path.join(out, 'model')), predicted_classes(
        os.path.join(out, 'model-int8'))
    labels = dev_labels()
    same = sum(x == y for x, y in zip(a, b)) / len(a)
    acc_f = sum(x == y for x, y in zip(a, labels)) / len(labels)
    acc_q = sum(x == y for x, y in zip(b, labels)) / len(labels)
    expect(same >= 0.99, 'int8 and f32 agree on %.4f of dev' % same)
    expect(abs(acc_f - acc_q) <= 0.005, 'dev accuracy f32 %.4f, int8 %.4f' % (acc_f, acc_q))
    expect(abs(q.get('dev_metric', -1) - acc_q) < 1e-12 and
           abs(q.get('dev_metric_f32', -1) - acc_f) < 1e-12 and
           abs(q.get('same_class_share', -1) - same) < 1e-12,
           'metrics.json inference_int8 %s; here: int8 %.4f, f32 %.4f, same %.4f' %
           (q, acc_q, acc_f, same))
    expect(q.get('max_logit_difference', 0) > 0, 'int8 logits differ from f32 (quantized)')
    expect('[10/12] quantize' in err, 'the quantize stage is announced')
    report = open(os.path.join(out, 'report.md'), encoding='utf-8').read()
    expect('## int8 export' in report, 'report.md has the int8 table')


@case
def ffn_global_leaves_layers_of_their_own_widths():
    """--ffn-global 0.5: the neurons of all layers ranked together; the
    plan keeps the best half overall (each layer its best at least), the
    compact export lists the widths under intermediate_sizes and reloads
    to the reported metric, and the dense export has one width."""
    out, _ = pipeline('tpa', '--ffn-global', '0.5', '--dense')
    imp = load_json(os.path.join(out, 'importance.json'))
    plan = load_json(os.path.join(out, 'plan.json'))
    m = load_json(os.path.join(out, 'metrics.json'))
    ranked = sorted(((-v, l, j) for l, row in enumerate(imp['ffn_normalized'])
                     for j, v in enumerate(row)))
    keep = {(l, j) for _, l, j in ranked[:300]}
    for l, row in enumerate(imp['ffn_normalized']):  # every layer keeps its best
        keep.add((l, min(range(200), key=lambda j: (-row[j], j))))
    want = {str(l): [j for j in range(200) if (l, j) not in keep] for l in range(3)}
    got = {k: v for k, v in plan['pruned_neurons'].items()}
    expect(all(got.get(str(l), []) == want[str(l)] for l in range(3)),
           'pruned neurons follow the global ranking')
    widths = [200 - len(want[str(l)]) for l in range(3)]
    cfg = load_json(os.path.join(out, 'model', 'config.json'))
    expect(m['intermediate_kept'] == widths, 'metrics widths %s, expected %s' %
           (m['intermediate_kept'], widths))
    if len(set(widths)) > 1:
        expect(cfg.get('intermediate_sizes') == widths and
               cfg['intermediate_size'] == max(widths), 'config.json widths %s' %
               cfg.get('intermediate_sizes'))
    dense = load_json(os.path.join(out, 'model-dense', 'config.json'))
    expect('intermediate_sizes' not in dense and dense['intermediate_size'] == max(widths),
           'the dense export has one width')
    acc = accuracy_by_predict(os.path.join(out, 'model'))
    expect(abs(acc - m['dev_metric']) < 1e-12,
           'tpa predict on the export: %.6f, report says %.6f' % (acc, m['dev_metric']))
    info, _ = expect_ok(['info', os.path.join(out, 'model')])
    expect(len(set(widths)) == 1 or 'intermediate_sizes' in info, 'tpa info lists the widths')


@case
def rank_schedule_follows_block_importance():
    out, _ = pipeline('tpa')
    m = load_json(os.path.join(out, 'metrics.json'))
    blocks = load_json(os.path.join(out, 'importance.json'))['blocks']
    top = max(range(len(blocks)), key=lambda l: (blocks[l], -l))  # k = ceil(3/3) = 1
    want = [[8] * 4 if l == top else [4] * 4 for l in range(3)]
    expect(m['ranks'] == want, 'ranks %s, expected %s' % (m['ranks'], want))
    cfg = load_json(os.path.join(out, 'adapter', 'adapter_config.json'))
    ranks = {k: v for k, v in cfg['rank_pattern'].items()}
    for l in range(3):
        for mod in ['attention.self.query', 'attention.self.key', 'attention.self.value',
                    'attention.output.dense']:
            r = ranks.get('encoder.layer.%d.%s' % (l, mod), cfg['r'])
            expect(r == want[l][0], 'adapter rank of layer %d %s: %d' % (l, mod, r))


@case
def resume_reuses_importance_and_plan():
    out, _ = pipeline('tpa')
    again = os.path.join(TMP, 'resumed')
    shutil.copytree(out, again)
    imp_before = open(os.path.join(again, 'importance.json'), 'rb').read()
    plan_before = open(os.path.join(again, 'plan.json'), 'rb').read()
    _, err = expect_ok(['run', '--out', again, '--resume'])
    m = load_json(os.path.join(again, 'metrics.json'))
    expect(m['importance_reused'] and m['plan_reused'], 'importance/plan recomputed: %s' % err)
    expect(open(os.path.join(again, 'importance.json'), 'rb').read() == imp_before,
           'importance.json changed')
    expect(open(os.path.join(again, 'plan.json'), 'rb').read() == plan_before, 'plan.json changed')
    first = load_json(os.path.join(out, 'metrics.json'))
    expect(abs(m['dev_metric'] - first['dev_metric']) < 1e-12,
           'resumed run ends at %.6f, first run %.6f' % (m['dev_metric'], first['dev_metric']))
    # The resumed process only reloaded the finished checkpoint; metrics.json
    # still describes the whole run: the first process's importance time
    # (OUT/timings.json), training counts and time.
    expect(m['importance_seconds'] == first['importance_seconds'],
           'importance_seconds %s, the first process took %s'
           % (m['importance_seconds'], first['importance_seconds']))
    expect(m['this_process']['importance_seconds'] is None, 'importance timed again')
    for k in ['train_tokens', 'train_examples_processed', 'steps']:
        expect(m[k] == first[k], '%s: %s after the resume, %s before' % (k, m[k], first[k]))
    expect(m['this_process']['train_tokens'] == 0, 'the resume trained again')
    report = open(os.path.join(again, 'report.md')).read()
    expect('\n| %.1f | ' % m['train_seconds'] in report and 'The run was resumed' in report,
           'report.md does not show the whole run:\n%s' % report[-800:])
    epochs = sum(e['seconds'] for e in m['epochs'])
    expect(m['train_seconds'] > m['this_process']['train_seconds'] and
           m['train_seconds'] >= epochs - 1e-6,
           'train_seconds %s: this process %s, epochs %s'
           % (m['train_seconds'], m['this_process']['train_seconds'], epochs))


@case
def lora_mode_prunes_nothing():
    out, _ = pipeline('lora')
    m = load_json(os.path.join(out, 'metrics.json'))
    expect(not os.path.exists(os.path.join(out, 'plan.json')), 'lora mode wrote plan.json')
    expect(m['heads_pruned'] == 0 and m['params_after'] == m['params_before'], 'lora pruned')
    expect(m['ranks'] == [[8] * 4] * 3, 'lora ranks %s' % m['ranks'])
    expect(m['dev_metric'] > 0.8, 'lora dev accuracy %.4f' % m['dev_metric'])
    expect(os.path.isfile(os.path.join(out, 'adapter', 'adapter_model.safetensors')), 'adapter')
    acc = accuracy_by_predict(os.path.join(out, 'model'))
    expect(abs(acc - m['dev_metric']) < 1e-12, 'lora export %.6f vs %.6f' % (acc, m['dev_metric']))


@case
def full_mode_trains_every_parameter():
    out, _ = pipeline('full')
    m = load_json(os.path.join(out, 'metrics.json'))
    expect(not os.path.exists(os.path.join(out, 'adapter')), 'full mode wrote an adapter')
    total = sum(safetensors_counts(os.path.join(DEFAULT, 'model', 'model.safetensors')).values())
    expect(m['trainable_params'] == total, 'trainable %d of %d' % (m['trainable_params'], total))
    expect(m['dev_metric'] > 0.8, 'full dev accuracy %.4f' % m['dev_metric'])


@case
def dense_export_and_explicit_head_count():
    out, _ = pipeline('tpa', '--prune-heads', '3', '--dense', '--epochs', '2')
    plan = load_json(os.path.join(out, 'plan.json'))
    expect(sum(len(v) for v in plan['pruned_heads'].values()) == 3, 'plan %s' % plan)
    cfg = load_json(os.path.join(out, 'model-dense', 'config.json'))
    expect(not any(cfg.get('pruned_heads', {}).values()), 'dense config has pruned_heads')
    dense = safetensors_counts(os.path.join(out, 'model-dense', 'model.safetensors'))
    orig = safetensors_counts(os.path.join(DEFAULT, 'model', 'model.safetensors'))
    expect(sum(dense.values()) == sum(orig.values()), 'dense export is not full-size')
    expect(abs(accuracy_by_predict(os.path.join(out, 'model-dense')) -
               accuracy_by_predict(os.path.join(out, 'model'))) < 1e-12,
           'dense and compact exports disagree')


def default_rows(name):
    """(sentence, label) of the default task's split @p name."""
    with open(os.path.join(DEFAULT, 'task', name)) as f:
        rows = [ln.split('\t') for ln in f.read().splitlines()[1:] if ln]
    return [(r[0], int(r[1])) for r in rows]


@case
def table_with_string_labels_end_to_end():
    """The default task as a CSV with string labels and no dev file (a held
    out share), then as JSON Lines with a dev file: the export names its
    classes, predicts them on unlabeled text, and its accuracy on the dev
    file matches the report."""
    import csv
    names = ['negative', 'positive']
    data = os.path.join(TMP, 'table-csv')
    os.makedirs(data)
    with open(os.path.join(data, 'train.csv'), 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['text', 'label'])
        for text, y in default_rows('train.tsv'):
            w.writerow([text, names[y]])
    out = os.path.join(TMP, 'table-csv-out')
    _, err = expect_ok(['run', '--model', os.path.join(DEFAULT, 'model'), '--data', data,
                        '--out', out, '--epochs', '4', '--lr', '3e-3', '--batch-size', '16',
                        '--dropout', '0'])
    expect('holding out' in err, 'no word of the held-out dev set: %s' % err)
    cfg = load_json(os.path.join(out, 'model', 'config.json'))
    expect(cfg['id2label'] == {'0': 'negative', '1': 'positive'}, cfg['id2label'])
    expect(cfg['label2id'] == {'negative': 0, 'positive': 1}, cfg['label2id'])
    expect(cfg['problem_type'] == 'single_label_classification', cfg.get('problem_type'))
    with open(os.path.join(out, 'report.md')) as f:
        report = f.read()
    expect('held out' in report, 'report.md does not say the dev set was held out')
    m = load_json(os.path.join(out, 'metrics.json'))
    expect(m['task'] is None and m['metric'] == 'accuracy' and 'dev_split' in m, repr(m)[:300])
    n_train = len(default_rows('train.tsv'))
    expect(m['dev_examples'] == round(0.1 * n_train) and
           m['train_examples'] + m['dev_examples'] == n_train,
           'split %d + %d of %d' % (m['train_examples'], m['dev_examples'], n_train))
    # Unlabeled text, JSON Lines out: the class names.
    unl = os.path.join(TMP, 'unlabeled.jsonl')
    dev = default_rows('dev.tsv')
    with open(unl, 'w') as f:
        for text, _ in dev:
            f.write(json.dumps({'text': text}) + '\n')
    got, _ = expect_ok(['predict', '--model', os.path.join(out, 'model'), '--data', unl,
                        '--format', 'jsonl', '-q'])
    preds = [json.loads(line) for line in got.splitlines()]
    expect(len(preds) == len(dev), '%d predictions for %d rows' % (len(preds), len(dev)))
    expect(all(p['label'] in names and 0.5 <= p['score'] <= 1 for p in preds), preds[0])
    acc = sum(names.index(p['label']) == y for p, (_, y) in zip(preds, dev)) / len(dev)
    expect(acc > 0.8, 'the table-trained model reaches only %.3f on dev' % acc)

    # JSON Lines with a dev file: the report's metric is that file's.
    data = os.path.join(TMP, 'table-jsonl')
    os.makedirs(data)
    for split, rows in (('train', default_rows('train.tsv')), ('dev', dev)):
        with open(os.path.join(data, split + '.jsonl'), 'w') as f:
            for text, y in rows:
                f.write(json.dumps({'sentence': text, 'label': names[y]}) + '\n')
    out = os.path.join(TMP, 'table-jsonl-out')
    expect_ok(['run', '--model', os.path.join(DEFAULT, 'model'), '--data', data, '--out', out,
               '--mode', 'lora', '--epochs', '2', '--lr', '3e-3', '--batch-size', '16', '-q'])
    m = load_json(os.path.join(out, 'metrics.json'))
    expect(m['dev_examples'] == len(dev) and 'dev_split' not in m, repr(m)[:300])


FAMILIES = {'roberta': 'RobertaForSequenceClassification',
            'xlmr': 'XLMRobertaForSequenceClassification',
            'distilbert': 'DistilBertForSequenceClassification',
            'electra': 'ElectraForSequenceClassification'}


@case
def every_family_runs_end_to_end():
    """`tpa run` on the random RoBERTa, XLM-R, DistilBERT and ELECTRA
    checkpoints of tests/fixtures/families (each with its own tokenizer
    file) and the default task: the pipeline prunes, trains and exports
    in the family's own layout, and the export's accuracy by `tpa
    predict` is the one the report gives. DistilBERT's run also adapts
    the feed-forward (--target-modules with lin1, lin2): merged into the
    export like the attention's."""
    for fam, arch in FAMILIES.items():
        src = os.path.join(ROOT, 'tests', 'fixtures', 'families', fam)
        out = os.path.join(TMP, 'family-' + fam)
        ffn = fam == 'distilbert'
        expect_ok(['run', '--model', src, '--task', 'sst2', '--data',
                   os.path.join(DEFAULT, 'task'), '--out', out, '--epochs', '1',
                   '--samples', '64', '--max-seq-length', '32', '-q'] +
                  (['--target-modules', 'q_lin,v_lin,lin1,lin2'] if ffn else []))
        base = load_json(os.path.join(src, 'config.json'))
        cfg = load_json(os.path.join(out, 'model', 'config.json'))
        expect(cfg['model_type'] == base['model_type'] and cfg['architectures'] == [arch],
               '%s: exported as %s %s' % (fam, cfg['model_type'], cfg['architectures']))
        expect(cfg.get('pruned_heads'), '%s: the export has no pruned_heads' % fam)
        ad = load_json(os.path.join(out, 'adapter', 'adapter_config.json'))
        expect(ad['libtpa']['model_type'] == base['model_type'], repr(ad['libtpa']))
        names = safetensors_counts(os.path.join(out, 'adapter', 'adapter_model.safetensors'))
        prefix = 'base_model.model.%s.' % ('roberta' if fam == 'xlmr' else fam)
        expect(any(n.startswith(prefix) and '.lora_A.' in n for n in names),
               '%s: no LoRA tensor under %s' % (fam, prefix))
        m = load_json(os.path.join(out, 'metrics.json'))
        if ffn:
            expect(any('.ffn.lin1.lora_A.' in n for n in names) and
                   any('.ffn.lin2.lora_B.' in n for n in names), 'no FFN LoRA: %s' % names)
            expect(ad['target_modules'] == ['q_lin', 'v_lin', 'lin1', 'lin2'],
                   repr(ad['target_modules']))
            expect(len(m['ffn_ranks']) == len(m['ranks']) and
                   all(r[0] == r[1] == max(a) for r, a in zip(m['ffn_ranks'], m['ranks'])),
                   'ffn_ranks %s, ranks %s' % (m['ffn_ranks'], m['ranks']))
        else:
            expect('ffn_ranks' not in m, '%s: ffn_ranks without FFN LoRA' % fam)
        acc = accuracy_by_predict(os.path.join(out, 'model'))
        expect(abs(acc - m['dev_metric']) < 1e-12,
               '%s: tpa predict on the export gives %.6f, the report %.6f' %
               (fam, acc, m['dev_metric']))
        info, _ = expect_ok(['info', os.path.join(out, 'model')])
        expect('model_type                    %s' % base['model_type'] in info, info[:400])


@case
def bad_arguments_exit_2():
    bad = [
        ['run', '--mode', 'bogus'],
        ['run', '--model', DEFAULT + '/model'],
        ['run', '--data', DEFAULT + '/task', '--task', 'sst2'],
        ['run', '--model', DEFAULT + '/model', '--data', DEFAULT + '/task', '--task', 'sst2',
         '--label-column', 'label'],
        ['run', '--label-column', 'label'],
        ['run', '--model', DEFAULT + '/model', '--data', DEFAULT + '/task', '--dev-split', '2'],
        ['run', '--task', 'nope'],
        ['run', '--task', 'rte'],
        ['run', '--prune-heads', '3', '--threshold', '0.5'],
        ['run', '--mode', 'lora', '--prune-heads', '3'],
        ['run', '--mode', 'lora', '--ffn-keep', '0.5'],
        ['run', '--ffn-keep', '0'],
        ['run', '--ffn-keep', '2'],
        ['run', '--ffn-keep', '0.5', '--ffn-global', '0.5'],
        ['run', '--mode', 'full', '--ffn-global', '0.5'],
        ['run', '--epochs', '0'],
        ['run', '--bogus'],
        ['run', 'extra'],
    ]
    for args in bad:
        rc, _, err = run(args + ['--out', os.path.join(TMP, 'never')])
        expect(rc == 2, 'tpa %s: exit %d (want 2): %s' % (' '.join(args), rc, err.strip()))
    expect(not os.path.exists(os.path.join(TMP, 'never')), 'a usage error created --out')


@case
def failures_exit_1():
    rc, _, err = run(['run', '--out', os.path.join(TMP, 'x')],
                     env={'TPA_DEFAULT_DIR': os.path.join(TMP, 'no-such-dir')})
    expect(rc == 1 and 'TPA_DEFAULT_DIR' in err, 'bad TPA_DEFAULT_DIR: exit %d, %s' % (rc, err))
    rc, _, err = run(['run', '--model', os.path.join(TMP, 'no-model'), '--task', 'sst2', '--data',
                      os.path.join(DEFAULT, 'task'), '--out', os.path.join(TMP, 'y')])
    expect(rc == 1 and 'no-model' in err, 'missing model: exit %d, %s' % (rc, err))


def tiny_glue(root):
    """Two small task folders made from the default task: SST-2 (a subset)
    and CoLA (same sentences in CoLA's headerless 4-column layout), and
    an empty MRPC folder that must be skipped."""
    rows = {}
    for split, n in (('train', 320), ('dev', 80)):
        with open(os.path.join(DEFAULT, 'task', split + '.tsv')) as f:
            rows[split] = [ln.split('\t') for ln in f.read().splitlines()[1:n + 1]]
    for task in ('SST-2', 'CoLA', 'MRPC'):
        os.makedirs(os.path.join(root, task))
    for split, rs in rows.items():
        with open(os.path.join(root, 'SST-2', split + '.tsv'), 'w') as f:
            f.write('sentence\tlabel\n' + ''.join('%s\t%s\n' % (a, y) for a, y in rs))
        with open(os.path.join(root, 'CoLA', split + '.tsv'), 'w') as f:
            f.write(''.join('gen\t%s\t\t%s\n' % (y, a) for a, y in rs))


@case
def reproduce_script_writes_the_four_tables():
    glue, out = os.path.join(TMP, 'glue'), os.path.join(TMP, 'repro')
    tiny_glue(glue)
    p = subprocess.run(['bash', os.path.join(ROOT, 'tools', 'reproduce.sh'),
                        os.path.join(DEFAULT, 'model'), glue, out, '--epochs', '2', '-q'],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600,
                       env=dict(os.environ, TPA=TPA))
    err = p.stderr.decode('utf-8', 'replace')
    expect(p.returncode == 0, 'reproduce.sh: exit %d: %s' % (p.returncode, err[-2000:]))
    expect('skipping MRPC' in err, 'MRPC without train.tsv not skipped')
    tables = open(os.path.join(out, 'tables.md')).read()
    for n in range(1, 5):
        expect('## Table %d' % n in tables, 'tables.md lacks table %d' % n)
    for task in ('SST-2', 'CoLA'):
        ms = {md: load_json(os.path.join(out, task, md, 'metrics.json'))
              for md in ('full', 'lora', 'tpa')}
        expect(all(len(m['epochs']) == 2 for m in ms.values()), '--epochs not passed through')
        row = '| %s | %s | %s |' % (task, 'Matthews' if task == 'CoLA' else 'accuracy',
                                    ' | '.join('%.4f' % ms[md]['dev_metric']
                                               for md in ('full', 'lora', 'tpa')))
        expect(row in tables, 'table 1 lacks %r' % row)
        expect('| %s | tpa | {:,} |'.format(ms['tpa']['inference_final']['params']) % task
               in tables, 'table 2 lacks the pruned %s model' % task)
        rel = ms['lora']['train_seconds'] / ms['full']['train_seconds']
        expect('| %s | %.1f | %.2f |' % (task, ms['full']['train_seconds'], rel) in tables,
               'table 4 lacks %s relative time' % task)
    # A second start repeats nothing.
    p = subprocess.run(['bash', os.path.join(ROOT, 'tools', 'reproduce.sh'),
                        os.path.join(DEFAULT, 'model'), glue, out], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=600, env=dict(os.environ, TPA=TPA))
    expect(p.returncode == 0 and p.stderr.decode().count('done before') == 6, 'rerun')


@case
def help_exits_0():
    rc, out, _ = run(['run', '--help'])
    expect(rc == 0 and 'tpa-run-out' in out and '--prune-heads' in out, 'help')


# --------------------------------------------------------------------------


def main():
    return run_cases(TMP)


if __name__ == '__main__':
    sys.exit(main())
