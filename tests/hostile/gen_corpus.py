# SPDX-License-Identifier: Apache-2.0
"""Write the hostile-input corpus of tests/hostile/ deterministically.

    python3 tests/hostile/gen_corpus.py

rewrites tests/hostile/corpus/ (the outputs are committed; run it again
after changing a case and commit the result). Standard library only;
libtpa is not used. Every case is described by one line of cases.tsv that
points at one file or directory written here.

Single files (placed by the tests next to good copies of the other files
of tests/fixtures/tiny, or loaded on their own):
  st/      model.safetensors variants     cfg/  config.json variants
  vocab/   vocab.txt variants             tok/  tokenizer_config.json
  glue/    GLUE TSV files                 adapter/, importance/, plan/
  table/   CSV and JSON Lines tables of one's own
Whole model directories (kind "model"), built on a mini BERT (hidden 4,
2 heads, 2 layers, 8 positions, 10 tokens) written by
tests/cli/tpa_model_gen.py, whose plain-Python forward pass also gives
each OK model's reference logits (reference.tsv) on mini-data.tsv.
"""
import json
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'corpus')
sys.path.insert(0, os.path.join(HERE, '..', 'cli'))
from tpa_model_gen import TinyBert  # noqa: E402

MINI_VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'a', 'b', 'c', 'd', 'e']
# sst2 rows of the mini data file; the last is longer than the 8 positions.
MINI_ROWS = [('a b c', 1), ('e d', 0), ('a e', 1),
             (' '.join('abcde'[i % 5] for i in range(200)), 0)]


def write(rel, data):
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data.encode('utf-8') if isinstance(data, str) else data)


def jdump(obj):
    return json.dumps(obj, indent=1) + '\n'


