#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Tests of the `tpa` command on data of one's own (CSV, TSV, JSON Lines,
no --task), run as a subprocess.

usage: test_cli_tables.py PATH/TO/tpa

References are independent of libtpa: token ids from HF's `tokenizers`
(golden/sst2.jsonl), logits from the plain-Python BERT of tpa_model_gen.py,
softmax scores and metrics (accuracy, macro-F1 as scikit-learn averages
it, F1 of class 1, Matthews) computed here from the printed logits. The
files are written here with Python's csv and json modules. Prints one
line per case and closes with "N passed, N failed".
"""
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
import tpa_model_gen  # noqa: E402

sys.path.insert(0, os.path.join(HERE, '..', 'common'))
from cases import Skip, case, expect, run_cases  # noqa: E402

TPA = os.path.abspath(sys.argv[1])
SHARED = os.environ.get('TPA_SHARED_DATA', os.path.join(HERE, '..', '..', '..', 'shared', 'data'))
VOCAB = os.path.join(SHARED, 'vocab', 'bert-base-uncased-vocab.txt')
SST2_DEV = os.path.join(SHARED, 'glue', 'SST-2', 'dev.tsv')
GOLDEN = os.path.join(HERE, 'golden', 'sst2.jsonl')
TMP = tempfile.mkdtemp(prefix='tpa-cli-tables-')
NAMES = ['negative', 'positive']
def run(args, timeout=300):
    p = subprocess.run([TPA] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    return p.returncode, p.stdout.decode('utf-8'), p.stderr.decode('utf-8', 'replace')


def expect_ok(args):
    rc, out, err = run(args)
    expect(rc == 0, 'tpa %s: exit %d, stderr: %s' % (' '.join(args), rc, err.strip()))
    return out, err


def path(name):
    return os.path.join(TMP, name)


# --------------------------------------------------------------------------
# Inputs: the 16 SST-2 dev rows whose HF token ids are in golden/sst2.jsonl

_rows = []


def sst2_rows():
    """(sentence, label) of the golden rows, and their HF token ids."""
    if not _rows:
        if not os.path.exists(SST2_DEV) or not os.path.exists(VOCAB):
            raise Skip('no GLUE SST-2 dev file or vocab under %s' % SHARED)
        with open(GOLDEN) as f:
            golden = [json.loads(line) for line in f]
        with open(SST2_DEV, encoding='utf-8') as f:
            lines = f.read().split('\n')[1:1 + len(golden)]
        for line, g in zip(lines, golden):
            sentence, label = line.split('\t')
            _rows.append((sentence, int(label), g['ids'], g['type_ids']))
    return _rows


_models = {}


def model(kind):
    """A generated checkpoint: 'named' has id2label negative/positive,
    'generic' LABEL_0/LABEL_1, 'reg' one output."""
    if kind not in _models:
        with open(VOCAB, encoding='utf-8') as f:
            vocab = f.readlines()
        bert = tpa_model_gen.TinyBert(len(vocab), num_labels=1 if kind == 'reg' else 2, seed=21)
        d = path('model-' + kind)
        bert.save(d, vocab)
        if kind == 'named':
            cfg_path = os.path.join(d, 'config.json')
            with open(cfg_path) as f:
                cfg = json.load(f)
            cfg['id2label'] = {str(i): n for i, n in enumerate(NAMES)}
            cfg['label2id'] = {n: i for i, n in enumerate(NAMES)}
            with open(cfg_path, 'w') as f:
                json.dump(cfg, f)
        _models[kind] = (d, bert)
    return _models[kind]


def reference(bert):
    return [bert.logits(ids, types) for _, _, ids, types in sst2_rows()]


def parse_tsv(out):
    rows = [line.split('\t') for line in out.strip('\n').split('\n')]
    for i, r in enumerate(rows):
        expect(r[0] == str(i), 'index column %r on line %d' % (r[0], i))
    return [[float(x) for x in r[1:]] for r in rows]


def same_logits(got, want, tol=1e-4):
    expect(len(got) == len(want), '%d rows, want %d' % (len(got), len(want)))
    worst = max(abs(a - b) for g, w in zip(got, want) for a, b in zip(g, w))
    expect(worst <= tol, 'largest logit difference %.3g > %g' % (worst, tol))


def write_csv(name, header, rows):
    with open(path(name), 'w', newline='', encoding='utf-8') as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path(name)


def write_jsonl(name, objects):
    with open(path(name), 'w', encoding='utf-8') as f:
        for o in objects:
            f.write(json.dumps(o) + '\n')  # ensure_ascii: \uXXXX escapes
    return path(name)


def argmax(v):
    return max(range(len(v)), key=lambda i: (v[i], -i))


def class_metrics(pred, gold, k):
    n = len(gold)
    m = {'accuracy': sum(p == g for p, g in zip(pred, gold)) / n}
    f1s = []
    for c in range(k):
        tp = sum(p == c and g == c for p, g in zip(pred, gold))
        denom = pred.count(c) + gold.count(c)
        if denom:
            f1s.append(2 * tp / denom)
        if c == 1 and k == 2:
            m['f1'] = 2 * tp / denom if denom else 0.0
    m['macro_f1'] = sum(f1s) / len(f1s)
    t = [gold.count(c) for c in range(k)]
    p = [pred.count(c) for c in range(k)]
    correct = sum(p_ == g for p_, g in zip(pred, gold))
    den = (n * n - sum(x * x for x in p)) * (n * n - sum(x * x for x in t))
    m['matthews'] = (correct * n - sum(a * b for a, b in zip(p, t))) / math.sqrt(den) if den else 0
    return m


# --------------------------------------------------------------------------


@case
def glue_test_tsv_predicts():
    """GLUE's own test.tsv layout (index, sentence; no label) with --task."""
    rows = sst2_rows()
    d, bert = model('generic')
    test = path('test.tsv')
    with open(test, 'w', encoding='utf-8') as f:
        f.write('index\tsentence\n')
        for i, r in enumerate(rows):
            f.write('%d\t%s\n' % (i, r[0]))
    out, _ = expect_ok(['predict', '--model', d, '--task', 'sst2', '--data', test, '-q'])
    same_logits(parse_tsv(out), reference(bert))
    # eval needs labels and says so
    rc, _, err = run(['eval', '--model', d, '--task', 'sst2', '--data', test, '-q'])
    expect(rc == 1 and 'no label' in err, 'eval on test.tsv: exit %d, %s' % (rc, err))


