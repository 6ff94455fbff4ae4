#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Nothing lost: `tpa train` and `tpa run` killed with SIGKILL at seeded
random points, and the `tpa` command's outputs on a full disk or a
read-only directory.

usage: test_nothing_lost.py PATH/TO/tpa SOURCE_ROOT SHARED_DATA

Kill cases: one uninterrupted run gives the reference and its duration
T. Then the same command runs in a fresh OUT and is killed after seeded
random delays that add up to less than 0.8 T (KILLS kills; each restart is
the same command with --resume; if a process ends before its kill, the
chain starts over in a new OUT with a shorter T), and finally resumed to
the end. After
each kill every file present in OUT must be complete and valid, checked
here independently of libtpa: JSON parses, safetensors headers parse and
their offsets tile the data exactly, PNG chunks have valid CRCs, a model
or adapter directory is either absent or complete and self-consistent
(config.json against the tensor shapes; `tpa info` loads the model).
Temporary files ("*.tmp.*") may be left by a kill; after the final run
none may remain. The final outputs must equal the uninterrupted run's
byte for byte (training resumes bit for bit, docs/durability.md), and
metrics.json must agree on every number but times, memory and this
process's share, and its times must cover the whole run.

Resume cases: `tpa train` killed once, and twice, each time just after
a checkpoint at an epoch's end (seen in the checkpoint's metadata, not
guessed from the clock), and `tpa run` killed twice the same way; the
resumed run's metrics.json must count what the uninterrupted run's does
(examples, tokens, steps, epochs) and times that hold every process's
recorded share, which a report of the last process alone fails.

