/* SPDX-License-Identifier: Apache-2.0 */
#include "ckpt.h"

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tpa/common.h"

ckpt_spec ckpt_default(void) {
  return (ckpt_spec){.layers = 2,
                     .hidden = 8,
                     .heads = 2,
                     .inter = 12,
                     .vocab = 16,
                     .max_pos = 10,
                     .type_vocab = 2,
                     .num_labels = 2,
                     .prefix = true,
                     .classifier = true,
                     .dtype = TPA__DT_F32};
}

float ckpt_value(const char *name, size_t i) {
  uint32_t h = 2166136261u; /* FNV-1a: a different pattern per tensor */
  for (const char *p = name; *p; p++)
    h = (h ^ (unsigned char)*p) * 16777619u;
  return (float)((int)((h + i * 7u) % 61u) - 30) / 64.0f;
}

static char root[256];

void ckpt_cleanup(void) {
  if (root[0])
    ckpt_rmtree(root);
}

char *ckpt_tmpdir(const char *tag) {
  if (!root[0]) {
    const char *t = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/tpa-test-XXXXXX", t && *t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(root));
  }
  static int counter;
  char *dir = malloc(strlen(root) + strlen(tag) + 32);
  ck_assert_ptr_nonnull(dir);
  sprintf(dir, "%s/%s-%d", root, tag, counter++);
  ck_assert_int_eq(mkdir(dir, 0755), 0);
  return dir;
}

void ckpt_write_file(const char *dir, const char *name, const void *data, size_t n) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f != NULL, "cannot write %s", path);
  ck_assert_uint_eq(fwrite(data, 1, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
}

unsigned char *ckpt_read_file(const char *dir, const char *name, size_t *n) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot read %s", path);
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = malloc((size_t)len + 1);
  ck_assert_ptr_nonnull(buf);
  ck_assert_uint_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
  fclose(f);
  *n = (size_t)len;
  return buf;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(path);
}