@case
def csv_and_jsonl_predict_like_tsv():
    rows = sst2_rows()
    d, bert = model('generic')
    want = reference(bert)
    c = write_csv('plain.csv', ['id', 'sentence'], [(i, r[0]) for i, r in enumerate(rows)])
    j = write_jsonl('plain.jsonl', [{'text': r[0], 'n': i, 'meta': {'x': [1]}}
                                    for i, r in enumerate(rows)])
    only = write_csv('only.csv', ['sentence'], [(r[0],) for r in rows])
    for f in (c, j, only):
        out, err = expect_ok(['predict', '--model', d, '--data', f])
        same_logits(parse_tsv(out), want)
        expect('text from column' in err and 'no labels' in err,
               '%s: columns not reported: %r' % (f, err))
    # The format follows --data-format when the name does not tell it.
    txt = path('plain.txt')
    shutil.copy(j, txt)
    out, _ = expect_ok(['predict', '--model', d, '--data', txt, '--data-format', 'jsonl', '-q'])
    same_logits(parse_tsv(out), want)
    rc, _, err = run(['predict', '--model', d, '--data', txt, '-q'])
    expect(rc == 1 and 'cannot tell the format' in err, 'no format: exit %d, %s' % (rc, err))


@case
def tokenize_table_matches_hf():
    rows = sst2_rows()
    d, _ = model('generic')
    f = write_csv('tok.csv', ['text', 'label'], [(r[0], NAMES[r[1]]) for r in rows])
    out, _ = expect_ok(['tokenize', '--model', d, '--data', f])
    got = [json.loads(line) for line in out.strip().split('\n')]
    expect([g['ids'] for g in got] == [r[2] for r in rows], 'ids differ from HF tokenizers')