def st_file(header, data=b'', hlen=None, pad=True):
    """A safetensors image: header given as a dict (dumped) or raw bytes."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    if pad:
        text += b' ' * (-len(text) % 8)
    return struct.pack('<Q', len(text) if hlen is None else hlen) + text + data


def f32(n, v=0.25):
    return struct.pack('<%df' % n, *([v] * n))


# ---------------------------------------------------------------- safetensors

def gen_safetensors():
    one = {'x': {'dtype': 'F32', 'shape': [2], 'data_offsets': [0, 8]}}
    write('st/hlen-2p63.safetensors', st_file(one, f32(2), hlen=1 << 63))
    write('st/hlen-past-eof.safetensors', st_file(one, f32(2), hlen=4096))
    write('st/hlen-zero.safetensors', st_file(b'', b'{}', hlen=0))
    write('st/not-json.safetensors', st_file(b'{"x": {"dtype": "F32", shape', f32(2)))
    write('st/not-object.safetensors', st_file(b'[1, 2, 3]', f32(2)))
    write('st/entry-not-object.safetensors', st_file({'x': 5}))
    write('st/dtype-not-string.safetensors',
          st_file({'x': {'dtype': 4, 'shape': [2], 'data_offsets': [0, 8]}}, f32(2)))
    write('st/shape-not-array.safetensors',
          st_file({'x': {'dtype': 'F32', 'shape': '2', 'data_offsets': [0, 8]}}, f32(2)))
    write('st/shape-negative.safetensors',
          st_file({'x': {'dtype': 'F32', 'shape': [-2], 'data_offsets': [0, 8]}}, f32(2)))
    write('st/offsets-wrong-type.safetensors',
          st_file({'x': {'dtype': 'F32', 'shape': [2], 'data_offsets': [0, '8']}}, f32(2)))
    write('st/offsets-one-value.safetensors',
          st_file({'x': {'dtype': 'F32', 'shape': [2], 'data_offsets': [8]}}, f32(2)))
    write('st/metadata-not-object.safetensors',
          st_file({'__metadata__': 'pt', 'x': one['x']}, f32(2)))
    write('st/too-many-dims.safetensors',
          st_file({'x': {'dtype': 'F32', 'shape': [1] * 9, 'data_offsets': [0, 4]}}, f32(1)))
    # Offsets: past the end (not packed), truncated (packed), overlap, order.
    write('st/offsets-past-eof.safetensors',
          st_file({'x': {'dtype': 'F32', 'shape': [2], 'data_offsets': [64, 72]}}, f32(2)))
    write('st/offsets-huge.safetensors',
          st_file({'x': {'dtype': 'F32', 'shape': [2],
                         'data_offsets': [(1 << 62) - 8, (1 << 62)]}}, f32(2)))
    write('st/truncated-data.safetensors',
          st_file({'x': {'dtype': 'F32', 'shape': [4], 'data_offsets': [0, 16]}}, f32(2)))
    write('st/overlap.safetensors',
          st_file({'x': {'dtype': 'F32', 'shape': [2], 'data_offsets': [0, 8]},
                   'y': {'dtype': 'F32', 'shape': [2], 'data_offsets': [4, 12]}}, f32(3)))
    write('st/begin-after-end.safetensors',
          st_file({'x': {'dtype': 'F32', 'shape': [0], 'data_offsets': [8, 0]}}, f32(2)))
    write('st/size-mismatch.safetensors',
          st_file({'x': {'dtype': 'F32', 'shape': [3], 'data_offsets': [0, 8]}}, f32(2)))
    # Shape products: elements overflow, bytes overflow.
    write('st/shape-overflow.safetensors',
          st_file({'x': {'dtype': 'F32', 'shape': [1 << 40, 1 << 40], 'data_offsets': [0, 8]}},
                  f32(2)))
    write('st/bytes-overflow.safetensors',
          st_file({'x': {'dtype': 'F32', 'shape': [1 << 62], 'data_offsets': [0, 8]}}, f32(2)))
    write('st/unknown-dtype.safetensors',
          st_file({'x': {'dtype': 'F31', 'shape': [2], 'data_offsets': [0, 8]}}, f32(2)))
    # Duplicated names: json.dumps cannot write them, so write the text.
    write('st/duplicate-names.safetensors',
          st_file(b'{"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, '
                  b'"x": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}', f32(4)))
    write('st/nul-in-name.safetensors',
          st_file(b'{"a\\u0000b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}',
                  f32(2)))
    write('st/deep-nesting.safetensors',
          st_file(b'{"x": ' + b'[' * 5000 + b']' * 5000 + b'}'))
    write('st/empty.safetensors', b'')
    write('st/short.safetensors', b'\x10\x00\x00\x00\x00')
    # A valid file without any of the model's tensors.
    write('st/no-tensors.safetensors', st_file({'__metadata__': {'format': 'pt'}}))


# ---------------------------------------------------------------- config.json

def tiny_config():
    with open(os.path.join(HERE, '..', 'fixtures', 'tiny', 'config.json')) as f:
        return json.load(f)


def gen_configs():
    base = tiny_config()

    def cfg(name, **changes):
        c = dict(base)
        for k, v in changes.items():
            if v is None:
                c.pop(k, None)
            else:
                c[k] = v
        write('cfg/%s.json' % name, jdump(c))

    cfg('ok')
    write('cfg/not-json.json', '{"hidden_size": 96,\n  "num_hidden_layers": }\n')
    write('cfg/array.json', '[96, 3, 6]\n')
    write('cfg/empty.json', '')
    cfg('hidden-negative', hidden_size=-1)
    cfg('hidden-huge', hidden_size=10 ** 12)
    cfg('hidden-real', hidden_size=1e12)
    cfg('hidden-string', hidden_size='96')
    text = jdump(dict(base)).replace('"hidden_size": 96', '"hidden_size": 9223372036854775808')
    write('cfg/hidden-2p63.json', text)
    cfg('layers-huge', num_hidden_layers=10 ** 6)
    cfg('layers-zero', num_hidden_layers=0)
    cfg('vocab-zero', vocab_size=0)
    cfg('heads-zero', num_attention_heads=0)
    cfg('heads-not-dividing', num_attention_heads=7)
    cfg('max-pos-huge', max_position_embeddings=1 << 40)
    cfg('max-pos-mismatch', max_position_embeddings=128)
    q = {'quant_method': 'libtpa_int8', 'bits': 8, 'activations': 'dynamic'}
    cfg('int8-unknown-method', quantization_config=dict(q, quant_method='bitsandbytes'))
    cfg('int8-bits-4', quantization_config=dict(q, bits=4))
    cfg('int8-no-activations', quantization_config=dict(q, activations=None))
    cfg('int8-not-object', quantization_config='int8')
    # A valid quantization_config over the tiny fixture's F32 weights.
    cfg('int8-f32-weights', quantization_config=q)
    cfg('eps-negative', layer_norm_eps=-1e-12)
    cfg('dropout-two', hidden_dropout_prob=2.0)
    # libtpa's per-layer widths (tiny: 3 layers, intermediate 200).
    cfg('inter-sizes-count', intermediate_sizes=[200, 100])
    cfg('inter-sizes-wide', intermediate_sizes=[200, 300, 100])
    cfg('inter-sizes-narrow', intermediate_sizes=[150, 100, 100])
    cfg('inter-sizes-zero', intermediate_sizes=[200, 0, 100])
    cfg('hidden-act-relu', hidden_act='relu')
    cfg('num-labels-zero', id2label=None, label2id=None, num_labels=0)
    cfg('id2label-bad-key', id2label={'0': 'a', 'one': 'b'})
    cfg('pruned-not-object', pruned_heads=[0, 1])
    cfg('pruned-layer-out-of-range', pruned_heads={'3': [0]})
    cfg('pruned-layer-negative', pruned_heads={'-1': [0]})
    cfg('pruned-layer-not-number', pruned_heads={'first': [0]})
    cfg('pruned-head-out-of-range', pruned_heads={'1': [6]})
    cfg('pruned-head-negative', pruned_heads={'1': [-1]})
    cfg('pruned-head-not-integer', pruned_heads={'1': [1.5]})
    cfg('pruned-heads-not-array', pruned_heads={'1': 2})
    cfg('pruned-duplicate-head', pruned_heads={'2': [4, 1, 4]})
    # A repeated key: the last value wins, as with Python's json (HF).
    write('cfg/duplicate-key.json', jdump(base).replace('{', '{\n "hidden_size": 48,', 1))
    # Valid pruned_heads, but the weights have every head: shapes differ.
    cfg('pruned-weights-full', pruned_heads={'0': [1]})


# ---------------------------------------------------------------- vocab.txt

def gen_vocabs():
    specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
    words = ['the', 'a', 'movie', 'good', '##s']
    write('vocab/ok-no-mask.txt', '\n'.join(specials[:4] + words) + '\n')
    write('vocab/duplicate-token.txt', '\n'.join(specials + words + ['movie']) + '\n')
    write('vocab/no-cls.txt', '\n'.join([s for s in specials if s != '[CLS]'] + words) + '\n')
    write('vocab/no-specials.txt', '\n'.join(words) + '\n')
    write('vocab/empty.txt', '')
    write('vocab/non-utf8.txt', ('\n'.join(specials + words) + '\n').encode() + b'caf\xe9\n')
    write('vocab/nul-byte.txt', ('\n'.join(specials + words) + '\n').encode() + b'a\x00b\n')
    write('vocab/too-many-tokens.txt',
          '\n'.join(specials + ['w%d' % i for i in range(600)]) + '\n')


def gen_tokenizer_configs():
    write('tok/ok-cased.json', jdump({'do_lower_case': False}))
    write('tok/not-json.json', '{"do_lower_case": tru\n')
    write('tok/array.json', '[true]\n')
    write('tok/lower-case-string.json', jdump({'do_lower_case': 'yes'}))
    write('tok/lower-case-number.json', jdump({'do_lower_case': 1}))
    write('tok/duplicate-key.json', '{"do_lower_case": true, "do_lower_case": false}\n')


# ---------------------------------------------------------------- GLUE TSV

def gen_glue():
    sst2 = 'sentence\tlabel\n'
    rte = 'index\tsentence1\tsentence2\tlabel\n'
    write('glue/sst2-ok.tsv', sst2 + 'a good movie\t1\nthe movie\t0\n')
    write('glue/sst2-missing-column.tsv', sst2 + 'a good movie\t1\nno label here\n')
    write('glue/sst2-extra-columns.tsv', sst2 + 'a good movie\t1\textra\tmore\n')
    write('glue/sst2-non-utf8.tsv', (sst2 + 'a good movie\t1\n').encode() + b'caf\xe9 bad\t0\n')
    write('glue/sst2-overlong-utf8.tsv', (sst2).encode() + b'\xc0\xaf slash\t0\n')
    write('glue/sst2-unknown-label.tsv', sst2 + 'a good movie\t1\nthe movie\tpositive\n')
    write('glue/sst2-empty.tsv', '')
    write('glue/sst2-header-only.tsv', sst2)
    write('glue/sst2-nul-byte.tsv', (sst2 + 'a good movie\t1\n').encode() + b'the\x00movie\t0\n')
    write('glue/sst2-crlf.tsv', sst2.replace('\n', '\r\n') + 'a good movie\t1\r\nthe movie\t0\r\n')
    write('glue/sst2-blank-line.tsv', sst2 + 'a good movie\t1\n\nthe movie\t0\n')
    write('glue/sst2-very-long-line.tsv',
          sst2 + ' '.join(['movie'] * 7000) + '\t1\nthe movie\t0\n')
    write('glue/sst2-bad-gzip.tsv.gz', b'\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03' + b'\xff' * 20)
    write('glue/cola-missing-column.tsv', 'gj04\t1\t\tFine.\ngj04\t1\n')
    write('glue/rte-unknown-label.tsv', rte + '0\tA dog runs.\tAn animal moves.\tmaybe\n')
    write('glue/rte-missing-column.tsv', rte + '0\tA dog runs.\tentailment\n')
    write('glue/mnli-unknown-label.tsv',
          'index\tpromptID\tpairID\tgenre\ts1bp\ts2bp\ts1p\ts2p\tsentence1\tsentence2\t'
          'label1\tgold_label\n'
          '0\t1\t1n\tfiction\t(x)\t(y)\t(x)\t(y)\tA man.\tA person.\tneutral\tunsure\n')
    stsb = ('index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\t'
            'sentence2\tscore\n')
    row = '0\tg\tf\t2012\t0001\tnone\tnone\tA man.\tA person.\t%s\n'
    write('glue/stsb-score-nan.tsv', stsb + row % 'nan')
    write('glue/stsb-score-too-high.tsv', stsb + row % '5.5')
    write('glue/qqp-missing-column.tsv', 'id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n'
          '0\t1\t2\tWhy?\tHow?\n')


# ---------------------------------------------------------------- own tables

def gen_tables():
    """CSV and JSON Lines tables of one's own (tpa_dataset_load_table)."""
    write('table/ok.csv', '\ufefftext,label\r\n'
          '"a good movie, really",1\r\n'
          '"the ""worst"" film",0\r\n'
          '"two\nlines",1\r\n'
          'plain text,0\r\n'
          'caf\u00e9 cr\u00e8me,1\r\n'
          'bad,0\r\n')
    write('table/ok.jsonl', '{"text": "a good movie", "label": 1, "meta": {"id": [1, 2]}}\n'
          '{"text": "caf\\u00e9 \\"quoted\\" \\ud83d\\ude00", "label": 0}\n'
          '\n'
          '{"label": "1", "text": "the movie", "extra": null}\n'
          '{"text": "bad", "label": "0", "score": -1.5e2, "ok": true}\r\n'
          '{"text": 42, "label": 1}\n'
          '{"text": "worse", "label": 0}\n')
    head = 'text,label\na good movie,1\n'
    write('table/ragged.csv', head + 'the movie,0,extra\n')
    write('table/unterminated-quote.csv', head + '"the movie,0\nmore,1\n')
    write('table/text-after-quote.csv', head + '"the" movie,0\n')
    write('table/duplicate-header.csv', 'text,label,text\na,1,b\nc,0,d\n')
    write('table/empty-text.csv', head + '"",0\n')
    write('table/non-utf8.csv', head.encode() + b'caf\xe9 bad,0\n')
    write('table/nul-byte.csv', head.encode() + b'the\x00movie,0\n')
    write('table/regression-not-finite.csv', 'text,label\na good movie,0.5\nthe movie,1e999\n')
    write('table/single-class.csv', 'text,label\na good movie,pos\nthe movie,pos\n')
    write('table/no-such-column.csv', head + 'the movie,0\n')
    first = '{"text": "a good movie", "label": 1}\n'
    write('table/not-object.jsonl', first + '["the movie", 0]\n')
    write('table/null-text.jsonl', first + '{"text": null, "label": 0}\n')
    write('table/array-label.jsonl', first + '{"text": "the movie", "label": [0]}\n')
    write('table/missing-key.jsonl', first + '\n{"label": 0}\n')


