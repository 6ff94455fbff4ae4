# SPDX-License-Identifier: Apache-2.0
"""The hostile-input manifest (cases.tsv) through the `tpa` command.

    python3 test_hostile_cli.py TPA_EXECUTABLE

For every row, the `tpa` subcommands that read that kind of input run on
it (env TPA_HOSTILE_DIR = tests/hostile, TPA_FIXTURES = tests/fixtures).
A failing case must exit with status 1 (not a signal, not a usage error),
print the row's message substring on standard error, and leave nothing in
its scratch output directory: neither the output file nor a temporary
file. A TPA_OK row must exit 0 and write its output; a model directory
with reference.tsv must predict its reference logits (plain-Python BERT,
tests/cli/tpa_model_gen.py) within 1e-4.

Commands by kind: model files and directories: `tpa info DIR` and
`tpa predict --model DIR ... --out FILE`; glue:TASK: `tpa predict`,
`tpa tokenize --out FILE` and `tpa train --out DIR` (the file as
train.tsv) with tests/fixtures/tiny; seq:TASK:N: the same
with the mini model and --max-seq-length N (none for 0); adapter,
adapter_weights: `tpa merge --out DIR`; importance: `tpa prune --out
DIR`; plan: no command reads a plan file (API only, counted as skipped);
csv, jsonl (tables of one's own, no --task): `tpa predict`, `tpa eval` and
`tpa train --data FILE --max-steps 1` with tests/fixtures/tiny, with
--regression and --text-column as the row's flags say (cases.tsv).
"""
import os
import shutil
import subprocess
import sys
import tempfile

TPA = sys.argv[1]
HOSTILE = os.environ['TPA_HOSTILE_DIR']
TINY = os.path.join(os.environ['TPA_FIXTURES'], 'tiny')
MINI = os.path.join(HOSTILE, 'corpus', 'model', 'mini')
MINI_DATA = os.path.join(HOSTILE, 'corpus', 'mini-data.tsv')
GOOD_TSV = os.path.join(HOSTILE, 'corpus', 'glue', 'sst2-ok.tsv')
GOOD_ADAPTER = os.path.join(HOSTILE, 'corpus', 'adapter', 'good')
MODEL_FILE = {'safetensors': 'model.safetensors', 'config': 'config.json',
              'vocab': 'vocab.txt', 'tokenizer_config': 'tokenizer_config.json'}
MODEL_FILES = ['config.json', 'model.safetensors', 'vocab.txt', 'tokenizer_config.json']
ADAPTER_FILE = {'adapter': 'adapter_config.json', 'adapter_weights': 'adapter_model.safetensors'}