@case
def predict_jsonl_names_and_scores():
    rows = sst2_rows()
    d, bert = model('named')
    f = write_csv('unlabeled.csv', ['text'], [(r[0],) for r in rows])
    out, _ = expect_ok(['predict', '--model', d, '--data', f, '--format', 'jsonl', '-q'])
    lines = out.strip('\n').split('\n')
    expect(len(lines) == len(rows), '%d lines for %d examples' % (len(lines), len(rows)))
    for i, (line, want) in enumerate(zip(lines, reference(bert))):
        o = json.loads(line)
        expect(list(o) == ['index', 'label', 'score', 'logits'], 'keys %s' % list(o))
        expect(o['index'] == i, 'index %r' % o['index'])
        best = argmax(want)
        expect(o['label'] == NAMES[best], 'line %d: label %r, want %r' % (i, o['label'],
                                                                          NAMES[best]))
        z = sum(math.exp(v - want[best]) for v in want)
        expect(abs(o['score'] - 1 / z) < 1e-4, 'line %d: score %r, want %r' % (i, o['score'], 1 / z))
        same_logits([o['logits']], [want])
    # Regression: the score is the value, no label.
    d, bert = model('reg')
    out, _ = expect_ok(['predict', '--model', d, '--data', f, '--format', 'jsonl', '-q'])
    for line, want in zip(out.strip('\n').split('\n'), reference(bert)):
        o = json.loads(line)
        expect('label' not in o and abs(o['score'] - want[0]) < 1e-4, 'regression: %r' % o)


@case
def eval_string_labels():
    rows = sst2_rows()
    d, bert = model('named')
    pred = [argmax(v) for v in reference(bert)]
    gold = [r[1] for r in rows]
    want = class_metrics(pred, gold, 2)
    f = write_jsonl('labelled.jsonl', [{'sentence': r[0], 'label': NAMES[r[1]]} for r in rows])
    for extra, main_key in (([], 'accuracy'), (['--metric', 'macro_f1'], 'macro_f1')):
        out, _ = expect_ok(['eval', '--model', d, '--data', f, '-q'] + extra)
        got = json.loads(out)
        expect(got['task'] is None and got['examples'] == len(rows), repr(got))
        expect(got['metric'] == main_key, 'metric %r, want %r' % (got['metric'], main_key))
        for k, v in want.items():
            expect(abs(got[k] - v) < 1e-9, '%s = %r, want %r' % (k, got[k], v))
        expect(abs(got['main'] - want[main_key]) < 1e-9, 'main %r' % got['main'])
    # Integer labels are class ids of a model with named classes.
    f = write_csv('ids.csv', ['text', 'label'], [(r[0], r[1]) for r in rows])
    got = json.loads(expect_ok(['eval', '--model', d, '--data', f, '-q'])[0])
    expect(abs(got['accuracy'] - want['accuracy']) < 1e-9, 'integer labels: %r' % got)


@case
def eval_refuses_other_classes():
    rows = sst2_rows()
    d, _ = model('named')
    f = write_csv('three.csv', ['text', 'label'],
                  [(r[0], ['a', 'b', 'c'][i % 3]) for i, r in enumerate(rows)])
    rc, _, err = run(['eval', '--model', d, '--data', f, '-q'])
    expect(rc == 1 and 'label "a"' in err and 'three.csv:2' in err,
           'labels outside the model: exit %d, %s' % (rc, err))
    rc, _, err = run(['eval', '--model', d, '--data', f, '--labels', 'a,b,c', '-q'])
    expect(rc == 1 and '3 classes' in err and 'has 2' in err,
           'three classes on a 2-label model: exit %d, %s' % (rc, err))


