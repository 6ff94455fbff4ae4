#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Reproduce the paper's tables with one command.
#
# usage: tools/reproduce.sh CHECKPOINT_DIR GLUE_DIR [OUT] [TPA RUN OPTIONS...]
#
# For every GLUE task folder present in GLUE_DIR (CoLA SST-2 MRPC STS-B QQP
# MNLI QNLI RTE WNLI; folders without train.tsv are skipped) it runs
# `tpa run` in the modes full, lora and tpa into OUT/TASK/MODE (default
# OUT: reproduce-out), then writes OUT/tables.md with one markdown table
# per paper table: 1 dev metric per task and mode; 2 inference parameters,
# peak memory and speed; 3 trainable parameters and share; 4 training time
# relative to full fine-tuning. Options after OUT (e.g. --epochs 30
# --threads 2) go to every `tpa run`. A run whose metrics.json exists is
# not repeated, and an interrupted one is resumed, so the script can simply
# be started again. The `tpa` used is $TPA, else `tpa` on PATH, else the
# build/ of this source tree.
set -euo pipefail

if [ $# -lt 2 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  sed -n '3,18p' "$0" | sed 's/^# \{0,1\}//'
  [ $# -ge 2 ] && exit 0 || exit 2
fi
ckpt=$1
glue=$2
shift 2
out=reproduce-out
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  out=$1
  shift
fi
here=$(cd "$(dirname "$0")/.." && pwd)
tpa=${TPA:-}
if [ -z "$tpa" ]; then
  if command -v tpa >/dev/null 2>&1; then tpa=$(command -v tpa); else tpa=$here/build/tools/tpa/tpa; fi
fi
[ -x "$tpa" ] || { echo "reproduce.sh: no tpa at $tpa (build first or set TPA)" >&2; exit 1; }
[ -d "$ckpt" ] || { echo "reproduce.sh: no checkpoint directory $ckpt" >&2; exit 2; }
[ -d "$glue" ] || { echo "reproduce.sh: no GLUE directory $glue" >&2; exit 2; }

mkdir -p "$out"
tasks=()
for task in CoLA SST-2 MRPC STS-B QQP MNLI QNLI RTE WNLI; do
  if [ -f "$glue/$task/train.tsv" ]; then tasks+=("$task"); else echo "reproduce.sh: skipping $task (no train.tsv)" >&2; fi
done
[ ${#tasks[@]} -gt 0 ] || { echo "reproduce.sh: no task folder with train.tsv in $glue" >&2; exit 1; }

for task in "${tasks[@]}"; do
  for mode in full lora tpa; do
    dir=$out/$task/$mode
    if [ -f "$dir/metrics.json" ]; then
      echo "== $task $mode: done before ($dir/metrics.json)" >&2
      continue
    fi
    resume=()
    [ -d "$dir" ] && resume=(--resume)
    echo "== $task $mode" >&2
    "$tpa" run --model "$ckpt" --task "$task" --data "$glue/$task" --out "$dir" --mode "$mode" \
      "${resume[@]}" "$@"
  done
done

python3 - "$out" "${tasks[@]}" >"$out/tables.md.tmp" <<'EOF'
import json, os, sys

out, tasks = sys.argv[1], sys.argv[2:]
modes = ['full', 'lora', 'tpa']


def metrics(task, mode):
    with open(os.path.join(out, task, mode, 'metrics.json')) as f:
        return json.load(f)


m = {(t, md): metrics(t, md) for t in tasks for md in modes}


def num(v, fmt):
    return '-' if v is None else fmt % v


def grouped(v):
    return '-' if v is None else '{:,}'.format(v)


print('# TPA reproduction: %s\n' % ', '.join(tasks))
print('Checkpoint `%s`; one `tpa run` per task and mode (metrics.json in %s/TASK/MODE).\n'
      % (m[(tasks[0], 'full')]['model'], out))

print('## Table 1: dev metric\n')
print('| task | metric | full | lora | tpa |\n|---|---|---|---|---|')
names = {'cola': 'Matthews', 'stsb': 'Pearson/Spearman mean', 'mrpc': 'acc/F1 mean',
         'qqp': 'acc/F1 mean'}
for t in tasks:
    task = m[(t, 'full')]['task']
    print('| %s | %s | %s |' % (t, names.get(task, 'accuracy'),
                                ' | '.join(num(m[(t, md)]['dev_metric'], '%.4f') for md in modes)))

print('\n## Table 2: inference parameters, peak memory and speed\n')
print('| task | model | parameters | heads | peak RSS in inference (MB) | sequences/s |'
      '\n|---|---|---|---|---|---|')
for t in tasks:
    o = m[(t, 'tpa')]['inference_original']
    print('| %s | unpruned | %s | %d | %s | %s |' % (t, grouped(o['params']), o['heads'],
          num(o['peak_rss_mb'], '%.1f'), num(o['sequences_per_second'], '%.1f')))
    for md in modes:
        f = m[(t, md)]['inference_final']
        print('| %s | %s | %s | %d | %s | %s |' % (t, md, grouped(f['params']), f['heads'],
              num(f['peak_rss_mb'], '%.1f'), num(f['sequences_per_second'], '%.1f')))

print('\n## Table 3: trainable parameters\n')
print('| task | mode | trainable parameters | share | peak RSS in training (MB) |'
      '\n|---|---|---|---|---|')
for t in tasks:
    for md in modes:
        x = m[(t, md)]
        share = x['trainable_share']
        print('| %s | %s | %s | %s | %s |' % (t, md, grouped(x['trainable_params']),
              num(None if share is None else 100 * share, '%.3f%%'),
              num(x['train_peak_rss_mb'], '%.1f')))

print('\n## Table 4: training time relative to full fine-tuning\n')
print('| task | full (s) | lora | tpa | tokens/s full | lora | tpa |\n|---|---|---|---|---|---|---|')
for t in tasks:
    base = m[(t, 'full')]['train_seconds']
    rel = [num(m[(t, md)]['train_seconds'] / base if base else None, '%.2f') for md in ('lora', 'tpa')]
    tps = [num(m[(t, md)]['train_tokens_per_second'], '%.0f') for md in modes]
    print('| %s | %s | %s | %s | %s |' % (t, num(base, '%.1f'), rel[0], rel[1], ' | '.join(tps)))
EOF
mv "$out/tables.md.tmp" "$out/tables.md"
echo "reproduce.sh: wrote $out/tables.md" >&2
cat "$out/tables.md"
