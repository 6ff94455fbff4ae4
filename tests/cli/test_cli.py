#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Tests of the `tpa` command, run as a subprocess.

usage: test_cli.py PATH/TO/tpa VERSION DNNL_MAJOR.MINOR

References are independent of libtpa: token ids from HF's `tokenizers`
(golden/*.jsonl, made by make_golden.js), logits from a plain-Python BERT
forward over a checkpoint written by tpa_model_gen.py, metrics computed
here from the printed logits, config values read from config.json and
parameter counts from the safetensors header. Reads GLUE dev files from
$TPA_SHARED_DATA and committed fixtures from $TPA_FIXTURES. Prints one line
per case and closes with "N passed, N failed".
"""
import json
import math
import os
import pty
import re
import select
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import tpa_model_gen  # noqa: E402

sys.path.insert(0, os.path.join(HERE, '..', 'common'))
from cases import Skip, case, expect, run_cases  # noqa: E402

TPA = os.path.abspath(sys.argv[1])
VERSION = sys.argv[2]
DNNL_VERSION = sys.argv[3]  # major.minor of the oneDNN headers
SHARED = os.environ.get('TPA_SHARED_DATA', os.path.join(HERE, '..', '..', '..', 'shared', 'data'))
FIXTURES = os.environ.get('TPA_FIXTURES', os.path.join(HERE, '..', 'fixtures'))
VOCAB = os.path.join(SHARED, 'vocab', 'bert-base-uncased-vocab.txt')
GOLDEN = os.path.join(HERE, 'golden')
COMMANDS = ['info', 'tokenize', 'predict', 'eval']
DATA_COMMANDS = ['tokenize', 'predict', 'eval']
TMP = tempfile.mkdtemp(prefix='tpa-cli-test-')


def run(args, timeout=300, env=None, stdout=subprocess.PIPE):
    full_env = dict(os.environ)
    full_env.update(env or {})
    p = subprocess.run([TPA] + args, stdout=stdout, stderr=subprocess.PIPE, timeout=timeout,
                       env=full_env)
    out = p.stdout.decode('utf-8') if p.stdout is not None else ''
    return p.returncode, out, p.stderr.decode('utf-8', 'replace')


def expect_ok(args, **kw):
    rc, out, err = run(args, **kw)
    expect(rc == 0, 'tpa %s: exit %d, stderr: %s' % (' '.join(args), rc, err.strip()))
    return out, err


def close(a, b, tol):
    return abs(a - b) <= tol or (a != a and b != b)


# --------------------------------------------------------------------------
# Inputs built once: GLUE subsets and generated checkpoints


def manifest():
    with open(os.path.join(GOLDEN, 'manifest.json')) as f:
        return {m['name']: m for m in json.load(f)}


def golden(name):
    with open(os.path.join(GOLDEN, name + '.jsonl')) as f:
        return [json.loads(line) for line in f]


_subsets = {}


def subset(name):
    """The GLUE rows a golden set was made from, as a small TSV file (BOM
    and header kept as in the original), and their raw columns."""
    if name not in _subsets:
        m = manifest()[name]
        src = os.path.join(SHARED, m['file'])
        if not os.path.exists(src):
            raise Skip('no GLUE file %s' % src)
        with open(src, 'rb') as f:
            lines = f.read().split(b'\n')
        keep = lines[:m['rows'] + (1 if m['header'] else 0)]
        path = os.path.join(TMP, '%s.tsv' % name)
        with open(path, 'wb') as f:
            f.write(b'\n'.join(keep) + b'\n')
        rows = [ln.decode('utf-8').lstrip('\ufeff').rstrip('\r').split('\t') for ln in keep]
        _subsets[name] = (path, rows[1:] if m['header'] else rows)
    return _subsets[name]


def labels_of(task, rows):
    col = {'sst2': 1, 'cola': 1, 'mrpc': 0, 'stsb': 9}[task]
    return [float(r[col]) for r in rows]


_models = {}


def model(kind):
    """A generated checkpoint directory and its TinyBert (the reference)."""
    if kind not in _models:
        if not os.path.exists(VOCAB):
            raise Skip('no vocab at %s' % VOCAB)
        with open(VOCAB, encoding='utf-8') as f:
            vocab = f.readlines()
        args = {'cls2': dict(num_labels=2, seed=11),
                'reg': dict(num_labels=1, seed=12),
                'pruned': dict(num_labels=2, seed=13, layers=3, pruned={0: [1], 2: [0, 2]})}[kind]
        bert = tpa_model_gen.TinyBert(len(vocab), **args)
        d = os.path.join(TMP, 'model-' + kind)
        bert.save(d, vocab)
        _models[kind] = (d, bert)
    return _models[kind]


def parse_predict(out, width):
    """Rows of `tpa predict` output, checking the documented format."""
    rows = []
    lines = out.split('\n')
    expect(lines[-1] == '', 'output does not end with a newline')
    for i, line in enumerate(lines[:-1]):
        f = line.split('\t')
        expect(len(f) == width + 1, 'line %d has %d fields, want %d: %r' % (i, len(f), width + 1,
                                                                           line))
        expect(f[0] == str(i), 'line %d: index column %r' % (i, f[0]))
        vals = []
        for x in f[1:]:
            v = float(x)
            # %.9g of a float32 (9 digits restore it exactly): round to the
            # nearest float32 and print that as C's printf would.
            f32 = struct.unpack('<f', struct.pack('<f', v))[0]
            expect('%.9g' % f32 == x, 'line %d: %r is not a float printed with %%.9g' % (i, x))
            vals.append(v)
        rows.append(vals)
    return rows


def reference_logits(bert, name):
    return [bert.logits(g['ids'], g['type_ids']) for g in golden(name)]


def compare_logits(got, want, tol=1e-4):
    expect(len(got) == len(want), '%d rows, want %d' % (len(got), len(want)))
    worst = 0.0
    for i, (g, w) in enumerate(zip(got, want)):
        expect(len(g) == len(w), 'row %d: %d logits, want %d' % (i, len(g), len(w)))
        for a, b in zip(g, w):
            worst = max(worst, abs(a - b))
    expect(worst <= tol, 'max abs logit difference %.3g > %g' % (worst, tol))
    return worst


def no_leftovers(directory, allowed):
    extra = sorted(set(os.listdir(directory)) - set(allowed))
    expect(not extra, 'unexpected files left in %s: %s' % (directory, extra))


# --------------------------------------------------------------------------
# Help, version, usage errors (no model needed)


@case
def main_help():
    for args in (['--help'], ['-h'], ['help']):
        out, err = expect_ok(args)
        expect(out.startswith('Usage: tpa COMMAND'), '%s: %r' % (args, out[:60]))
        expect(err == '', '%s wrote to stderr: %r' % (args, err))
        for c in COMMANDS:
            expect('\n  %s ' % c in out, '%s does not list %s' % (args, c))


@case
def version():
    # The oneDNN version comes from the loaded library at run time; meson
    # read the same major.minor from the headers it built against.
    out, err = expect_ok(['--version'])
    m = re.match(r'tpa (\S+) \(oneDNN (\d+)\.(\d+)\.(\d+), OpenMP\)\n\Z', out)
    expect(m and m.group(1) == VERSION, repr(out))
    expect('%s.%s' % (m.group(2), m.group(3)) == DNNL_VERSION,
           'runs oneDNN %s.%s, built against %s' % (m.group(2), m.group(3), DNNL_VERSION))


@case
def command_help():
    accepted = {
        'info': ['--json'],
        'tokenize': ['--model', '--task', '--data', '--max-seq-length', '--out', '--limit'],
        'predict': ['--model', '--task', '--data', '--max-seq-length', '--batch-size', '--out',
                    '--threads', '--quiet', '--limit'],
        'eval': ['--model', '--task', '--data', '--max-seq-length', '--batch-size', '--threads',
                 '--quiet', '--limit'],
    }
    for c in COMMANDS:
        texts = []
        for args in ([c, '--help'], [c, '-h'], ['help', c], [c, '--help', '--bogus']):
            out, err = expect_ok(args)
            expect(out.startswith('Usage: tpa %s' % c), '%s: %r' % (args, out[:60]))
            expect(err == '', '%s wrote to stderr: %r' % (args, err))
            texts.append(out)
        expect(all(t == texts[0] for t in texts), '%s: help texts differ' % c)
        for opt in accepted[c]:
            expect(opt in texts[0], '%s --help does not mention %s' % (c, opt))


USAGE_ERRORS = [
    [],
    ['bogus'],
    ['--bogus'],
    ['help', 'bogus'],
    ['help', 'info', 'predict'],
    ['info'],
    ['info', 'a', 'b'],
    ['info', 'a', '--bogus'],
    ['info', 'a', '--json=yes'],
    ['predict', '--task', 'sst2', '--data', 'd'],
    ['predict', '--model', 'm', '--task', 'sst2', '--data', 'd', '--text-column', 'x'],
    ['predict', '--model', 'm', '--data', 'd', '--format', 'xml'],
    ['predict', '--model', 'm', '--data', 'd', '--data-format', 'xls'],
    ['eval', '--model', 'm', '--data', 'd', '--metric', 'bleu'],
    ['eval', '--model', 'm', '--data', 'd', '--labels', 'a,b', '--regression'],
    ['predict', '--model', 'm', '--task', 'sst2'],
    ['predict', '--model'],
    ['predict', '--model', 'm', '--task', 'sst2', '--data', 'd', 'extra'],
    ['predict', '--model', 'm', '--task', 'glue', '--data', 'd'],
    ['predict', '--model', 'm', '--task', 'sst', '--data', 'd'],
    ['predict', '--model', 'm', '--task', 'sst2', '--data', 'd', '--batch-size', '0'],
    ['predict', '--model', 'm', '--task', 'sst2', '--data', 'd', '--batch-size', '-4'],
    ['predict', '--model', 'm', '--task', 'sst2', '--data', 'd', '--batch-size', '8x'],
    ['predict', '--model', 'm', '--task', 'sst2', '--data', 'd', '--batch-size', ' 8'],
    ['predict', '--model', 'm', '--task', 'sst2', '--data', 'd', '--batch-size=abc'],
    ['predict', '--model', 'm', '--task', 'sst2', '--data', 'd', '--batch-size', ''],
    ['predict', '--model', 'm', '--task', 'sst2', '--data', 'd', '--max-seq-length', '1'],
    ['predict', '--model', 'm', '--task', 'sst2', '--data', 'd',
     '--max-seq-length', '99999999999999999999999'],
    ['predict', '--model', 'm', '--task', 'sst2', '--data', 'd', '--threads', '0'],
    ['predict', '--model', 'm', '--task', 'sst2', '--data', 'd', '--limit', '0'],
    ['predict', '--model', 'm', '--task', 'sst2', '--data', 'd', '--json'],
    ['eval', '--model', 'm', '--task', 'sst2', '--data', 'd', '--out', 'x'],
    ['tokenize', '--model', 'm', '--task', 'sst2', '--data', 'd', '--batch-size', '4'],
    ['tokenize', '--model', 'm', '--task', 'sst2', '--data', 'd', '-x'],
]


@case
def usage_errors_exit_2():
    for args in USAGE_ERRORS:
        rc, out, err = run(args)
        expect(rc == 2, '%s: exit %d, want 2 (stderr %r)' % (args, rc, err))
        expect(out == '', '%s wrote to stdout: %r' % (args, out))
        expect('tpa' in err and ('Usage' in err or '--help' in err),
               '%s: no usage hint on stderr: %r' % (args, err))


@case
def task_names_case_insensitive():
    # A valid task name passes parsing, so the run fails later (exit 1, on
    # the missing model) instead of with a usage error (exit 2).
    missing = os.path.join(TMP, 'no-such-model')
    for t in ['sst2', 'SST2', 'Sst-2', 'SST-2', 'sts-b', 'STS-B', 'stsb', 'CoLA', 'MRPC', 'qqp',
              'MNLI', 'qnli', 'RTE', 'wnli']:
        rc, _, err = run(['predict', '--model', missing, '--task', t, '--data', 'd'])
        expect(rc == 1, 'task %r: exit %d, want 1 (%r)' % (t, rc, err))


@case
def missing_model_dir_exit_1():
    missing = os.path.join(TMP, 'no-such-model')
    for args in (['info', missing], ['info', missing, '--json'],
                 ['tokenize', '--model', missing, '--task', 'sst2', '--data', 'd'],
                 ['predict', '--model', missing, '--task', 'sst2', '--data', 'd'],
                 ['eval', '--model', missing, '--task', 'sst2', '--data', 'd']):
        rc, out, err = run(args)
        expect(rc == 1, '%s: exit %d, want 1' % (args[0], rc))
        expect(out == '', '%s wrote to stdout: %r' % (args[0], out))
        expect(err.startswith('tpa: ') and missing in err and err.count('\n') == 1,
               '%s: stderr should be one "tpa: " line naming %s: %r' % (args[0], missing, err))


@case
def out_untouched_when_model_missing():
    d = os.path.join(TMP, 'out-nomodel')
    os.makedirs(d)
    keep = os.path.join(d, 'keep.tsv')
    with open(keep, 'w') as f:
        f.write('precious\n')
    missing = os.path.join(TMP, 'no-such-model')
    for target in (keep, os.path.join(d, 'new.tsv')):
        for c in ('tokenize', 'predict'):
            rc, out, _ = run([c, '--model', missing, '--task', 'sst2', '--data', 'd',
                              '--out', target])
            expect(rc == 1 and out == '', '%s: exit %d' % (c, rc))
    with open(keep) as f:
        expect(f.read() == 'precious\n', 'existing --out file was modified')
    no_leftovers(d, ['keep.tsv'])
    rc, _, err = run(['predict', '--model', missing, '--task', 'sst2', '--data', 'd',
                      '--out', os.path.join(TMP, 'no-such-dir', 'x.tsv')])
    expect(rc == 1 and 'no-such-dir' in err, 'unwritable --out: exit %d %r' % (rc, err))
    rc, _, err = run(['predict', '--model', missing, '--task', 'sst2', '--data', 'd',
                      '--out', d])
    expect(rc == 1 and 'directory' in err and missing not in err,
           '--out DIRECTORY should fail before loading: exit %d %r' % (rc, err))
    no_leftovers(d, ['keep.tsv'])


# --------------------------------------------------------------------------
# info


def check_info_json(d, info, cfg, kept, counts):
    expect(info['model'] == d, 'model %r' % info['model'])
    c = info['config']
    for key in ('hidden_size', 'num_hidden_layers', 'num_attention_heads', 'intermediate_size',
                'vocab_size', 'max_position_embeddings', 'type_vocab_size'):
        expect(c[key] == cfg[key], '%s: %r, config.json has %r' % (key, c[key], cfg[key]))
    n_labels = cfg.get('num_labels', len(cfg.get('id2label', {})) or 2)
    expect(c['num_labels'] == n_labels, 'num_labels %r, want %r' % (c['num_labels'], n_labels))
    expect(c['head_dim'] == cfg['hidden_size'] // cfg['num_attention_heads'], 'head_dim')
    for key in ('layer_norm_eps', 'hidden_dropout_prob', 'attention_probs_dropout_prob'):
        if key in cfg:
            expect(close(c[key], cfg[key], 1e-12 + 1e-9 * abs(cfg[key])), key)
    expect(c['regression'] == (n_labels == 1 or cfg.get('problem_type') == 'regression'),
           'regression flag')
    if 'id2label' in cfg:
        expect(info['labels'] == [cfg['id2label'][str(i)] for i in range(n_labels)],
               'labels %r' % info['labels'])
    # A vocab.txt model: WordPiece with BERT's pipeline, cased or not.
    lower = ' lowercase' if c['do_lower_case'] else ''
    expect(info['tokenizer'] == 'WordPiece (vocab.txt); BertNormalizer%s, BertPreTokenizer, '
           'BertProcessing' % lower, 'tokenizer %r' % info['tokenizer'])
    layers = info['layers']
    expect(len(layers) == len(kept), '%d layers listed' % len(layers))
    for layer, heads in enumerate(kept):
        e = layers[layer]
        expect(e['layer'] == layer and e['heads'] == heads and e['num_heads'] == len(heads),
               'layer %d: %r, want heads %r' % (layer, e, heads))
        expect(e['intermediate_size'] == cfg['intermediate_size'],
               'layer %d: intermediate_size %r' % (layer, e.get('intermediate_size')))
    expect(info['heads_total'] == sum(len(h) for h in kept), 'heads_total')
    p = info['parameters']
    for key, want in counts.items():
        expect(p[key] == want, 'parameters.%s = %r, want %r' % (key, p[key], want))


def kept_heads(cfg):
    pruned = {int(k): set(v) for k, v in cfg.get('pruned_heads', {}).items()}
    return [[h for h in range(cfg['num_attention_heads']) if h not in pruned.get(layer, set())]
            for layer in range(cfg['num_hidden_layers'])]


@case
def info_json_generated():
    for kind in ('cls2', 'reg', 'pruned'):
        d, bert = model(kind)
        out, _ = expect_ok(['info', d, '--json'])
        info = json.loads(out)
        expect(out.count('\n') == 1, 'not one JSON object on one line')
        check_info_json(d, info, bert.config(), bert.kept, bert.param_counts())


@case
def info_table_generated():
    d, bert = model('pruned')
    out, _ = expect_ok(['info', d])
    counts = bert.param_counts()
    for key in ('embeddings', 'encoder', 'total'):
        expect(any(line.split()[:2] == [key, str(counts[key])] for line in out.splitlines()),
               'table has no "%s %d" line' % (key, counts[key]))
    lines = out.splitlines()
    for layer, heads in enumerate(bert.kept):
        want = [str(layer), str(len(heads))] + [str(h) for h in heads]
        expect(want in [ln.split() for ln in lines], 'no layer line %r' % want)


def safetensors_counts(path):
    """Parameter counts from a safetensors header alone."""
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
    groups = {'embeddings': 0, 'encoder': 0, 'pooler': 0, 'classifier': 0}
    for name, t in header.items():
        if name == '__metadata__' or name.endswith('position_ids'):
            continue
        size = 1
        for s in t['shape']:
            size *= s
        bare = name[5:] if name.startswith('bert.') else name
        groups[bare.split('.')[0]] += size
    groups['head'] = groups['pooler'] + groups['classifier']
    groups['total'] = sum(groups[k] for k in ('embeddings', 'encoder', 'pooler', 'classifier'))
    return groups


def fixture_models():
    root = os.path.join(FIXTURES, 'tiny')
    dirs = []
    if os.path.isdir(root):
        for dirpath, _, files in os.walk(root):
            if 'config.json' in files and 'model.safetensors' in files:
                dirs.append(dirpath)
    return sorted(dirs)


@case
def info_json_fixtures():
    dirs = fixture_models()
    if not dirs:
        raise Skip('no checkpoints under %s/tiny yet' % FIXTURES)
    for d in dirs:
        with open(os.path.join(d, 'config.json')) as f:
            cfg = json.load(f)
        counts = safetensors_counts(os.path.join(d, 'model.safetensors'))
        if counts['classifier'] == 0:
            continue  # a bare BertModel: the classifier is created at load
        out, _ = expect_ok(['info', d, '--json'])
        check_info_json(d, json.loads(out), cfg, kept_heads(cfg), counts)


# --------------------------------------------------------------------------
# tokenize


@case
def tokenize_matches_hf():
    d, _ = model('cls2')
    for name, m in manifest().items():
        path, _ = subset(name)
        out, _ = expect_ok(['tokenize', '--model', d, '--task', m['task'], '--data', path,
                            '--max-seq-length', str(m['max_seq_length'])])
        got = out.split('\n')
        expect(got[-1] == '', '%s: no final newline' % name)
        want = golden(name)
        expect(len(got) - 1 == len(want), '%s: %d lines, want %d' % (name, len(got) - 1,
                                                                    len(want)))
        for i, (line, w) in enumerate(zip(got, want)):
            # Exactly the documented shape, and HF's ids and type ids.
            expect(line == json.dumps(w, separators=(',', ':')),
                   '%s line %d:\n got %s\nwant %s' % (name, i, line,
                                                      json.dumps(w, separators=(',', ':'))))


def bert_tokenizer_json(vocab_lines):
    """bert-base-uncased's tokenizer.json layout over a vocab (the same
    structure tests/fixtures/tokenizer/hf_bert.js gives HF's tokenizer)."""
    vocab = {t.rstrip('\r\n'): i for i, t in enumerate(vocab_lines)}
    specials = [s for s in ('[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]') if s in vocab]
    tok = lambda n, t: {'SpecialToken': {'id': n, 'type_id': t}}  # noqa: E731
    seq = lambda n, t: {'Sequence': {'id': n, 'type_id': t}}  # noqa: E731
    return {
        'version': '1.0', 'truncation': None, 'padding': None,
        'added_tokens': [{'id': vocab[s], 'content': s, 'single_word': False, 'lstrip': False,
                          'rstrip': False, 'normalized': False, 'special': True}
                         for s in specials],
        'normalizer': {'type': 'BertNormalizer', 'clean_text': True,
                       'handle_chinese_chars': True, 'strip_accents': None, 'lowercase': True},
        'pre_tokenizer': {'type': 'BertPreTokenizer'},
        'post_processor': {
            'type': 'TemplateProcessing',
            'single': [tok('[CLS]', 0), seq('A', 0), tok('[SEP]', 0)],
            'pair': [tok('[CLS]', 0), seq('A', 0), tok('[SEP]', 0), seq('B', 1),
                     tok('[SEP]', 1)],
            'special_tokens': {s: {'id': s, 'ids': [vocab[s]], 'tokens': [s]}
                               for s in ('[CLS]', '[SEP]')}},
        'decoder': {'type': 'WordPiece', 'prefix': '##', 'cleanup': True},
        'model': {'type': 'WordPiece', 'unk_token': '[UNK]', 'continuing_subword_prefix': '##',
                  'max_input_chars_per_word': 100, 'vocab': vocab},
    }


@case
def tokenizer_json_model_dir():
    """A model directory with tokenizer.json (and no vocab.txt) tokenizes
    with it: HF's ids, the same logits, and the file survives an export."""
    d, bert = model('cls2')
    j = os.path.join(TMP, 'model-tokenizer-json')
    shutil.copytree(d, j)
    with open(os.path.join(j, 'vocab.txt'), encoding='utf-8') as f:
        lines = f.readlines()
    os.remove(os.path.join(j, 'vocab.txt'))
    with open(os.path.join(j, 'tokenizer.json'), 'w', encoding='utf-8') as f:
        json.dump(bert_tokenizer_json(lines), f)
    for name in ('sst2', 'mrpc_max20'):
        m = manifest()[name]
        path, _ = subset(name)
        out, _ = expect_ok(['tokenize', '--model', j, '--task', m['task'], '--data', path,
                            '--max-seq-length', str(m['max_seq_length'])])
        got = [json.loads(line) for line in out.strip().split('\n')]
        expect(got == golden(name), '%s: tokenizer.json ids differ from HF' % name)
    path, _ = subset('sst2')
    compare_logits(parse_predict(predict(j, 'sst2', path), 2), reference_logits(bert, 'sst2'))
    info = json.loads(expect_ok(['info', j, '--json'])[0])
    expect(info['tokenizer'].startswith('WordPiece; normalizer BertNormalizer'),
           'tokenizer %r' % info['tokenizer'])
    # A bad tokenizer.json is a config error naming the file and place.
    with open(os.path.join(j, 'tokenizer.json'), 'w') as f:
        json.dump({'model': {'type': 'WordPiece', 'vocab': {'a': 0}, 'unk_token': 'a'},
                   'normalizer': {'type': 'Fancy'}}, f)
    rc, _, err = run(['info', j])
    expect(rc == 1 and 'tokenizer.json' in err and 'normalizer' in err and 'Fancy' in err,
           'bad tokenizer.json: exit %d, %s' % (rc, err))


@case
def train_target_modules():
    """--target-modules picks LoRA modules by PEFT's names in each family,
    the feed-forward's denses included: the adapter holds A/B for those
    modules only, adapter_config.json lists them as PEFT's suffixes, and a
    name that picks no module LoRA adapts (or the head too, as "dense"
    would in PEFT) exits 1."""
    task = os.path.join(HERE, '..', '..', 'share', 'default', 'task')
    for fam, names, want, paths in (
            ('distilbert', 'q_lin,lin1', ['q_lin', 'lin1'], {'attention.q_lin', 'ffn.lin1'}),
            ('xlmr', 'self.query,value', ['query', 'value'],
             {'attention.self.query', 'attention.self.value'}),
            ('electra', 'attention.output.dense', ['attention.output.dense'],
             {'attention.output.dense'}),
            ('electra-pruned', 'output.dense,intermediate.dense',
             ['attention.output.dense', 'intermediate.dense', 'output.dense'],
             {'attention.output.dense', 'intermediate.dense', 'output.dense'})):
        model = os.path.join(FIXTURES, 'families', fam)
        out = os.path.join(TMP, 'targets-' + fam)
        expect_ok(['train', '--model', model, '--task', 'sst2', '--data', task, '--out', out,
                   '--max-steps', '1', '--max-seq-length', '16', '--target-modules', names, '-q'])
        cfg = json.load(open(os.path.join(out, 'adapter', 'adapter_config.json')))
        expect(cfg['target_modules'] == want, '%s: target_modules %s' % (fam, cfg['target_modules']))
        with open(os.path.join(out, 'adapter', 'adapter_model.safetensors'), 'rb') as f:
            header = json.loads(f.read(struct.unpack('<Q', f.read(8))[0]))
        lora = [n for n in header if '.lora_' in n]
        # "base_model.model.<prefix>.<layers>.N.<module path>.lora_A.weight"
        picked = {re.sub(r'^.*\.layer\.\d+\.', '', n.split('.lora_')[0]) for n in lora}
        expect(picked == paths and lora, '%s: LoRA tensors on %s' % (fam, sorted(picked)))
    model = os.path.join(FIXTURES, 'families', 'xlmr')
    for bad, why in (('dense', 'also names a layer of the classification head'),
                     ('out_proj', 'names no module'), ('q_lin', 'names no module')):
        rc, _, err = run(['train', '--model', model, '--task', 'sst2', '--data', task, '--out',
                          os.path.join(TMP, 'targets-bad'), '--max-steps', '1',
                          '--target-modules', bad, '-q'])
        expect(rc == 1 and why in err and 'query, key, value' in err and
               'intermediate.dense' in err, '%s: exit %d %s' % (bad, rc, err.strip()))
        expect(not os.path.exists(os.path.join(TMP, 'targets-bad')), 'output left behind')
    rc, _, err = run(['train', '--model', model, '--task', 'sst2', '--data', task, '--out',
                      os.path.join(TMP, 'targets-full'), '--mode', 'full', '--target-modules',
                      'query'])
    expect(rc == 2 and '--target-modules' in err, 'full mode: exit %d %s' % (rc, err.strip()))


@case
def tokenize_limit_and_out():
    d, _ = model('cls2')
    full = os.path.join(SHARED, 'glue', 'SST-2', 'dev.tsv')
    out, _ = expect_ok(['tokenize', '--model', d, '--task', 'SST-2', '--data', full,
                        '--limit', '5'])
    want = [json.dumps(g, separators=(',', ':')) for g in golden('sst2')[:5]]
    expect(out.split('\n')[:-1] == want, '--limit 5 is not the first 5 examples')
    target = os.path.join(TMP, 'tok-out', 'ids.jsonl')
    os.makedirs(os.path.dirname(target))
    out2, _ = expect_ok(['tokenize', '--model', d, '--task', 'sst2', '--data', full,
                         '--limit', '5', '--out', target])
    expect(out2 == '', '--out also wrote to stdout')
    with open(target) as f:
        expect(f.read() == out, '--out file differs from stdout output')
    no_leftovers(os.path.dirname(target), ['ids.jsonl'])


# --------------------------------------------------------------------------
# predict


def predict(d, task, path, *extra):
    out, err = expect_ok(['predict', '--model', d, '--task', task, '--data', path, '--quiet']
                         + list(extra))
    expect(err == '', '--quiet run wrote to stderr: %r' % err)
    return out


@case
def predict_matches_reference():
    d, bert = model('cls2')
    for name, task, extra in (('sst2', 'sst2', ['--batch-size', '5']),
                              ('mrpc', 'mrpc', ['--batch-size', '3']),
                              ('rte_max40', 'rte', ['--max-seq-length', '40']),
                              ('cola', 'cola', [])):
        path, rows = subset(name)
        got = parse_predict(predict(d, task, path, *extra), 2)
        expect(len(got) == len(rows), '%s: %d lines for %d examples' % (name, len(got),
                                                                       len(rows)))
        compare_logits(got, reference_logits(bert, name))


@case
def predict_regression_and_pruned():
    d, bert = model('reg')
    path, _ = subset('stsb')
    compare_logits(parse_predict(predict(d, 'STS-B', path, '--batch-size', '4'), 1),
                   reference_logits(bert, 'stsb'))
    d, bert = model('pruned')
    path, _ = subset('rte_max40')
    compare_logits(parse_predict(predict(d, 'rte', path, '--max-seq-length', '40'), 2),
                   reference_logits(bert, 'rte_max40'))


@case
def predict_batch_and_threads_agree():
    d, _ = model('cls2')
    path, _ = subset('sst2')
    base = parse_predict(predict(d, 'sst2', path), 2)
    for extra in (['--batch-size', '1'], ['--batch-size', '7', '--threads', '1'],
                  ['--threads=2', '--batch-size=16']):
        compare_logits(parse_predict(predict(d, 'sst2', path, *extra), 2), base, 1e-5)


@case
def predict_out_is_atomic():
    d, _ = model('cls2')
    path, _ = subset('sst2')
    od = os.path.join(TMP, 'pred-out')
    os.makedirs(od)
    target = os.path.join(od, 'logits.tsv')
    want = predict(d, 'sst2', path)
    old = os.umask(0o022)
    try:
        out = predict(d, 'sst2', path, '--out', target)
    finally:
        os.umask(old)
    expect(out == '', '--out also wrote to stdout')
    with open(target) as f:
        expect(f.read() == want, '--out file differs from stdout output')
    expect(stat.S_IMODE(os.stat(target).st_mode) == 0o644, 'mode %o, want 644 under umask 022'
           % stat.S_IMODE(os.stat(target).st_mode))
    # A failing run (malformed data) neither replaces nor truncates it, and
    # a failing run to a new name creates nothing.
    bad = os.path.join(TMP, 'bad.tsv')
    with open(bad, 'w') as f:
        f.write('sentence\tlabel\ngood row\t1\nno label column here\nx\t1\n')
    for c in ('predict', 'tokenize'):
        for t in (target, os.path.join(od, 'new.tsv')):
            rc, _, err = run([c, '--model', d, '--task', 'sst2', '--data', bad, '--out', t])
            expect(rc == 1, '%s on malformed data: exit %d' % (c, rc))
            expect(err.startswith('tpa: ') and 'bad.tsv' in err and '3' in err,
                   'message should name the file and line 3: %r' % err)
    with open(target) as f:
        expect(f.read() == want, 'a failed run changed the existing --out file')
    no_leftovers(od, ['logits.tsv'])


@case
def out_removed_on_signal():
    d, _ = model('cls2')
    big = os.path.join(SHARED, 'glue', 'SST-2', 'train.tsv')  # 67k rows: still running
    if not os.path.exists(big):
        raise Skip('no %s' % big)
    od = os.path.join(TMP, 'sig-out')
    os.makedirs(od)
    target = os.path.join(od, 'logits.tsv')
    with open(target, 'w') as f:
        f.write('old\n')
    for sig in (signal.SIGTERM, signal.SIGINT):
        p = subprocess.Popen([TPA, 'predict', '--model', d, '--task', 'sst2', '--data', big,
                              '-q', '--out', target], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        # The temporary file exists from before the model is loaded on.
        for _ in range(500):
            if len(os.listdir(od)) > 1 or p.poll() is not None:
                break
            select.select([], [], [], 0.01)
        expect(len(os.listdir(od)) == 2, 'no temporary file appeared: %s' % os.listdir(od))
        p.send_signal(sig)
        p.communicate(timeout=60)
        expect(p.returncode == -sig, 'exit %r after signal %d' % (p.returncode, sig))
        no_leftovers(od, ['logits.tsv'])
        with open(target) as f:
            expect(f.read() == 'old\n', 'an interrupted run changed the --out file')


@case
def predict_data_errors_exit_1():
    d, _ = model('cls2')
    reg, _ = model('reg')
    path, _ = subset('sst2')
    missing = os.path.join(TMP, 'no-such.tsv')
    for args, needle in ((['predict', '--model', d, '--task', 'sst2', '--data', missing],
                          missing),
                         (['eval', '--model', d, '--task', 'sst2', '--data', missing], missing),
                         # a 1-output model cannot score a 2-class task
                         (['predict', '--model', reg, '--task', 'sst2', '--data', path], '')):
        rc, out, err = run(args)
        expect(rc == 1 and out == '', '%s: exit %d, stdout %r' % (args, rc, out[:80]))
        expect(err.startswith('tpa: ') and needle in err, 'stderr %r lacks %r' % (err, needle))


@case
def predict_write_error_exit_1():
    if not os.path.exists('/dev/full'):
        raise Skip('no /dev/full')
    d, _ = model('cls2')
    path, _ = subset('sst2')
    with open('/dev/full', 'w') as full:
        rc, _, err = run(['predict', '--model', d, '--task', 'sst2', '--data', path, '-q'],
                         stdout=full)
    expect(rc == 1 and err.startswith('tpa: '), 'writing to a full disk: exit %d %r' % (rc, err))


@case
def predict_progress():
    d, _ = model('cls2')
    path, rows = subset('sst2')
    n = len(rows)
    # Not a terminal: plain lines, ending with the complete count.
    _, err = expect_ok(['predict', '--model', d, '--task', 'sst2', '--data', path])
    lines = err.splitlines()
    expect(lines and lines[-1].startswith('tpa: predict %d/%d' % (n, n)) and '\r' not in err,
           'plain progress lines expected, got %r' % err)
    # A terminal: a bar redrawn with carriage returns.
    master, slave = pty.openpty()
    p = subprocess.Popen([TPA, 'predict', '--model', d, '--task', 'sst2', '--data', path],
                         stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = b''
    while True:
        r, _, _ = select.select([master], [], [], 60)
        if not r:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    out = p.communicate(timeout=60)[0]
    os.close(master)
    expect(p.returncode == 0 and out.count(b'\n') == n, 'tty run failed')
    text = seen.decode('utf-8', 'replace')
    expect('\r' in text and '[' in text and '%d/%d' % (n, n) in text,
           'no progress bar on a terminal: %r' % text)


@case
def fixture_e2e_tokenize_and_predict():
    # tests/fixtures/tiny/e2e_*.json: the first rows of real GLUE dev files,
    # tokenized by HF's tokenizer, with PyTorch logits (gen_fixtures.py).
    d = os.path.join(FIXTURES, 'tiny')
    refs = [os.path.join(d, f) for f in ('e2e_sst2.json', 'e2e_rte.json')]
    if not all(os.path.exists(r) for r in refs):
        raise Skip('no end-to-end references in %s' % d)
    for ref_path in refs:
        with open(ref_path) as f:
            ref = json.load(f)
        data = os.path.join(SHARED, ref['file'])
        common = ['--model', d, '--task', ref['task'], '--data', data,
                  '--max-seq-length', str(ref['max_seq_length']), '--limit', str(ref['rows'])]
        out, _ = expect_ok(['tokenize'] + common)
        got = [json.loads(line) for line in out.splitlines()]
        expect(len(got) == ref['rows'], '%s: %d lines' % (ref['task'], len(got)))
        for i, g in enumerate(got):
            expect(g == {'ids': ref['ids'][i], 'type_ids': ref['type_ids'][i]},
                   '%s row %d: ids differ from HF' % (ref['task'], i))
        out, _ = expect_ok(['predict', '-q', '--batch-size', '8'] + common)
        worst = compare_logits(parse_predict(out, len(ref['logits'][0])), ref['logits'])
        print('     %s: max abs logit difference %.2g vs PyTorch' % (ref['task'], worst))


@case
def library_log_on_stderr():
    # A bare BertModel gets a random classifier at load: the library logs
    # it, and tpa shows that on stderr (not with --quiet, never on stdout).
    d = os.path.join(FIXTURES, 'tiny-bare')
    if not os.path.exists(os.path.join(d, 'config.json')):
        raise Skip('no %s' % d)
    path, rows = subset('sst2')
    args = ['predict', '--model', d, '--task', 'sst2', '--data', path]
    out, err = expect_ok(args)
    expect('classifier' in err and err.startswith('tpa: '), 'no load message: %r' % err)
    expect(len(parse_predict(out, 2)) == len(rows), 'stdout is not just the logits')
    out_q, err_q = expect_ok(args + ['--quiet'])
    expect(err_q == '' and out_q == out, '--quiet: stderr %r' % err_q)


# --------------------------------------------------------------------------
# eval: metrics recomputed here from the printed logits


def argmax(v):
    return max(range(len(v)), key=lambda i: (v[i], -i))


def ranks(x):
    order = sorted(range(len(x)), key=lambda i: x[i])
    r = [0.0] * len(x)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and x[order[j + 1]] == x[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return r


def pearson(a, b):
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    va = sum((x - ma) ** 2 for x in a)
    vb = sum((y - mb) ** 2 for y in b)
    return cov / math.sqrt(va * vb) if va > 0 and vb > 0 else float('nan')


def metrics(task, logits, labels):
    if task == 'stsb':
        pred = [v[0] for v in logits]
        return {'pearson': pearson(pred, labels), 'spearman': pearson(ranks(pred), ranks(labels))}
    pred = [argmax(v) for v in logits]
    gold = [int(x) for x in labels]
    m = {'accuracy': sum(p == g for p, g in zip(pred, gold)) / len(gold)}
    tp = sum(p == 1 and g == 1 for p, g in zip(pred, gold))
    fp = sum(p == 1 and g == 0 for p, g in zip(pred, gold))
    fn = sum(p == 0 and g == 1 for p, g in zip(pred, gold))
    tn = sum(p == 0 and g == 0 for p, g in zip(pred, gold))
    if task in ('mrpc', 'qqp'):
        m['f1'] = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn > 0 else 0.0
    if task == 'cola':
        den = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        m['matthews'] = (tp * tn - fp * fn) / den if den > 0 else 0.0
    return m


@case
def eval_metrics_match_logits():
    d2, _ = model('cls2')
    dr, _ = model('reg')
    for task, folder, d, limit in (('sst2', 'SST-2', d2, 64), ('mrpc', 'MRPC', d2, 64),
                                   ('cola', 'CoLA', d2, 64), ('stsb', 'STS-B', dr, 48)):
        path = os.path.join(SHARED, 'glue', folder, 'dev.tsv')
        if not os.path.exists(path):
            raise Skip('no %s' % path)
        common = ['--model', d, '--task', task, '--data', path, '--limit', str(limit), '-q']
        logits = parse_predict(expect_ok(['predict'] + common)[0], 1 if task == 'stsb' else 2)
        out, err = expect_ok(['eval'] + common)
        expect(err == '', 'eval -q wrote to stderr: %r' % err)
        got = json.loads(out)
        expect(out.count('\n') == 1, 'not one JSON object on one line')
        expect(got['task'] == task and got['examples'] == limit, '%s: %r' % (task, got))
        with open(path, encoding='utf-8-sig') as f:
            rows = [ln.rstrip('\n').split('\t') for ln in f]
        rows = rows[(0 if task == 'cola' else 1):][:limit]
        want = metrics(task, logits, labels_of(task, rows))
        keys = set(got) - {'task', 'examples', 'main'}
        expect(keys == set(want), '%s: metric keys %s, want %s' % (task, sorted(keys),
                                                                   sorted(want)))
        for k, v in want.items():
            expect(got[k] is not None and close(got[k], v, 1e-6),
                   '%s %s = %r, want %r' % (task, k, got[k], v))
        # GLUE's headline figure: MCC for CoLA, the mean of F1 and accuracy
        # for MRPC/QQP, of Pearson and Spearman for STS-B, else accuracy.
        main = {'cola': want.get('matthews'), 'stsb': sum(want.values()) / len(want),
                'mrpc': sum(want.values()) / len(want)}.get(task, want.get('accuracy'))
        expect(got['main'] is not None and close(got['main'], main, 1e-6),
               '%s: main %r, want %r' % (task, got['main'], main))


# --------------------------------------------------------------------------


def main():
    return run_cases(TMP)


if __name__ == '__main__':
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