# ---------------------------------------------------------------- mini models

def mini_model(**kw):
    m = TinyBert(len(MINI_VOCAB), hidden=4, layers=2, heads=2, intermediate=6,
                 max_positions=8, seed=7, **kw)
    for name, (shape, flat) in m.t.items():
        if not flat and len(shape) == 1 and name.endswith('.weight'):
            m.t[name] = ([0, m.hidden], flat)  # a layer without heads: [0, hidden]
    return m


def mini_ids(text):
    ids = [2] + [MINI_VOCAB.index(w) for w in text.split()] + [3]
    if len(ids) > 8:  # truncated to max_position_embeddings, [SEP] kept
        ids = ids[:7] + [3]
    return ids


def save_model(name, m, reference=True, write_st=None):
    d = os.path.join(OUT, name)
    m.save(d, [t + '\n' for t in MINI_VOCAB])
    if write_st:
        write_st(os.path.join(d, 'model.safetensors'), m)
    if reference:
        lines = []
        for i, (text, _) in enumerate(MINI_ROWS):
            ids = mini_ids(text)
            logits = m.logits(ids, [0] * len(ids))
            lines.append('%d\t%s\n' % (i, '\t'.join(repr(x) for x in logits)))
        write(name + '/reference.tsv', ''.join(lines))