Prints one line per case, then "N passed, N failed".
"""
import json
import os
import random
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import zlib

TPA = os.path.abspath(sys.argv[1])
ROOT = os.path.abspath(sys.argv[2])
SHARED = os.path.abspath(sys.argv[3])
TINY = os.path.join(ROOT, 'tests', 'fixtures', 'tiny')
TMP = tempfile.mkdtemp(prefix='tpa-lost-test-')
SEED = int(os.environ.get('TPA_KILL_SEED', '20261130'))
KILLS = 5
CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def run(args, timeout=300, exe=None, **kw):
    p = subprocess.run([exe or TPA] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, **kw)
    return p.returncode, p.stdout.decode(), p.stderr.decode('utf-8', 'replace')


def copy_for_nobody(root):
    """`tpa`, the libraries it loads from outside the system directories,
    and the tiny model, copied under @p root (mode 755) so that uid 65534
    can run it: a checkout in root's home (mode 700) is out of its reach.
    Returns (tpa path, environment, model directory)."""
    bindir, libdir = os.path.join(root, 'bin'), os.path.join(root, 'lib')
    os.makedirs(bindir)
    os.makedirs(libdir)
    exe = os.path.join(bindir, 'tpa')
    shutil.copy(TPA, exe)
    ldd = subprocess.run(['ldd', TPA], stdout=subprocess.PIPE, check=True).stdout.decode()
    for line in ldd.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] == '=>' and parts[2].startswith('/'):
            lib = parts[2]
            if not lib.startswith(('/lib/', '/lib64/', '/usr/lib/', '/usr/lib64/')):
                shutil.copy(lib, os.path.join(libdir, parts[0]))  # follows links
    model = os.path.join(root, 'tiny')
    shutil.copytree(TINY, model)
    for d in (root, bindir, libdir, model):
        os.chmod(d, 0o755)
    env = dict(os.environ, LD_LIBRARY_PATH=libdir)
    return exe, env, model


def expect_ok(args, **kw):
    rc, out, err = run(args, **kw)
    expect(rc == 0, 'tpa %s: exit %d: %s' % (' '.join(args), rc, err.strip()[-1500:]))
    return out, err


# ---- independent validators ----

DTYPE_SIZE = {'F64': 8, 'F32': 4, 'F16': 2, 'BF16': 2, 'I64': 8, 'I32': 4, 'I16': 2,
              'I8': 1, 'U8': 1, 'BOOL': 1}


def safetensors_header(path):
    """The header of a complete safetensors file; raises if truncated or
    inconsistent (offsets must tile the data section exactly)."""
    with open(path, 'rb') as f:
        blob = f.read()
    expect(len(blob) >= 8, '%s: %d bytes' % (path, len(blob)))
    (n,) = struct.unpack('<Q', blob[:8])
    expect(8 + n <= len(blob), '%s: header of %d bytes in a %d-byte file' % (path, n, len(blob)))
    hdr = json.loads(blob[8:8 + n].decode('utf-8'))
    data = len(blob) - 8 - n
    spans = []
    for name, t in hdr.items():
        if name == '__metadata__':
            continue
        b, e = t['data_offsets']
        count = 1
        for d in t['shape']:
            count *= d
        expect(e - b == count * DTYPE_SIZE[t['dtype']], '%s: %s size' % (path, name))
        spans.append((b, e))
    spans.sort()
    at = 0
    for b, e in spans:
        expect(b == at, '%s: gap or overlap at %d' % (path, b))
        at = e
    expect(at == data, '%s: tensors end at %d, data is %d bytes' % (path, at, data))
    return hdr


def check_png(path):
    with open(path, 'rb') as f:
        blob = f.read()
    expect(blob[:8] == b'\x89PNG\r\n\x1a\n', '%s: not a PNG' % path)
    at, last = 8, None
    while at < len(blob):
        (n,) = struct.unpack('>I', blob[at:at + 4])
        kind, body = blob[at + 4:at + 8], blob[at + 8:at + 8 + n]
        (crc,) = struct.unpack('>I', blob[at + 8 + n:at + 12 + n])
        expect(zlib.crc32(kind + body) & 0xffffffff == crc, '%s: bad CRC' % path)
        last, at = kind, at + 12 + n
    expect(last == b'IEND' and at == len(blob), '%s: truncated' % path)


def check_model_dir(d):
    names = set(os.listdir(d))
    for f in ['config.json', 'model.safetensors', 'vocab.txt', 'tokenizer_config.json']:
        expect(f in names, '%s: incomplete, no %s (has %s)' % (d, f, sorted(names)))
    cfg = json.load(open(os.path.join(d, 'config.json')))
    hdr = safetensors_header(os.path.join(d, 'model.safetensors'))
    H, heads = cfg['hidden_size'], cfg['num_attention_heads']
    dh = H // heads
    pruned = {int(k): len(v) for k, v in cfg.get('pruned_heads', {}).items()}
    for l in range(cfg['num_hidden_layers']):
        q = hdr['bert.encoder.layer.%d.attention.self.query.weight' % l]['shape']
        expect(q == [(heads - pruned.get(l, 0)) * dh, H],
               '%s: layer %d query %s does not match config.json' % (d, l, q))
    expect(hdr['classifier.weight']['shape'] == [cfg['num_labels'] if 'num_labels' in cfg
                                                 else len(cfg['id2label']), H],
           '%s: classifier shape' % d)
    with open(os.path.join(d, 'vocab.txt'), 'rb') as f:
        vocab = f.read()
    expect(vocab.endswith(b'\n') and vocab.count(b'\n') == cfg['vocab_size'],
           '%s: vocab.txt has %d lines, config %d' % (d, vocab.count(b'\n'), cfg['vocab_size']))
    json.load(open(os.path.join(d, 'tokenizer_config.json')))
    expect_ok(['info', d])  # and libtpa loads it


def check_adapter_dir(d):
    names = set(os.listdir(d))
    for f in ['adapter_config.json', 'adapter_model.safetensors']:
        expect(f in names, '%s: incomplete, no %s (has %s)' % (d, f, sorted(names)))
    cfg = json.load(open(os.path.join(d, 'adapter_config.json')))
    hdr = safetensors_header(os.path.join(d, 'adapter_model.safetensors'))
    ranks = cfg.get('rank_pattern') or {}
    n = 0
    for name, t in hdr.items():
        if not name.endswith('lora_A.weight'):
            continue
        module = name.split('base_model.model.')[-1].rsplit('.lora_A', 1)[0]
        module = module[len('bert.'):] if module.startswith('bert.') else module
        want = ranks.get(module, cfg['r'])
        expect(t['shape'][0] == want, '%s: %s rank %d, config %d' % (d, name, t['shape'][0], want))
        n += 1
    expect(n > 0, '%s: no LoRA tensors' % d)


def check_out(out):
    """Every file in OUT is complete and valid; returns the temporaries."""
    temps = []
    for top, dirs, files in os.walk(out):
        for sub in list(dirs):
            if '.tmp.' in sub:
                temps.append(os.path.join(top, sub))
                dirs.remove(sub)  # a staging directory: not an output
        for f in files:
            p = os.path.join(top, f)
            if '.tmp.' in f:
                temps.append(p)
            elif f.endswith('.json'):
                json.load(open(p))
            elif f.endswith('.safetensors'):
                hdr = safetensors_header(p)
                if f == 'state.safetensors':
                    expect(hdr['__metadata__']['format'] == 'libtpa-train-state', p)
            elif f.endswith('.png'):
                check_png(p)
            elif f.endswith('.md') or f.endswith('.txt'):
                with open(p, 'rb') as fh:
                    expect(fh.read().endswith(b'\n'), '%s: no final newline' % p)
    for d, check in [('model', check_model_dir), ('model-dense', check_model_dir),
                     ('adapter', check_adapter_dir)]:
        if os.path.isdir(os.path.join(out, d)):
            check(os.path.join(out, d))
    return temps


def same_bytes(a, b, rel):
    with open(os.path.join(a, rel), 'rb') as f:
        x = f.read()
    with open(os.path.join(b, rel), 'rb') as f:
        y = f.read()
    expect(x == y, '%s differs from the uninterrupted run' % rel)


VARIABLE = {'seconds', 'train_seconds', 'wall_seconds', 'peak_rss_mb', 'train_peak_rss_mb',
            'importance_seconds', 'epoch_seconds_mean', 'train_tokens_per_second', 'output',
            'inference_original', 'inference_final', 'speedup', 'importance_reused',
            'plan_reused',
            # what the last process did, not the run: a resumed process does less
            'this_process'}


def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if k not in VARIABLE}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v


def whole_run_times(m):
    """The times of a metrics.json cover every process of the run: the
    training time holds each epoch's (epochs are disjoint stretches of the
    processes' recorded time), and more than the last process's own when
    it resumed a checkpoint; the wall time holds the training (and the
    importance) time. Exact in the recorded times; 1e-6 s for rounding."""
    epochs = sum(e['seconds'] for e in m['epochs'])
    expect(m['train_seconds'] >= epochs - 1e-6,
           'train_seconds %.6f < the epochs\' %.6f' % (m['train_seconds'], epochs))
    here = m['this_process']
    if here['resumed_from_step'] > 0:
        expect(m['train_seconds'] > here['train_seconds'],
               'train_seconds %.6f is only the last process\'s' % m['train_seconds'])
    before = m['train_seconds'] + (m.get('importance_seconds') or 0)
    expect(m['wall_seconds'] >= before - 1e-6,
           'wall_seconds %.6f < %.6f of training and importance' % (m['wall_seconds'], before))
    expect(here['wall_seconds'] >= here['train_seconds'] - 1e-6, 'this process: wall < training')


def same_metrics(ref, out):
    a = json.load(open(os.path.join(ref, 'metrics.json')))
    b = json.load(open(os.path.join(out, 'metrics.json')))
    expect(strip(a) == strip(b), 'metrics.json differs:\n%s\n%s' % (strip(a), strip(b)))
    whole_run_times(b)
    return b


def killed_then_resumed(args, out_flag_at, compare, rng):
    """Reference run, then KILLS kills at random points and a final resume.

    The kill times are fractions of the reference run's duration T. When
    the machine is busier during the reference run than later, a process
    may finish before its kill time: the chain then starts over in a new
    OUT with T scaled down (the points stay seeded)."""
    ref = os.path.join(TMP, 'ref-%s' % args[0])
    argv = args[:out_flag_at] + [ref] + args[out_flag_at:]
    t0 = time.time()
    expect_ok(argv)
    T = T0 = time.time() - t0
    temps_seen = 0
    for attempt in range(4):
        out = os.path.join(TMP, 'killed-%s-%d' % (args[0], attempt))
        # Up to 0.8 T in all: each restart reloads and redoes the steps
        # since the last checkpoint.
        fracs = sorted(rng.uniform(0.05, 0.8) for _ in range(KILLS))
        delays = [b - a for a, b in zip([0.0] + fracs[:-1], fracs)]
        kills = 0
        for i, delay in enumerate(delays):
            argv = args[:out_flag_at] + [out] + args[out_flag_at:] + (['--resume'] if i else [])
            p = subprocess.Popen([TPA] + argv, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            deadline = time.time() + max(delay * T, 0.02)
            while p.poll() is None and time.time() < deadline:
                time.sleep(0.005)
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
            rc = p.wait()
            temps_seen += len(check_out(out))
            if rc >= 0:
                expect(rc == 0, 'tpa %s exited %d before the kill' % (' '.join(argv), rc))
                break  # finished before its kill time: too slow a T
            kills += 1
        if kills == KILLS:
            break
        T *= 0.6
    expect(kills == KILLS, 'only %d of %d kills hit a running process' % (kills, KILLS))
    _, err = expect_ok(args[:out_flag_at] + [out] + args[out_flag_at:] + ['--resume'])
    temps = check_out(out)
    expect(not temps, 'temporaries left after the final run: %s' % temps)
    compare(ref, out)
    return 'T=%.1fs, %d kills (attempt %d, T scaled to %.1fs), %d temporaries seen after kills' % (
        T0, kills, attempt + 1, T, temps_seen)


def train_data():
    d = os.path.join(TMP, 'sst2')
    if not os.path.isdir(d):
        os.makedirs(d)
        for name, rows in [('train.tsv', 120), ('dev.tsv', 48)]:
            with open(os.path.join(SHARED, 'glue', 'SST-2', name)) as f:
                lines = f.readlines()[:rows + 1]
            with open(os.path.join(d, name), 'w') as f:
                f.writelines(lines)
    return d


@case
def train_killed_at_random_points_resumes_bitwise():
    args = ['train', '--model', TINY, '--task', 'sst2', '--data', train_data(), '--out',
            '--epochs', '3', '--batch-size', '8', '--save-every', '2', '--lr', '2e-3', '-q']

    def compare(ref, out):
        same_bytes(ref, out, 'adapter/adapter_model.safetensors')
        same_bytes(ref, out, 'adapter/adapter_config.json')
        same_metrics(ref, out)

    return killed_then_resumed(args, args.index('--out') + 1, compare, random.Random(SEED))


@case
def run_killed_at_random_points_resumes_bitwise():
    args = ['run', '--out', '--epochs', '3', '--save-every', '5', '-q']

    def compare(ref, out):
        for rel in ['model/model.safetensors', 'model/config.json', 'model/vocab.txt',
                    'adapter/adapter_model.safetensors', 'importance.json', 'plan.json']:
            same_bytes(ref, out, rel)
        same_metrics(ref, out)

    return killed_then_resumed(args, 2, compare, random.Random(SEED + 1))


# ---- resumed runs report the whole run ----

def checkpoint_epoch(out):
    """Epochs finished according to OUT/checkpoint's metadata (-1: none
    yet). The file is replaced atomically, so a read sees a whole one."""
    try:
        hdr = safetensors_header(os.path.join(out, 'checkpoint', 'state.safetensors'))
    except (OSError, AssertionError, ValueError):
        return -1
    return int(hdr['__metadata__']['epoch'])


def kill_after_epoch(argv, out, epoch):
    """Run `tpa argv` and SIGKILL it as soon as its checkpoint has
    finished @p epoch epochs; fails if it ends first."""
    p = subprocess.Popen([TPA] + argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while p.poll() is None and checkpoint_epoch(out) < epoch:
        time.sleep(0.002)
    if p.poll() is None:
        p.send_signal(signal.SIGKILL)
    rc = p.wait()
    err = p.stderr.read().decode('utf-8', 'replace')
    p.stderr.close()
    expect(rc == -signal.SIGKILL, 'tpa %s ended (exit %d) before epoch %d was checkpointed: %s'
           % (' '.join(argv), rc, epoch, err.strip()[-500:]))
    expect(checkpoint_epoch(out) >= epoch, 'no checkpoint of epoch %d' % epoch)


def resumed_after_epochs(args, out_flag_at, tag, kill_epochs):
    """The uninterrupted run's OUT, and one killed after each epoch of
    @p kill_epochs then resumed to the end; their metrics.json."""
    ref = os.path.join(TMP, 'whole-ref-%s' % tag)
    expect_ok(args[:out_flag_at] + [ref] + args[out_flag_at:])
    out = os.path.join(TMP, 'whole-%s' % tag)
    for i, epoch in enumerate(kill_epochs):
        kill_after_epoch(args[:out_flag_at] + [out] + args[out_flag_at:] +
                         (['--resume'] if i else []), out, epoch)
    expect_ok(args[:out_flag_at] + [out] + args[out_flag_at:] + ['--resume'])
    a = json.load(open(os.path.join(ref, 'metrics.json')))
    b = json.load(open(os.path.join(out, 'metrics.json')))
    return a, b


def same_counts(a, b, keys):
    for k in keys:
        expect(a[k] == b[k], '%s: %s resumed, %s uninterrupted' % (k, b[k], a[k]))
    expect(len(a['epochs']) == len(b['epochs']), 'epochs: %d resumed, %d uninterrupted'
           % (len(b['epochs']), len(a['epochs'])))
    expect(strip(a['epochs']) == strip(b['epochs']), 'epochs differ:\n%s\n%s'
           % (strip(a['epochs']), strip(b['epochs'])))


@case
def train_resumed_once_and_twice_reports_the_whole_run():
    args = ['train', '--model', TINY, '--task', 'sst2', '--data', train_data(), '--out',
            '--epochs', '4', '--batch-size', '8', '--lr', '2e-3', '-q']
    notes = []
    for kills in ([2], [1, 2]):
        a, b = resumed_after_epochs(args, args.index('--out') + 1, 'train-%d' % len(kills), kills)
        same_counts(a, b, ['examples_processed', 'tokens_processed', 'steps', 'best_epoch',
                           'best_metric', 'final_train_loss'])
        here = b['this_process']
        steps_per_epoch = a['steps'] // len(a['epochs'])
        expect(here['resumed_from_step'] == kills[-1] * steps_per_epoch,
               'resumed from step %d' % here['resumed_from_step'])
        expect(here['examples_processed'] < b['examples_processed'], 'this process did it all?')
        whole_run_times(b)
        notes.append('%d kill(s): train %.2f s (this process %.2f s)'
                     % (len(kills), b['train_seconds'], here['train_seconds']))
    return '; '.join(notes)


@case
def run_resumed_twice_reports_the_whole_run():
    a, b = resumed_after_epochs(['run', '--out', '--epochs', '3', '-q'], 2, 'run', [1, 2])
    same_counts(a, b, ['train_tokens', 'steps', 'best_epoch', 'best_metric',
                       'final_train_loss', 'train_examples_processed'])
    expect(b['importance_reused'], 'importance.json was not reused')
    expect(b['importance_seconds'] is not None and b['importance_seconds'] > 0,
           'importance_seconds %s: the first process\'s time is lost' % b['importance_seconds'])
    expect(b['this_process']['importance_seconds'] is None, 'this process computed importance')
    whole_run_times(b)
    return 'importance %.2f s, train %.2f s, whole run %.2f s (this process %.2f s)' % (
        b['importance_seconds'], b['train_seconds'], b['wall_seconds'],
        b['this_process']['wall_seconds'])


# ---- the command's own output files ----

def limit_fsize(nbytes):
    def pre():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return pre


def predict_data():
    """1000 SST-2 rows: about 28 KB of predictions."""
    path = os.path.join(TMP, 'predict.tsv')
    if not os.path.exists(path):
        with open(os.path.join(SHARED, 'glue', 'SST-2', 'train.tsv')) as f:
            lines = f.readlines()[:1001]
        with open(path, 'w') as f:
            f.writelines(lines)
    return path


def predict_args(out):
    return ['predict', '--model', TINY, '--task', 'sst2', '--data', predict_data(),
            '--out', out, '-q']


def leftovers(d):
    return [f for f in os.listdir(d) if '.tmp.' in f]


@case
def predict_on_a_full_disk_keeps_the_old_file():
    d = os.path.join(TMP, 'full')
    os.makedirs(d)
    out = os.path.join(d, 'pred.tsv')
    with open(out, 'w') as f:
        f.write('old\n')
    # 16 KiB: above what the OpenMP runtime itself writes at start (LLVM's
    # libomp sizes a 1 KiB shared-memory file), below the predictions.
    rc, _, err = run(predict_args(out), preexec_fn=limit_fsize(16 * 1024))
    expect(rc == 1, 'exit %d, stderr %s' % (rc, err))
    expect(out in err and os.strerror(27) in err, 'stderr lacks path or EFBIG text: %s' % err)
    expect(open(out).read() == 'old\n', 'the old file changed')
    expect(not leftovers(d), 'temporaries left: %s' % leftovers(d))
    # A library writer through the command: `tpa train --mode full` whose
    # checkpoint cannot be written; OUT's existing files stay as they were.
    o = os.path.join(d, 'train')
    os.makedirs(os.path.join(o, 'checkpoint'))
    with open(os.path.join(o, 'checkpoint', 'state.safetensors'), 'wb') as f:
        f.write(b'old state')
    rc, _, err = run(['train', '--model', TINY, '--task', 'sst2', '--data', train_data(),
                      '--out', o, '--mode', 'full', '--max-steps', '2', '--save-every', '1',
                      '-q'], preexec_fn=limit_fsize(64 * 1024))
    expect(rc == 1, 'exit %d, stderr %s' % (rc, err))
    expect(os.path.join(o, 'checkpoint') in err and os.strerror(27) in err,
           'stderr lacks path or EFBIG text: %s' % err)
    expect(open(os.path.join(o, 'checkpoint', 'state.safetensors'), 'rb').read() == b'old state',
           'the old checkpoint changed')
    expect(not leftovers(os.path.join(o, 'checkpoint')) and not leftovers(o), 'temporaries left')
    return 'EFBIG reported with the path'


@case
def predict_into_a_read_only_directory_is_refused():
    d = os.path.join(TMP, 'ro')
    os.makedirs(d)
    out = os.path.join(d, 'pred.tsv')
    with open(out, 'w') as f:
        f.write('old\n')
    os.chmod(TMP, 0o755)
    args = predict_args(out)
    if os.geteuid() == 0:
        def pre():
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
        exe, env, model = copy_for_nobody(os.path.join(TMP, 'nobody'))
        args[args.index(TINY)] = model
        os.chmod(predict_data(), 0o644)
    else:
        os.chmod(d, 0o555)
        if os.access(d, os.W_OK):
            return 'SKIPPED: not root and read-only directories are writable here'
        pre, exe, env = None, None, None
    rc, _, err = run(args, preexec_fn=pre, exe=exe, env=env)
    os.chmod(d, 0o755)
    expect(rc == 1, 'exit %d, stderr %s' % (rc, err))
    expect(out in err and os.strerror(13) in err, 'stderr lacks path or EACCES text: %s' % err)
    expect(open(out).read() == 'old\n', 'the old file changed')
    expect(not leftovers(d), 'temporaries left: %s' % leftovers(d))
    return 'EACCES reported with the path'


def main():
    passed = failed = 0
    only = os.environ.get('TPA_TEST_ONLY')
    for fn in CASES:
        if only and only not in fn.__name__:
            continue
        t0 = time.time()
        try:
            note = fn()
            passed += 1
            print('PASS %s (%.1f s)%s' % (fn.__name__, time.time() - t0,
                                         ': ' + note if note else ''), flush=True)
        except Exception:
            failed += 1
            print('FAIL %s (%.1f s)' % (fn.__name__, time.time() - t0), flush=True)
            traceback.print_exc()
    print('%d passed, %d failed' % (passed, failed))
    if failed == 0:
        shutil.rmtree(TMP, ignore_errors=True)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