def read_manifest():
    rows = []
    with open(os.path.join(HOSTILE, 'cases.tsv'), encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip('\r\n')
            if not line or line.startswith('#'):
                continue
            cols = line.split('\t')
            if len(cols) != 5:
                raise SystemExit('cases.tsv:%d: %d columns, want 5' % (lineno, len(cols)))
            rows.append(dict(zip(('name', 'kind', 'path', 'status', 'substr'), cols),
                             line=lineno))
    return rows


def scratch_with(src_dir, files, replace, with_path, tmp):
    """tmp/in: symlinks to src_dir's files, except `replace`, a copy of with_path."""
    d = os.path.join(tmp, 'in')
    os.mkdir(d)
    for name in files:
        if name == replace:
            shutil.copyfile(with_path, os.path.join(d, name))
        else:
            os.symlink(os.path.join(src_dir, name), os.path.join(d, name))
    return d


def read_reference(path):
    ref = {}
    with open(path) as f:
        for line in f:
            cols = line.split('\t')
            ref[int(cols[0])] = [float(x) for x in cols[1:]]
    return ref


def commands(row, tmp):
    """[(argv, output path or None, check(output) or None[, must pass])] for a row.

    A fourth element True marks a command that must succeed even in a
    failing row (predict of a table whose labels are bad)."""
    kind, path = row['kind'], os.path.join(HOSTILE, row['path'])
    out = os.path.join(tmp, 'out')
    os.mkdir(out)
    if kind in MODEL_FILE or kind == 'model':
        d = path if kind == 'model' else scratch_with(TINY, MODEL_FILES, MODEL_FILE[kind], path,
                                                      tmp)
        ref_path = os.path.join(d, 'reference.tsv')
        check, data = None, GOOD_TSV
        if os.path.exists(ref_path):
            data, ref = MINI_DATA, read_reference(ref_path)

            def check(pred_file):
                with open(pred_file) as f:
                    got = [line.split('\t') for line in f.read().splitlines()]
                errs = [i for i in ref if any(abs(float(g) - r) > 1e-4
                                              for g, r in zip(got[i][1:], ref[i]))]
                return 'logits differ from reference.tsv in rows %s' % errs if errs else None
        pred = os.path.join(out, 'pred.tsv')
        return [(['info', d], None, None),
                (['predict', '--model', d, '--task', 'sst2', '--data', data, '--out', pred],
                 pred, check)]
    if kind.startswith('glue:') or kind.startswith('seq:'):
        parts = kind.split(':')
        task, model = parts[1], TINY if kind.startswith('glue:') else MINI
        extra = ['--max-seq-length', parts[2]] if len(parts) > 2 and parts[2] != '0' else []
        common = ['--model', model, '--task', task, '--data', path] + extra
        pred, tok = os.path.join(out, 'pred.tsv'), os.path.join(out, 'tokens.jsonl')
        cmds = [(['predict'] + common + ['--out', pred], pred, None),
                (['tokenize'] + common + ['--out', tok], tok, None)]
        if kind.startswith('glue:'):
            # tpa train reads DIR/train.tsv (no dev file: no evaluation).
            data = os.path.join(tmp, 'data')
            os.mkdir(data)
            shutil.copyfile(path, os.path.join(data, 'train.tsv'))
            trained = os.path.join(out, 'train')
            cmds.append((['train', '--model', model, '--task', task, '--data', data, '--out',
                          trained, '--max-steps', '1', '--quiet'],
                         os.path.join(trained, 'metrics.json'), None))
        return cmds
    if kind in ADAPTER_FILE:
        d = scratch_with(GOOD_ADAPTER, sorted(ADAPTER_FILE.values()), ADAPTER_FILE[kind], path,
                         tmp)
        data = os.path.join(tmp, 'data')
        os.mkdir(data)
        shutil.copyfile(GOOD_TSV, os.path.join(data, 'train.tsv'))
        merged, trained = os.path.join(out, 'merged'), os.path.join(out, 'train')
        return [(['merge', '--model', TINY, '--adapter', d, '--out', merged], merged, None),
                (['train', '--model', TINY, '--task', 'sst2', '--data', data, '--out', trained,
                  '--init-adapter', d, '--max-steps', '1', '--quiet'],
                 os.path.join(trained, 'metrics.json'), None)]
    if kind == 'importance':
        pruned = os.path.join(out, 'pruned')
        return [(['prune', '--model', TINY, '--importance', path, '--out', pruned], pruned,
                 None)]
    if kind == 'plan':
        return []
    table, _, flag_text = kind.partition(':')
    if table in ('csv', 'jsonl'):
        # Flags (cases.tsv): regression, text=C, labels (the failure is in
        # the labels: predict, which reads none, succeeds), discovered
        # (about the classes found in the data: eval, which takes the
        # model's classes, is not run).
        flags = [f for f in flag_text.split(',') if f]
        text = [f for f in flags if f.startswith('text=')]
        cols = ['--text-column', text[0][5:]] if text else []
        reg = ['--regression'] if 'regression' in flags else []
        labels_only = 'labels' in flags
        # The output of a predict that must succeed goes outside out/, which
        # the failing commands must leave empty.
        pred = os.path.join(tmp if labels_only else out, 'pred.tsv')
        trained = os.path.join(out, 'train')
        cmds = [(['predict', '--model', TINY, '--data', path, '--out', pred] + cols, pred, None,
                 labels_only)]
        if 'discovered' not in flags:
            cmds.append((['eval', '--model', TINY, '--data', path] + cols + reg, None, None))
        cmds.append((['train', '--model', TINY, '--data', path, '--out', trained,
                      '--max-steps', '1', '--quiet'] + cols + reg,
                     os.path.join(trained, 'metrics.json'), None))
        return cmds
    raise SystemExit('cases.tsv:%d: unknown kind %s' % (row['line'], kind))


def run_row(row):
    """Error strings for one row ([] when it passes); None when skipped."""
    errors = []
    tmp = tempfile.mkdtemp(prefix='tpa-hostile-')
    try:
        cmds = commands(row, tmp)
        if not cmds:
            return None
        for argv, output, check, *must_pass in cmds:
            what = '%s: tpa %s' % (row['name'], argv[0])
            want_ok = row['status'] == 'TPA_OK' or (must_pass and must_pass[0])
            substr = row['substr']
            if argv[0] == 'train' and row['kind'].startswith('glue:'):
                # The case file was copied to DIR/train.tsv.
                substr = substr.replace(os.path.basename(row['path']), 'train.tsv')
            p = subprocess.run([TPA] + argv, stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=120)
            err = p.stderr.decode('utf-8', 'replace')
            if p.returncode < 0:
                errors.append('%s: killed by signal %d' % (what, -p.returncode))
                continue
            if want_ok:
                if p.returncode != 0:
                    errors.append('%s: exit %d, want 0; stderr: %s' % (what, p.returncode,
                                                                       err.strip()))
                elif output and not os.path.exists(output):
                    errors.append('%s: %s was not written' % (what, output))
                elif check:
                    problem = check(output)
                    if problem:
                        errors.append('%s: %s' % (what, problem))
                continue
            if p.returncode != 1:
                errors.append('%s: exit %d, want 1; stderr: %s' % (what, p.returncode,
                                                                   err.strip()))
            if substr not in err:
                errors.append('%s: stderr lacks "%s": %s' % (what, substr, err.strip()))
            left = os.listdir(os.path.join(tmp, 'out'))
            if left:
                errors.append('%s: wrote %s although it failed' % (what, left))
    finally:
        shutil.rmtree(tmp)
    return errors


def main():
    rows = read_manifest()
    failed = skipped = ran = 0
    for row in rows:
        errors = run_row(row)
        if errors is None:
            skipped += 1
            print('SKIP %s (no tpa command reads kind %s)' % (row['name'], row['kind']))
            continue
        ran += 1
        if errors:
            failed += 1
            for e in errors:
                print('FAIL %s (cases.tsv:%d): %s' % (row['name'], row['line'], e))
        else:
            print('ok   %s' % row['name'])
    print('%d cases: %d passed, %d failed, %d skipped' % (len(rows), ran - failed, failed,
                                                         skipped))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
