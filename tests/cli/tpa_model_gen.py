# SPDX-License-Identifier: Apache-2.0
"""Tiny BERT checkpoints written from scratch, and their logits computed in
plain Python, as the independent reference for the `tpa` command's tests.

Nothing here uses libtpa: the safetensors file is written by hand from the
format's specification (8-byte little-endian header length, JSON header,
raw little-endian data) and the forward pass follows HF's BertModel +
BertForSequenceClassification step by step (post-LN, erf GELU, tanh
pooler). Standard library only, so the tests run wherever python3 does.
"""
import json
import math
import os
import random
import struct


def _matrix(rng, rows, cols, scale):
    return [[rng.gauss(0.0, scale) for _ in range(cols)] for _ in range(rows)]


def _vector(rng, n, scale, mean=0.0):
    return [mean + rng.gauss(0.0, scale) for _ in range(n)]


class TinyBert:
    """Weights of a BertForSequenceClassification, HF layout ([out, in])."""

    def __init__(self, vocab_size, hidden=12, layers=2, heads=3, intermediate=20,
                 max_positions=512, type_vocab=2, num_labels=2, pruned=None, seed=1):
        assert hidden % heads == 0
        self.vocab_size = vocab_size
        self.hidden = hidden
        self.layers = layers
        self.heads = heads
        self.head_dim = hidden // heads
        self.intermediate = intermediate
        self.max_positions = max_positions
        self.type_vocab = type_vocab
        self.num_labels = num_labels
        self.eps = 1e-12
        # pruned: {layer: [original head ids removed]}
        self.pruned = {int(k): sorted(v) for k, v in (pruned or {}).items()}
        self.kept = [[h for h in range(heads) if h not in self.pruned.get(layer, [])]
                     for layer in range(layers)]
        rng = random.Random(seed)
        h, d = hidden, self.head_dim
        self.t = {}  # name -> (shape, flat list)
        self._add('bert.embeddings.word_embeddings.weight', _matrix(rng, vocab_size, h, 0.5))
        self._add('bert.embeddings.position_embeddings.weight',
                  _matrix(rng, max_positions, h, 0.5))
        self._add('bert.embeddings.token_type_embeddings.weight', _matrix(rng, type_vocab, h, 0.5))
        self._add('bert.embeddings.LayerNorm.weight', _vector(rng, h, 0.1, 1.0))
        self._add('bert.embeddings.LayerNorm.bias', _vector(rng, h, 0.1))
        for layer in range(layers):
            p = 'bert.encoder.layer.%d.' % layer
            w = len(self.kept[layer]) * d  # compact width after pruning
            for proj in ('query', 'key', 'value'):
                self._add(p + 'attention.self.%s.weight' % proj, _matrix(rng, w, h, 0.4))
                self._add(p + 'attention.self.%s.bias' % proj, _vector(rng, w, 0.1))
            self._add(p + 'attention.output.dense.weight', _matrix(rng, h, w, 0.4))
            self._add(p + 'attention.output.dense.bias', _vector(rng, h, 0.1))
            self._add(p + 'attention.output.LayerNorm.weight', _vector(rng, h, 0.1, 1.0))
            self._add(p + 'attention.output.LayerNorm.bias', _vector(rng, h, 0.1))
            self._add(p + 'intermediate.dense.weight', _matrix(rng, intermediate, h, 0.4))
            self._add(p + 'intermediate.dense.bias', _vector(rng, intermediate, 0.1))
            self._add(p + 'output.dense.weight', _matrix(rng, h, intermediate, 0.3))
            self._add(p + 'output.dense.bias', _vector(rng, h, 0.1))
            self._add(p + 'output.LayerNorm.weight', _vector(rng, h, 0.1, 1.0))
            self._add(p + 'output.LayerNorm.bias', _vector(rng, h, 0.1))
        self._add('bert.pooler.dense.weight', _matrix(rng, h, h, 0.5))
        self._add('bert.pooler.dense.bias', _vector(rng, h, 0.1))
        self._add('classifier.weight', _matrix(rng, num_labels, h, 0.8))
        self._add('classifier.bias', _vector(rng, num_labels, 0.1))
        # Round every weight to float32 once, so the reference computes with
        # exactly the values the file holds.
        for name, (shape, flat) in self.t.items():
            self.t[name] = (shape, list(struct.unpack('<%df' % len(flat),
                                                      struct.pack('<%df' % len(flat), *flat))))

    def _add(self, name, value):
        if value and isinstance(value[0], list):
            shape = [len(value), len(value[0])]
            flat = [x for row in value for x in row]
        else:
            shape = [len(value)]
            flat = list(value)
        self.t[name] = (shape, flat)

    # -- files ------------------------------------------------------------

    def config(self):
        cfg = {
            'architectures': ['BertForSequenceClassification'],
            'model_type': 'bert',
            'hidden_size': self.hidden,
            'num_hidden_layers': self.layers,
            'num_attention_heads': self.heads,
            'intermediate_size': self.intermediate,
            'vocab_size': self.vocab_size,
            'max_position_embeddings': self.max_positions,
            'type_vocab_size': self.type_vocab,
            'hidden_act': 'gelu',
            'layer_norm_eps': self.eps,
            'hidden_dropout_prob': 0.1,
            'attention_probs_dropout_prob': 0.1,
            'pad_token_id': 0,
            'id2label': {str(i): 'LABEL_%d' % i for i in range(self.num_labels)},
            'label2id': {'LABEL_%d' % i: i for i in range(self.num_labels)},
        }
        if self.num_labels == 1:
            cfg['problem_type'] = 'regression'
        if self.pruned:
            cfg['pruned_heads'] = {str(k): v for k, v in self.pruned.items()}
        return cfg

    def save(self, directory, vocab_lines):
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, 'config.json'), 'w') as f:
            json.dump(self.config(), f, indent=2)
        with open(os.path.join(directory, 'tokenizer_config.json'), 'w') as f:
            json.dump({'do_lower_case': True}, f)
        with open(os.path.join(directory, 'vocab.txt'), 'w', encoding='utf-8') as f:
            f.writelines(vocab_lines)
        header, blobs, offset = {'__metadata__': {'format': 'pt'}}, [], 0
        for name in sorted(self.t):
            shape, flat = self.t[name]
            data = struct.pack('<%df' % len(flat), *flat)
            header[name] = {'dtype': 'F32', 'shape': shape,
                            'data_offsets': [offset, offset + len(data)]}
            blobs.append(data)
            offset += len(data)
        text = json.dumps(header, separators=(',', ':')).encode()
        text += b' ' * (-len(text) % 8)  # keep the data 8-byte aligned
        with open(os.path.join(directory, 'model.safetensors'), 'wb') as f:
            f.write(struct.pack('<Q', len(text)))
            f.write(text)
            for b in blobs:
                f.write(b)

    # -- reference arithmetic ----------------------------------------------

    def param_counts(self):
        """Parameter counts from the shapes of the tensors written."""
        def size(name):
            shape = self.t[name][0]
            return shape[0] * (shape[1] if len(shape) > 1 else 1)
        emb = sum(size(n) for n in self.t if n.startswith('bert.embeddings.'))
        enc = sum(size(n) for n in self.t if n.startswith('bert.encoder.'))
        pooler = sum(size(n) for n in self.t if n.startswith('bert.pooler.'))
        cls = sum(size(n) for n in self.t if n.startswith('classifier.'))
        return {'embeddings': emb, 'encoder': enc, 'pooler': pooler, 'classifier': cls,
                'head': pooler + cls, 'total': emb + enc + pooler + cls}

    def _w(self, name):
        shape, flat = self.t[name]
        if len(shape) == 1:
            return flat
        cols = shape[1]
        return [flat[r * cols:(r + 1) * cols] for r in range(shape[0])]

    @staticmethod
    def _linear(x, w, b):
        return [[sum(xi * wi for xi, wi in zip(row, wr)) + bj for wr, bj in zip(w, b)]
                for row in x]

    def _layer_norm(self, x, g, b):
        out = []
        for row in x:
            mean = sum(row) / len(row)
            var = sum((v - mean) ** 2 for v in row) / len(row)
            inv = 1.0 / math.sqrt(var + self.eps)
            out.append([(v - mean) * inv * gi + bi for v, gi, bi in zip(row, g, b)])
        return out

    def logits(self, ids, type_ids):
        """HF BertForSequenceClassification logits of one unpadded example."""
        we = self._w('bert.embeddings.word_embeddings.weight')
        pe = self._w('bert.embeddings.position_embeddings.weight')
        te = self._w('bert.embeddings.token_type_embeddings.weight')
        x = [[a + b + c for a, b, c in zip(we[i], pe[p], te[t])]
             for p, (i, t) in enumerate(zip(ids, type_ids))]
        x = self._layer_norm(x, self._w('bert.embeddings.LayerNorm.weight'),
                             self._w('bert.embeddings.LayerNorm.bias'))
        d = self.head_dim
        n = len(ids)
        for layer in range(self.layers):
            p = 'bert.encoder.layer.%d.' % layer
            q = self._linear(x, self._w(p + 'attention.self.query.weight'),
                             self._w(p + 'attention.self.query.bias'))
            k = self._linear(x, self._w(p + 'attention.self.key.weight'),
                             self._w(p + 'attention.self.key.bias'))
            v = self._linear(x, self._w(p + 'attention.self.value.weight'),
                             self._w(p + 'attention.self.value.bias'))
            ctx = [[] for _ in range(n)]
            for hk in range(len(self.kept[layer])):
                lo, hi = hk * d, (hk + 1) * d
                for i in range(n):
                    s = [sum(a * b for a, b in zip(q[i][lo:hi], k[j][lo:hi])) / math.sqrt(d)
                         for j in range(n)]
                    m = max(s)
                    e = [math.exp(z - m) for z in s]
                    tot = sum(e)
                    ctx[i].extend(sum(e[j] / tot * v[j][c] for j in range(n))
                                  for c in range(lo, hi))
            a = self._linear(ctx, self._w(p + 'attention.output.dense.weight'),
                             self._w(p + 'attention.output.dense.bias'))
            x = self._layer_norm([[u + w for u, w in zip(r1, r2)] for r1, r2 in zip(a, x)],
                                 self._w(p + 'attention.output.LayerNorm.weight'),
                                 self._w(p + 'attention.output.LayerNorm.bias'))
            inter = self._linear(x, self._w(p + 'intermediate.dense.weight'),
                                 self._w(p + 'intermediate.dense.bias'))
            inter = [[0.5 * z * (1.0 + math.erf(z / math.sqrt(2.0))) for z in row]
                     for row in inter]
            o = self._linear(inter, self._w(p + 'output.dense.weight'),
                             self._w(p + 'output.dense.bias'))
            x = self._layer_norm([[u + w for u, w in zip(r1, r2)] for r1, r2 in zip(o, x)],
                                 self._w(p + 'output.LayerNorm.weight'),
                                 self._w(p + 'output.LayerNorm.bias'))
        pooled = [math.tanh(z) for z in self._linear([x[0]], self._w('bert.pooler.dense.weight'),
                                                     self._w('bert.pooler.dense.bias'))[0]]
        return self._linear([pooled], self._w('classifier.weight'),
                            self._w('classifier.bias'))[0]