void ckpt_rmtree(const char *dir) {
  nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the tensor list ---- */

enum { MAX_TENSORS = 256 };

typedef struct builder {
  const ckpt_spec *s;
  tpa__st_out out[MAX_TENSORS];
  char *names[MAX_TENSORS];
  int64_t shapes[MAX_TENSORS][2];
  void *data[MAX_TENSORS];
  size_t n;
  uint64_t params;
} builder;

static void add(builder *b, bool model_param, const char *prefix, const char *name, int64_t d0,
                int64_t d1) {
  ck_assert_uint_lt(b->n, MAX_TENSORS);
  char full[256];
  snprintf(full, sizeof full, "%s%s", prefix, name);
  const ckpt_spec *s = b->s;
  if (s->drop && strcmp(s->drop, full) == 0)
    return;
  if (s->reshape && strcmp(s->reshape, full) == 0)
    d0 += 1;
  size_t i = b->n++;
  b->names[i] = strdup(full);
  b->shapes[i][0] = d0;
  b->shapes[i][1] = d1;
  size_t numel = (size_t)d0 * (size_t)(d1 < 0 ? 1 : d1);
  tpa__st_out *o = &b->out[i];
  o->name = b->names[i];
  o->ndim = d1 < 0 ? 1 : 2;
  o->shape = b->shapes[i];
  if ((s->as_i64 && strcmp(s->as_i64, full) == 0) || !model_param) {
    o->dtype = TPA__DT_I64;
    b->data[i] = calloc(numel ? numel : 1, 8);
    o->raw = b->data[i];
  } else {
    float *v = malloc((numel ? numel : 1) * sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (size_t k = 0; k < numel; k++)
      v[k] = ckpt_value(full, k);
    b->data[i] = v;
    o->f32 = v;
    o->dtype = s->dtype;
  }
  if (model_param)
    b->params += numel;
}

static void add_ln(builder *b, const char *p, const char *base, int64_t h) {
  char name[256];
  bool legacy = b->s->legacy_ln;
  snprintf(name, sizeof name, "%s.LayerNorm.%s", base, legacy ? "gamma" : "weight");
  add(b, true, p, name, h, -1);
  snprintf(name, sizeof name, "%s.LayerNorm.%s", base, legacy ? "beta" : "bias");
  add(b, true, p, name, h, -1);
}

static void add_linear(builder *b, const char *p, const char *base, int64_t out, int64_t in) {
  char name[256];
  snprintf(name, sizeof name, "%s.weight", base);
  add(b, true, p, name, out, in);
  snprintf(name, sizeof name, "%s.bias", base);
  add(b, true, p, name, out, -1);
}

static void write_config(const char *dir, const ckpt_spec *s) {
  char path[1024];
  snprintf(path, sizeof path, "%s/config.json", dir);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fprintf(f,
          "{\n  \"architectures\": [\"BertForSequenceClassification\"],\n"
          "  \"model_type\": \"bert\",\n  \"hidden_act\": \"gelu\",\n"
          "  \"hidden_size\": %d,\n  \"num_hidden_layers\": %d,\n"
          "  \"num_attention_heads\": %d,\n  \"intermediate_size\": %d,\n"
          "  \"vocab_size\": %d,\n  \"max_position_embeddings\": %d,\n"
          "  \"type_vocab_size\": %d,\n  \"layer_norm_eps\": 1e-12,\n"
          "  \"hidden_dropout_prob\": 0.1,\n  \"attention_probs_dropout_prob\": 0.1,\n"
          "  \"id2label\": {",
          s->hidden, s->layers, s->heads, s->inter, s->vocab, s->max_pos, s->type_vocab);
  for (int32_t i = 0; i < s->num_labels; i++)
    fprintf(f, "%s\"%d\": \"class_%d\"", i ? ", " : "", i, i);
  fprintf(f, "}");
  if (s->pruned_json)
    fprintf(f, ",\n  \"pruned_heads\": %s", s->pruned_json);
  if (s->extra_json)
    fprintf(f, ",\n  %s", s->extra_json);
  fprintf(f, "\n}\n");
  ck_assert_int_eq(fclose(f), 0);
}

static const char default_vocab[] =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\nsat\n##s\n.\nhello\n";

uint64_t ckpt_write(const char *dir, const ckpt_spec *s) {
  mkdir(dir, 0755); /* may exist already */
  write_config(dir, s);
  const char *vocab = s->vocab_text ? s->vocab_text : default_vocab;
  ckpt_write_file(dir, "vocab.txt", vocab, strlen(vocab));

  builder *b = calloc(1, sizeof *b);
  ck_assert_ptr_nonnull(b);
  b->s = s;
  const char *p = s->prefix ? "bert." : "";
  int64_t H = s->hidden, d = s->hidden / s->heads;
  add(b, true, p, "embeddings.word_embeddings.weight", s->vocab, H);
  add(b, true, p, "embeddings.position_embeddings.weight", s->max_pos, H);
  add(b, true, p, "embeddings.token_type_embeddings.weight", s->type_vocab, H);
  add_ln(b, p, "embeddings", H);
  /* HF checkpoints carry this int64 buffer; the loader must skip it. */
  add(b, false, p, "embeddings.position_ids", 1, s->max_pos);
  for (int32_t l = 0; l < s->layers; l++) {
    int64_t kept = s->heads;
    for (int32_t h = 0; s->pruned && h < s->heads; h++)
      kept -= s->pruned[l * s->heads + h];
    int64_t a = kept * d;
    char base[128];
    const char *lin[] = {"attention.self.query", "attention.self.key", "attention.self.value"};
    for (int k = 0; k < 3; k++) {
      snprintf(base, sizeof base, "encoder.layer.%d.%s", l, lin[k]);
      add_linear(b, p, base, a, H);
    }
    snprintf(base, sizeof base, "encoder.layer.%d.attention.output.dense", l);
    add_linear(b, p, base, H, a);
    snprintf(base, sizeof base, "encoder.layer.%d.attention.output", l);
    add_ln(b, p, base, H);
    snprintf(base, sizeof base, "encoder.layer.%d.intermediate.dense", l);
    add_linear(b, p, base, s->inter, H);
    snprintf(base, sizeof base, "encoder.layer.%d.output.dense", l);
    add_linear(b, p, base, H, s->inter);
    snprintf(base, sizeof base, "encoder.layer.%d.output", l);
    add_ln(b, p, base, H);
  }
  add_linear(b, p, "pooler.dense", H, H);
  if (s->classifier)
    add_linear(b, "", "classifier", s->num_labels, H);

  char path[1024];
  snprintf(path, sizeof path, "%s/model.safetensors", dir);
  tpa_status st = tpa__st_write(path, b->out, b->n, NULL, NULL, 0);
  ck_assert_msg(st == TPA_OK, "writing %s: %s", path, tpa_last_error());
  uint64_t params = b->params;
  for (size_t i = 0; i < b->n; i++) {
    free(b->names[i]);
    free(b->data[i]);
  }
  free(b);
  return params;
}