@case
def bad_column_lists_the_file_columns():
    rows = sst2_rows()
    d, _ = model('generic')
    f = write_csv('cols.csv', ['review', 'stars'], [(r[0], r[1]) for r in rows])
    out_file = path('never.tsv')
    rc, _, err = run(['predict', '--model', d, '--data', f, '--out', out_file])
    expect(rc == 1 and '"review", "stars"' in err, 'no text column: exit %d, %s' % (rc, err))
    expect(not os.path.exists(out_file), 'a failed predict wrote --out')
    rc, _, err = run(['predict', '--model', d, '--data', f, '--text-column', 'body'])
    expect(rc == 1 and 'no column "body"' in err, 'named column: exit %d, %s' % (rc, err))
    out, _ = expect_ok(['predict', '--model', d, '--data', f, '--text-column', '1', '-q'])
    expect(len(parse_tsv(out)) == len(rows), 'column by number')


@case
def train_on_a_folder_of_tables():
    """train.jsonl and validation.csv with string labels and three classes:
    a new classifier, class names in the saved model, dev metrics."""
    rows = sst2_rows()
    d, _ = model('named')
    data = path('three-class')
    os.makedirs(data)
    names = ['bad', 'good', 'meh']
    objs = [{'text': r[0], 'label': names[i % 3]} for i, r in enumerate(rows)]
    write_jsonl(os.path.join('three-class', 'train.jsonl'), objs)
    write_csv(os.path.join('three-class', 'validation.csv'), ['text', 'label'],
              [(o['text'], o['label']) for o in objs[:6]])
    out = path('train-out')
    _, err = expect_ok(['train', '--model', d, '--data', data, '--out', out, '--mode', 'full',
                        '--epochs', '1', '--batch-size', '4', '--metric', 'macro_f1'])
    expect('new classifier' in err, 'no word of the new classifier: %s' % err)
    with open(os.path.join(out, 'model', 'config.json')) as f:
        cfg = json.load(f)
    expect(cfg['id2label'] == {'0': 'bad', '1': 'good', '2': 'meh'}, cfg['id2label'])
    expect(cfg['label2id'] == {'bad': 0, 'good': 1, 'meh': 2}, cfg['label2id'])
    expect(cfg['problem_type'] == 'single_label_classification', cfg.get('problem_type'))
    with open(os.path.join(out, 'metrics.json')) as f:
        m = json.load(f)
    dev = m['epochs'][0]['dev']
    expect(dev['examples'] == 6 and 'macro_f1' in dev and dev['main'] == dev['macro_f1'],
           'dev metrics %r' % dev)
    # The trained model predicts with its names.
    f = write_csv('pred3.csv', ['text'], [(r[0],) for r in rows[:3]])
    out_text, _ = expect_ok(['predict', '--model', os.path.join(out, 'model'), '--data', f,
                             '--format', 'jsonl', '-q'])
    for line in out_text.strip().split('\n'):
        expect(json.loads(line)['label'] in names, line)


@case
def usage_errors_exit_2():
    for args in (['predict', '--model', 'm', '--task', 'sst2', '--data', 'd', '--labels', 'a,b'],
                 ['train', '--model', 'm', '--data', 'd', '--out', 'o', '--dev-split', '0.95'],
                 ['eval', '--model', 'm', '--data', 'd', '--metric', 'bleu'],
                 ['predict', '--model', 'm', '--data', 'd', '--format', 'csv'],
                 ['tokenize', '--model', 'm', '--data', 'd', '--format', 'xml']):
        rc, _, err = run(args)
        expect(rc == 2, 'tpa %s: exit %d (want 2): %s' % (' '.join(args), rc, err))


def main():
    return run_cases(TMP)


if __name__ == '__main__':
    sys.exit(main())