def write_unaligned(path, m, dtype='F32', fmt='f'):
    """Every tensor one byte past an aligned offset (HF allows it)."""
    header, blobs, offset = {'__metadata__': {'format': 'pt'}}, [], 1
    for name in sorted(m.t):
        shape, flat = m.t[name]
        data = struct.pack('<%d%s' % (len(flat), fmt), *flat)
        header[name] = {'dtype': dtype, 'shape': shape,
                        'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    with open(path, 'wb') as f:
        f.write(st_file(header, b'\x00' + b''.join(blobs)))


def f16_mini_model():
    """The mini model with every weight rounded to float16."""
    m = mini_model()
    for name, (shape, flat) in m.t.items():
        m.t[name] = (shape, list(struct.unpack('<%de' % len(flat),
                                               struct.pack('<%de' % len(flat), *flat))))
    return m


def write_i64_embeddings(path, m):
    """The word embeddings stored as I64 with the right shape."""
    header, blobs, offset = {}, [], 0
    for name in sorted(m.t):
        shape, flat = m.t[name]
        if name == 'bert.embeddings.word_embeddings.weight':
            data, dtype = struct.pack('<%dq' % len(flat), *([1] * len(flat))), 'I64'
        else:
            data, dtype = struct.pack('<%df' % len(flat), *flat), 'F32'
        header[name] = {'dtype': dtype, 'shape': shape,
                        'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    with open(path, 'wb') as f:
        f.write(st_file(header, b''.join(blobs)))


INT8_LINEARS = ('attention.self.query.weight', 'attention.self.key.weight',
                'attention.self.value.weight', 'attention.output.dense.weight',
                'intermediate.dense.weight', 'output.dense.weight')


def write_int8(path, m, edit=None, static=False):
    """The mini model as libtpa's int8 format stores it (docs/quantization.md):
    block Linear weights I8 in -63..63 and the word embeddings I8 in
    -127..127, each with an F32 "<name>_scale" per row (max|row| / Q, codes
    rint(w / scale)); with @p static an F32 [1] "input_scale" per block
    Linear. @p edit breaks one thing."""
    header, blobs, offset = {'__metadata__': {'format': 'pt'}}, [], 0

    def put(name, dtype, shape, data):
        nonlocal offset
        header[name] = {'dtype': dtype, 'shape': shape,
                        'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)

    for name in sorted(m.t):
        shape, flat = m.t[name]
        linear = name.startswith('bert.encoder.') and name.endswith(INT8_LINEARS)
        if not linear and name != 'bert.embeddings.word_embeddings.weight':
            put(name, 'F32', shape, struct.pack('<%df' % len(flat), *flat))
            continue
        q = 63 if linear else 127
        rows, cols = shape
        codes, scales = [], []
        for r in range(rows):
            row = flat[r * cols:(r + 1) * cols]
            amax = max(abs(v) for v in row) if row else 0.0
            sc = struct.unpack('<f', struct.pack('<f', amax / q if amax > 0 else 1.0))[0]
            scales.append(sc)
            codes += [max(-q, min(q, round(v / sc))) for v in row]
        tag = name.split('encoder.layer.')[-1]
        if edit == ('code', tag):
            codes[0] = 64
        if edit == ('scale-zero', tag):
            scales[0] = 0.0
        if edit == ('f32', tag):
            put(name, 'F32', shape, struct.pack('<%df' % len(flat), *flat))
        else:
            put(name, 'I8', shape, struct.pack('<%db' % len(codes), *codes))
        if edit == ('scale-shape', tag):
            scales = scales[:-1]
        if edit != ('drop-scale', tag):
            put(name + '_scale', 'F32', [len(scales)], struct.pack('<%df' % len(scales), *scales))
        if static and linear:
            v = float('nan') if edit == ('input-nan', tag) else 0.05
            put(name[:-len('weight')] + 'input_scale', 'F32', [1], struct.pack('<f', v))
    with open(path, 'wb') as f:
        f.write(st_file(header, b''.join(blobs)))


def save_int8(name, edit=None, static=False):
    """An int8 mini model directory: the config gains quantization_config."""
    save_model(name, mini_model(), reference=False,
               write_st=lambda path, m: write_int8(path, m, edit, static))
    cpath = os.path.join(OUT, name, 'config.json')
    with open(cpath) as f:
        c = json.load(f)
    c['quantization_config'] = {'quant_method': 'libtpa_int8', 'bits': 8,
                                'weights': 'symmetric_per_channel',
                                'activations': 'static' if static else 'dynamic'}
    write(name + '/config.json', jdump(c))


def gen_models():
    write('mini-data.tsv', 'sentence\tlabel\n' +
          ''.join('%s\t%d\n' % (t, y) for t, y in MINI_ROWS))
    save_model('model/mini', mini_model())
    save_model('model/mini-unaligned', mini_model(), write_st=write_unaligned)
    save_model('model/mini-f16-unaligned', f16_mini_model(),
               write_st=lambda path, m: write_unaligned(path, m, 'F16', 'e'))
    save_model('model/mini-all-heads-pruned', mini_model(pruned={0: [0, 1]}))
    save_model('model/mini-i64-embeddings', mini_model(), reference=False,
               write_st=write_i64_embeddings)
    save_int8('model/mini-int8-scale-zero', ('scale-zero', '1.attention.self.key.weight'))
    save_int8('model/mini-int8-input-scale-nan', ('input-nan', '0.intermediate.dense.weight'),
              static=True)
    save_int8('model/mini-int8-missing-scale', ('drop-scale', '1.output.dense.weight'))
    save_int8('model/mini-int8-scale-shape', ('scale-shape', '0.attention.self.value.weight'))
    save_int8('model/mini-int8-code-range', ('code', '1.intermediate.dense.weight'))
    save_int8('model/mini-int8-f32-weight', ('f32', '0.attention.output.dense.weight'))


# ---------------------------------------------------------------- adapters

def gen_adapters():
    good = {'peft_type': 'LORA', 'task_type': 'SEQ_CLS', 'r': 4, 'lora_alpha': 8,
            'target_modules': ['query'], 'bias': 'none', 'lora_dropout': 0.0}
    pre = 'base_model.model.bert.encoder.layer.0.attention.self.query.'
    a, b = 4 * 96, 96 * 4
    tensors = {pre + 'lora_A.weight': ([4, 96], f32(a, 0.01)),
               pre + 'lora_B.weight': ([96, 4], f32(b, 0.0))}

    def weights(ts):
        header, data = {'__metadata__': {'format': 'pt'}}, b''
        for name in sorted(ts):
            shape, blob = ts[name]
            header[name] = {'dtype': 'F32', 'shape': shape,
                            'data_offsets': [len(data), len(data) + len(blob)]}
            data += blob
        return st_file(header, data)

    write('adapter/good/adapter_config.json', jdump(good))
    write('adapter/good/adapter_model.safetensors', weights(tensors))

    def conf(name, **changes):
        c = dict(good)
        c.update(changes)
        write('adapter/%s.json' % name, jdump(c))

    conf('r-zero', r=0)
    conf('r-negative', r=-4)
    conf('r-huge', r=1 << 40)
    conf('r-string', r='4')
    conf('alpha-negative', lora_alpha=-8)
    conf('alpha-string', lora_alpha='8')
    conf('target-unknown', target_modules=['query', 'frobnicator'])
    conf('target-pooler', target_modules=['query', 'pooler.dense'])
    conf('target-not-list', target_modules=5)
    conf('peft-type-prefix', peft_type='PREFIX_TUNING')
    conf('use-dora', use_dora=True)
    write('adapter/alpha-nan.json', jdump(good).replace('"lora_alpha": 8', '"lora_alpha": NaN'))
    write('adapter/alpha-1e400.json',
          jdump(good).replace('"lora_alpha": 8', '"lora_alpha": 1e400'))
    write('adapter/not-json.json', '{"peft_type": "LORA", \n')
    # Weights: a LoRA on a module libtpa cannot adapt, a lone A, a bad rank.
    pooler = dict(tensors)
    pooler['base_model.model.bert.pooler.dense.lora_A.weight'] = ([4, 96], f32(a))
    pooler['base_model.model.bert.pooler.dense.lora_B.weight'] = ([96, 4], f32(a))
    write('adapter/weights-pooler.safetensors', weights(pooler))
    write('adapter/weights-lone-a.safetensors', weights({pre + 'lora_A.weight': tensors[
        pre + 'lora_A.weight']}))
    write('adapter/weights-rank-mismatch.safetensors',
          weights({pre + 'lora_A.weight': ([2, 96], f32(192)),
                   pre + 'lora_B.weight': ([96, 2], f32(192))}))
    write('adapter/weights-layer-out-of-range.safetensors',
          weights({k.replace('layer.0.', 'layer.7.'): v for k, v in tensors.items()}))


# ---------------------------------------------------------------- importance, plans

def gen_importance_and_plans():
    L, H = 3, 6
    raw = [[0.01 * (1 + ((l * H + h) * 7) % 11) for h in range(H)] for l in range(L)]
    norm = []
    for row in raw:
        n = sum(x * x for x in row) ** 0.5 + 1e-20
        norm.append([x / n for x in row])
    good = {'layers': L, 'heads': H, 'examples': 10, 'tokens': 100, 'raw': raw,
            'normalized': norm, 'blocks': [sum(r) for r in raw]}
    write('importance/ok.json', jdump(good))

    def imp(name, text=None, **changes):
        c = dict(good)
        c.update(changes)
        write('importance/%s.json' % name, text if text is not None else jdump(c))

    imp('raw-row-short', raw=[r[:5] for r in raw])
    imp('raw-rows-missing', raw=raw[:2])
    imp('blocks-short', blocks=[1.0])
    imp('layers-zero', layers=0)
    imp('heads-huge', heads=1 << 40)
    imp('score-negative', raw=[[-1.0] + r[1:] for r in raw])
    imp('score-string', raw=[['0.1'] + r[1:] for r in raw])
    imp('null-in-raw-only', raw=[[None] + r[1:] for r in raw])
    imp('score-nan', text=jdump(good).replace(repr(raw[0][0]), 'NaN', 1))
    imp('score-infinity', text=jdump(good).replace(repr(raw[0][0]), 'Infinity', 1))
    imp('score-1e400', text=jdump(good).replace(repr(raw[0][0]), '1e400', 1))
    imp('missing-raw', raw=None)
    # A valid table for another model shape: refused when pruning tiny.
    big = {'layers': 4, 'heads': 6, 'examples': 10, 'tokens': 100,
           'raw': raw + [raw[0]], 'normalized': norm + [norm[0]],
           'blocks': [sum(r) for r in raw + [raw[0]]]}
    write('importance/other-model.json', jdump(big))
    # Neuron scores (tiny has 200 neurons per layer): a lone list, a
    # negative score, a short list.
    fr = [[0.001 * ((7 * j + l) % 13) for j in range(200)] for l in range(L)]
    imp('ffn-unpaired', ffn_raw=fr)
    imp('ffn-negative', ffn_raw=[[-1.0] + r[1:] for r in fr], ffn_normalized=fr)
    imp('ffn-short', ffn_raw=fr, ffn_normalized=[fr[0], fr[1][:199], fr[2]])

    plan = {'layers': 3, 'heads': 6, 'pruned_heads': {'0': [1, 4], '2': [0]}}
    write('plan/ok.json', jdump(plan))

    def pl(name, text=None, **changes):
        c = dict(plan)
        c.update(changes)
        write('plan/%s.json' % name, text if text is not None else jdump(c))

    pl('layer-out-of-range', pruned_heads={'3': [0]})
    pl('head-out-of-range', pruned_heads={'0': [6]})
    pl('head-duplicate', pruned_heads={'0': [2, 2]})
    pl('head-not-integer', pruned_heads={'0': [1.5]})
    pl('head-nan', text='{"layers": 3, "heads": 6, "pruned_heads": {"0": [NaN]}}\n')
    pl('layers-zero', layers=0)
    pl('heads-string', heads='6')
    pl('duplicate-layer', text='{"layers": 3, "heads": 6, "pruned_heads": '
                               '{"0": [1], "0": [2]}}\n')
    pl('other-model', layers=12, heads=12, pruned_heads={'0': [1]})
    # Neurons of tiny (200 per layer): equal or different counts per layer
    # prune; a whole layer or another width do not.
    pl('neurons-ok', ffn_widths=[200] * 3,
       pruned_neurons={str(l): list(range(l, 200, 4)) for l in range(3)})
    pl('neurons-uneven', ffn_widths=[200] * 3, pruned_neurons={'0': [1, 2], '1': [3]})
    pl('neurons-empty-layer', ffn_widths=[200] * 3, pruned_neurons={'1': list(range(200))})
    pl('neurons-other-width', ffn_widths=[300] * 3, pruned_neurons={'0': [299]})
    pl('neurons-unpaired', ffn_widths=[200] * 3)
    pl('neurons-out-of-range', ffn_widths=[200] * 3, pruned_neurons={'2': [200]})


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    gen_safetensors()
    gen_configs()
    gen_vocabs()
    gen_tokenizer_configs()
    gen_glue()
    gen_tables()
    gen_models()
    gen_adapters()
    gen_importance_and_plans()


if __name__ == '__main__':
    main()
