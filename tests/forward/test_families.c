/* SPDX-License-Identifier: Apache-2.0 */
/* RoBERTa, XLM-RoBERTa, DistilBERT and ELECTRA checkpoints against
 * independent references: the logits that
 * tests/fixtures/gen_family_fixtures.py computed with HF's math of each
 * family in PyTorch (tests/fixtures/torch_families.py, float64) for the
 * models under tests/fixtures/families, and, end to end, for real GLUE
 * rows tokenized by HF's own tokenizer. Runs oneDNN, so CK_FORK=no. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "tpa/tpa.h"

#define TOL 1e-4

/* One fixture directory under tests/fixtures/families and what its
 * config.json says. */
typedef struct family_case {
  const char *dir;
  int32_t hidden, layers, heads, inter, vocab, labels;
  double eps;
  int32_t pad;          /* the id the reference batches pad with */
  int32_t kept[3];      /* heads per layer after pruning */
  const char *unpruned; /* for a pruned directory: the full one */
} family_case;

static const family_case cases[] = {
    {"roberta", 48, 2, 4, 72, 861, 3, 1e-5, 1, {4, 4}, NULL},
    {"roberta-pruned", 48, 2, 4, 72, 861, 3, 1e-5, 1, {3, 2}, "roberta"},
    {"roberta-f16", 48, 2, 4, 72, 861, 3, 1e-5, 1, {4, 4}, NULL},
    {"xlmr", 32, 2, 4, 48, 4005, 2, 1e-5, 1, {4, 4}, NULL},
    {"distilbert", 40, 3, 5, 88, 528, 2, 1e-12, 0, {5, 5, 5}, NULL},
    {"distilbert-pruned", 40, 3, 5, 88, 528, 2, 1e-12, 0, {5, 2, 5}, "distilbert"},
    {"distilbert-bf16", 40, 3, 5, 88, 528, 2, 1e-12, 0, {5, 5, 5}, NULL},
    {"electra", 48, 2, 6, 64, 528, 2, 1e-12, 0, {6, 6}, NULL},
    {"electra-pruned", 48, 2, 6, 64, 528, 2, 1e-12, 0, {4, 6}, "electra"},
};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

/* The unpruned F32 directories (one per family): batch-invariance. */
static const int full_cases[] = {0, 3, 4, 7};

static char *family_path(const char *dir, const char *file) {
  char rel[256];
  snprintf(rel, sizeof rel, "families/%s%s%s", dir, file ? "/" : "", file ? file : "");
  return fixture(rel);
}

static tpa_model *load(const char *dir) {
  char *path = family_path(dir, NULL);
  tpa_model *m = NULL;
  tpa_status s = tpa_model_load(&m, path, NULL);
  ck_assert_msg(s == TPA_OK, "loading %s: %s (%s)", path, tpa_status_str(s), tpa_last_error());
  free(path);
  return m;
}

static json_t *load_json(const char *dir, const char *file) {
  char *path = family_path(dir, file);
  json_error_t err;
  json_t *j = json_load_file(path, 0, &err);
  ck_assert_msg(j != NULL, "%s: %s", path, err.text);
  free(path);
  return j;
}

/* max |got - want| over n values; NaN counts as infinitely far. */
static double max_diff(const float *got, const double *want, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - want[i]);
    if (!(d <= m))
      m = isnan(d) ? INFINITY : d;
  }
  return m;
}

/* config.json as the library reads it. */
static void check_config(const tpa_model *m, const family_case *c) {
  tpa_model_config cfg;
  cfg.size = sizeof cfg;
  ck_assert_int_eq(tpa_model_get_config(m, &cfg), TPA_OK);
  ck_assert_int_eq(cfg.hidden_size, c->hidden);
  ck_assert_int_eq(cfg.num_layers, c->layers);
  ck_assert_int_eq(cfg.num_heads, c->heads);
  ck_assert_int_eq(cfg.head_dim, c->hidden / c->heads);
  ck_assert_int_eq(cfg.intermediate_size, c->inter);
  ck_assert_int_eq(cfg.vocab_size, c->vocab);
  ck_assert_int_eq(cfg.num_labels, c->labels);
  ck_assert(!cfg.regression);
  ck_assert_msg(fabs(cfg.layer_norm_eps - c->eps) <= 1e-3 * c->eps,
                "%s: layer_norm_eps %g, want %g", c->dir, cfg.layer_norm_eps, c->eps);
  for (int32_t l = 0; l < c->layers; l++)
    ck_assert_msg(tpa_model_layer_num_heads(m, l) == c->kept[l], "%s layer %d: %d heads, want %d",
                  c->dir, l, tpa_model_layer_num_heads(m, l), c->kept[l]);
  ck_assert_int_eq(tpa_model_layer_num_heads(m, c->layers), -1);
}

/* Every batch of a reference file of one directory within TOL. */
static void check_reference(const tpa_model *m, const family_case *c, const char *file) {
  json_t *ref = load_json(c->dir, file);
  ck_assert_int_eq(json_integer_value(json_object_get(ref, "num_labels")), c->labels);
  const size_t nb = json_array_size(json_object_get(ref, "batches"));
  ck_assert_uint_ge(nb, strcmp(file, "reference.json") == 0 ? 4 : 1);
  double biggest = 0;
  for (size_t i = 0; i < nb; i++) {
    ref_batch r = ref_batch_get(ref, i);
    ck_assert_uint_eq(r.n_logits, (size_t)r.batch * c->labels);
    float *got = calloc(r.n_logits, sizeof *got);
    ck_assert_ptr_nonnull(got);
    tpa_status s = tpa_model_forward(m, r.ids, r.types, r.mask, r.batch, r.seq, got);
    ck_assert_msg(s == TPA_OK, "%s/%s batch %zu: %s (%s)", c->dir, file, i, tpa_status_str(s),
                  tpa_last_error());
    double d = max_diff(got, r.logits, r.n_logits);
    ck_assert_msg(d <= TOL, "%s/%s batch %zu (%dx%d): max abs diff %g", c->dir, file, i, r.batch,
                  r.seq, d);
    for (size_t k = 0; k < r.n_logits; k++)
      biggest = fmax(biggest, fabs(r.logits[k]));
    free(got);
    ref_batch_free(&r);
  }
  /* The comparison means something only if the logits are not all ~0. */
  ck_assert_msg(biggest > 0.5, "%s/%s: reference logits too small (%g)", c->dir, file, biggest);
  json_decref(ref);
}

/* Every reference batch of one directory (the F16/BF16 references were
 * computed from the rounded weights), and its config as read. */
START_TEST(reference_logits_match) {
  const family_case *c = &cases[_i];
  tpa_model *m = load(c->dir);
  check_config(m, c);
  check_reference(m, c, "reference.json");
  tpa_model_free(m);
}
END_TEST

/* RoBERTa's position ids come from the ids, not from the attention mask
 * (HF's create_position_ids_from_input_ids): rows holding the pad id with
 * mask 1, as HF's tokenizer makes of a literal "<pad>", give that token
 * position padding_idx and count the others past it. The generator checks
 * that mask-counted positions would give other logits. */
START_TEST(roberta_pad_id_inside) {
  tpa_model *m = load(cases[0].dir);
  check_reference(m, &cases[0], "pad_inside.json");
  tpa_model_free(m);
}
END_TEST

/* A pruned reference is not just "close to" the full one: removing the
 * heads changes the logits, or the pruned check would test nothing. */
START_TEST(pruned_differs_from_full) {
  const family_case *c = &cases[_i];
  if (!c->unpruned)
    return;
  json_t *full = load_json(c->unpruned, "reference.json");
  json_t *pruned = load_json(c->dir, "reference.json");
  ref_batch a = ref_batch_get(full, 0), b = ref_batch_get(pruned, 0);
  ck_assert_uint_eq(a.n_logits, b.n_logits);
  ck_assert(memcmp(a.ids, b.ids, (size_t)a.batch * a.seq * sizeof *a.ids) == 0);
  double d = 0;
  for (size_t i = 0; i < a.n_logits; i++)
    d = fmax(d, fabs(a.logits[i] - b.logits[i]));
  ck_assert_msg(d > 1e-2, "%s: pruning changed the reference logits by only %g", c->dir, d);
  ref_batch_free(&a);
  ref_batch_free(&b);
  json_decref(full);
  json_decref(pruned);
}
END_TEST

/* A row's logits do not depend on its batch mates or on how much padding
 * (the family's pad id, mask 0) follows it: each row of reference batch
 * 0 alone and unpadded, then all rows padded 23 columns further. For
 * RoBERTa and XLM-R this also exercises position ids counted from the
 * ids (padding_idx + 1 onwards). */
START_TEST(batch_composition_invariance) {
  const family_case *c = &cases[full_cases[_i]];
  tpa_model *m = load(c->dir);
  json_t *ref = load_json(c->dir, "reference.json");
  ref_batch r = ref_batch_get(ref, 0);
  const int32_t nl = c->labels, B = r.batch, S = r.seq;
  float *together = calloc((size_t)B * nl, sizeof(float));
  ck_assert_int_eq(tpa_model_forward(m, r.ids, r.types, r.mask, B, S, together), TPA_OK);
  ck_assert_msg(max_diff(together, r.logits, r.n_logits) <= TOL, "%s: batch 0", c->dir);
  for (int32_t b = 0; b < B; b++) {
    int32_t len = 0;
    while (len < S && r.mask[b * S + len])
      len++;
    float alone[4];
    tpa_status s = tpa_model_forward(m, r.ids + b * S, r.types + b * S, NULL, 1, len, alone);
    ck_assert_msg(s == TPA_OK, "%s row %d: %s", c->dir, b, tpa_last_error());
    for (int k = 0; k < nl; k++)
      ck_assert_msg(fabsf(alone[k] - together[b * nl + k]) <= 1e-5, "%s row %d: %g vs %g", c->dir,
                    b, alone[k], together[b * nl + k]);
  }
  const int32_t S2 = S + 23;
  int32_t *ids = malloc((size_t)B * S2 * sizeof(int32_t));
  int32_t *types = calloc((size_t)B * S2, sizeof(int32_t));
  int32_t *mask = calloc((size_t)B * S2, sizeof(int32_t));
  ck_assert(ids && types && mask);
  for (int32_t i = 0; i < B * S2; i++)
    ids[i] = c->pad;
  for (int32_t b = 0; b < B; b++)
    for (int32_t t = 0; t < S; t++) {
      ids[b * S2 + t] = r.ids[b * S + t];
      types[b * S2 + t] = r.types[b * S + t];
      mask[b * S2 + t] = r.mask[b * S + t];
    }
  float *padded = calloc((size_t)B * nl, sizeof(float));
  tpa_status s = tpa_model_forward(m, ids, types, mask, B, S2, padded);
  ck_assert_msg(s == TPA_OK, "%s: %s", c->dir, tpa_last_error());
  for (int32_t i = 0; i < B * nl; i++)
    ck_assert_msg(fabsf(padded[i] - together[i]) <= 1e-5, "%s logit %d: %g vs %g", c->dir, i,
                  padded[i], together[i]);
  free(ids);
  free(types);
  free(mask);
  free(padded);
  free(together);
  ref_batch_free(&r);
  json_decref(ref);
  tpa_model_free(m);
}
END_TEST

/* ---- predict: real GLUE rows, HF's tokenizer, each row's logits ---- */

typedef struct e2e_case {
  const char *dir, *file;
  tpa_task task;
} e2e_case;

/* RoBERTa's fixture has 3 labels and the shared data holds no 3-label
 * dev file, so it reads GLUE's diagnostic set (MNLI's test layout:
 * unlabeled, 3 classes). */
static const e2e_case e2e_cases[] = {
    {"roberta", "e2e_mnli.json", TPA_TASK_MNLI},
    {"xlmr", "e2e_rte.json", TPA_TASK_RTE},
    {"distilbert", "e2e_rte.json", TPA_TASK_RTE},
};

static char *shared_data(const char *rel) {
  const char *root = getenv("TPA_SHARED_DATA");
  ck_assert_msg(root != NULL, "TPA_SHARED_DATA is not set");
  return join(root, rel);
}

/* The model's tokenizer gives HF's ids for every row (so a logits
 * mismatch below is the model's), then tpa_model_predict on the real file
 * equals the reference logits, in file order. */
START_TEST(predict_matches_reference) {
  const e2e_case *e = &e2e_cases[_i];
  tpa_model *m = load(e->dir);
  json_t *ref = load_json(e->dir, e->file);
  const size_t rows = (size_t)json_integer_value(json_object_get(ref, "rows"));
  const int32_t maxlen = (int32_t)json_integer_value(json_object_get(ref, "max_seq_length"));
  ck_assert_uint_gt(rows, 0);
  ck_assert_int_gt(maxlen, 0);
  tpa_model_config cfg;
  cfg.size = sizeof cfg;
  ck_assert_int_eq(tpa_model_get_config(m, &cfg), TPA_OK);
  const size_t nl = (size_t)cfg.num_labels;
  char *path = shared_data(json_string_value(json_object_get(ref, "file")));
  tpa_dataset_params dp;
  tpa_dataset_params_init(&dp, sizeof dp);
  dp.max_rows = rows;
  tpa_dataset *ds = NULL;
  ck_assert_msg(tpa_dataset_load(&ds, e->task, path, &dp) == TPA_OK, "%s: %s", path,
                tpa_last_error());
  ck_assert_uint_eq(tpa_dataset_size(ds), rows);

  const tpa_tokenizer *tok = tpa_model_tokenizer(m);
  ck_assert_ptr_nonnull(tok);
  int32_t *ids = malloc((size_t)maxlen * sizeof *ids),
          *types = malloc((size_t)maxlen * sizeof *types);
  ck_assert(ids && types);
  for (size_t i = 0; i < rows; i++) {
    size_t n = 0, n_want, n_types;
    ck_assert_int_eq(tpa_tokenizer_encode(tok, tpa_dataset_text_a(ds, i), tpa_dataset_text_b(ds, i),
                                          maxlen, ids, types, &n),
                     TPA_OK);
    int32_t *want = json_ints(json_array_get(json_object_get(ref, "ids"), i), &n_want);
    int32_t *want_types = json_ints(json_array_get(json_object_get(ref, "type_ids"), i), &n_types);
    ck_assert_msg(n == n_want, "%s row %zu: %zu tokens, HF %zu", e->dir, i, n, n_want);
    for (size_t k = 0; k < n; k++) {
      ck_assert_msg(ids[k] == want[k], "%s row %zu token %zu: id %d, HF %d", e->dir, i, k, ids[k],
                    want[k]);
      ck_assert_msg(types[k] == want_types[k], "%s row %zu token %zu: type %d, HF %d", e->dir, i, k,
                    types[k], want_types[k]);
    }
    free(want);
    free(want_types);
  }
  free(ids);
  free(types);

  tpa_predict_params pp;
  tpa_predict_params_init(&pp, sizeof pp);
  pp.max_seq_length = maxlen;
  pp.batch_size = 7; /* several batches of mixed lengths, a short last one */
  float *got = calloc(rows * nl, sizeof *got);
  ck_assert_ptr_nonnull(got);
  tpa_status s = tpa_model_predict(m, ds, &pp, got, rows * nl);
  ck_assert_msg(s == TPA_OK, "%s: %s (%s)", e->dir, tpa_status_str(s), tpa_last_error());
  const json_t *lg = json_object_get(ref, "logits");
  ck_assert_uint_eq(json_array_size(lg), rows);
  double worst = 0;
  for (size_t i = 0; i < rows; i++) {
    size_t n;
    double *want = json_reals(json_array_get(lg, i), &n);
    ck_assert_uint_eq(n, nl);
    worst = fmax(worst, max_diff(got + i * nl, want, nl));
    free(want);
  }
  ck_assert_msg(worst <= TOL, "%s on %s: max abs diff %g", e->dir, path, worst);
  free(got);
  free(path);
  tpa_dataset_free(ds);
  json_decref(ref);
  tpa_model_free(m);
}
END_TEST

/* ---- an unknown model_type ---- */

static void copy_file(const char *from_dir, const char *to_dir, const char *name) {
  char *src = join(from_dir, name), *dst = join(to_dir, name);
  size_t len;
  char *data = read_all(src, &len);
  FILE *f = fopen(dst, "wb");
  ck_assert_msg(f != NULL, "cannot create %s", dst);
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
  free(data);
  free(src);
  free(dst);
}

/* A checkpoint of a family libtpa does not know (a RoBERTa directory whose
 * config says GPT-2) is refused, and the message names the families it
 * does know. */
START_TEST(unknown_model_type_refused) {
  char *from = family_path("roberta", NULL);
  char *dir = temp_dir();
  copy_file(from, dir, "model.safetensors");
  copy_file(from, dir, "tokenizer.json");
  json_t *cfg = load_json("roberta", "config.json");
  ck_assert_int_eq(json_object_set_new(cfg, "model_type", json_string("gpt2")), 0);
  json_t *arch = json_array();
  json_array_append_new(arch, json_string("GPT2ForSequenceClassification"));
  ck_assert_int_eq(json_object_set_new(cfg, "architectures", arch), 0);
  char *cfg_path = join(dir, "config.json");
  ck_assert_int_eq(json_dump_file(cfg, cfg_path, JSON_INDENT(2)), 0);
  json_decref(cfg);

  tpa_model *m = NULL;
  tpa_status s = tpa_model_load(&m, dir, NULL);
  ck_assert_msg(s == TPA_ERR_UNSUPPORTED || s == TPA_ERR_CONFIG, "status %s (%s)",
                tpa_status_str(s), tpa_last_error());
  ck_assert_ptr_null(m);
  const char *msg = tpa_last_error();
  ck_assert_msg(strstr(msg, "gpt2") != NULL, "message does not name the model_type: %s", msg);
  ck_assert_msg(strstr(msg, "bert, roberta, xlm-roberta, distilbert, electra") != NULL,
                "message does not list the supported families: %s", msg);

  free(cfg_path);
  remove_tree(dir);
  free(dir);
  free(from);
}
END_TEST

/* ---- inconsistent configs ---- */

/* A scratch copy of fixture @p family whose config.json has the keys of
 * the JSON object @p patch set; the caller removes it. */
static char *patched_copy(const char *family, const char *patch) {
  char *from = family_path(family, NULL);
  char *dir = temp_dir();
  static const char *const files[] = {"model.safetensors", "tokenizer.json", "vocab.txt",
                                      "tokenizer_config.json"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    char *src = join(from, files[i]);
    FILE *f = fopen(src, "rb");
    if (f) {
      fclose(f);
      copy_file(from, dir, files[i]);
    }
    free(src);
  }
  json_t *cfg = load_json(family, "config.json");
  json_error_t err;
  json_t *p = json_loads(patch, 0, &err);
  ck_assert_msg(p != NULL, "bad patch %s", patch);
  ck_assert_int_eq(json_object_update(cfg, p), 0);
  json_decref(p);
  char *cfg_path = join(dir, "config.json");
  ck_assert_int_eq(json_dump_file(cfg, cfg_path, JSON_INDENT(2)), 0);
  json_decref(cfg);
  free(cfg_path);
  free(from);
  return dir;
}

typedef struct bad_config {
  const char *family, *patch;
  tpa_status want;
  const char *needle;
} bad_config;

static const bad_config bad_configs[] = {
    /* DistilBERT's BERT-name aliases must agree with its own keys. */
    {"distilbert", "{\"hidden_size\": 48}", TPA_ERR_CONFIG, "inconsistent"},
    {"distilbert", "{\"num_attention_heads\": 4}", TPA_ERR_CONFIG, "inconsistent"},
    {"distilbert", "{\"n_heads\": 3}", TPA_ERR_CONFIG, "n_heads"},
    {"distilbert", "{\"activation\": \"relu\"}", TPA_ERR_UNSUPPORTED, "activation"},
    {"distilbert", "{\"seq_classif_dropout\": -0.5}", TPA_ERR_CONFIG, "seq_classif_dropout"},
    {"roberta", "{\"max_position_embeddings\": 2}", TPA_ERR_CONFIG, "pad_token_id"},
    {"roberta", "{\"pad_token_id\": 5000}", TPA_ERR_CONFIG, "pad_token_id"},
    {"roberta", "{\"type_vocab_size\": \"one\"}", TPA_ERR_CONFIG, "type_vocab_size"},
    {"roberta", "{\"classifier_dropout\": 1.5}", TPA_ERR_CONFIG, "classifier_dropout"},
    {"roberta", "{\"vocab_size\": 800}", TPA_ERR_TENSOR_SHAPE, "word_embeddings"},
    {"electra", "{\"embedding_size\": 30}", TPA_ERR_TENSOR_SHAPE, "embeddings"},
    {"electra", "{\"embedding_size\": 0}", TPA_ERR_CONFIG, "embedding_size"},
    {"xlmr", "{\"model_type\": 7}", TPA_ERR_CONFIG, "model_type"},
};

START_TEST(inconsistent_config_refused) {
  const bad_config *b = &bad_configs[_i];
  char *dir = patched_copy(b->family, b->patch);
  tpa_model *m = NULL;
  tpa_status s = tpa_model_load(&m, dir, NULL);
  ck_assert_msg(s == b->want, "%s %s: status %s, expected %s (%s)", b->family, b->patch,
                tpa_status_str(s), tpa_status_str(b->want), tpa_last_error());
  ck_assert_ptr_null(m);
  ck_assert_msg(strstr(tpa_last_error(), b->needle) != NULL, "%s %s: message lacks \"%s\": %s",
                b->family, b->patch, b->needle, tpa_last_error());
  ck_assert_msg(strstr(tpa_last_error(), "config.json") != NULL ||
                    strstr(tpa_last_error(), "model.safetensors") != NULL,
                "message names no file: %s", tpa_last_error());
  remove_tree(dir);
  free(dir);
}
END_TEST

/* A tokenizer with more tokens than the word embeddings has rows (XLM-R's
 * 4005-token tokenizer.json in the 861-token RoBERTa directory). */
START_TEST(tokenizer_larger_than_vocab_refused) {
  char *dir = patched_copy("roberta", "{}");
  char *xlmr = family_path("xlmr", NULL);
  copy_file(xlmr, dir, "tokenizer.json");
  tpa_model *m = NULL;
  tpa_status s = tpa_model_load(&m, dir, NULL);
  ck_assert_msg(s == TPA_ERR_VOCAB, "status %s (%s)", tpa_status_str(s), tpa_last_error());
  ck_assert_ptr_null(m);
  ck_assert_msg(strstr(tpa_last_error(), "tokenizer.json") != NULL &&
                    strstr(tpa_last_error(), "4005") != NULL &&
                    strstr(tpa_last_error(), "vocab_size is 861") != NULL,
                "message: %s", tpa_last_error());
  remove_tree(dir);
  free(dir);
  free(xlmr);
}
END_TEST

/* ---- exports in the family's own layout ---- */

/* Logits of reference batch 0 of @p dir's reference.json through @p m. */
static float *batch0_logits(const tpa_model *m, const char *dir, size_t *n) {
  json_t *ref = load_json(dir, "reference.json");
  ref_batch r = ref_batch_get(ref, 0);
  tpa_model_config c = {.size = sizeof c};
  ck_assert_int_eq(tpa_model_get_config(m, &c), TPA_OK);
  *n = (size_t)r.batch * (size_t)c.num_labels;
  float *out = malloc(*n * sizeof *out);
  ck_assert_ptr_nonnull(out);
  tpa_status s = tpa_model_forward(m, r.ids, r.types, r.mask, r.batch, r.seq, out);
  ck_assert_msg(s == TPA_OK, "%s: %s", dir, tpa_last_error());
  ref_batch_free(&r);
  json_decref(ref);
  return out;
}

static double float_diff(const float *a, const float *b, size_t n) {
  double d = 0;
  for (size_t i = 0; i < n; i++)
    d = fmax(d, fabs((double)a[i] - (double)b[i]));
  return d;
}

/* Saved (compact and dense) and reloaded, a model of every family gives
 * the same logits, and config.json keeps the family's own keys. */
START_TEST(export_round_trip) {
  const family_case *c = &cases[_i];
  tpa_model *m = load(c->dir);
  size_t n;
  float *want = batch0_logits(m, c->dir, &n);
  for (int dense = 0; dense < 2; dense++) {
    char *out = temp_dir();
    tpa_status s = dense ? tpa_model_save_dense(m, out) : tpa_model_save(m, out);
    ck_assert_msg(s == TPA_OK, "%s: %s", c->dir, tpa_last_error());
    tpa_model *back = NULL;
    s = tpa_model_load(&back, out, NULL);
    ck_assert_msg(s == TPA_OK, "%s reloaded: %s", c->dir, tpa_last_error());
    float *got = batch0_logits(back, c->dir, &n);
    double d = float_diff(want, got, n);
    ck_assert_msg(d <= (dense ? 1e-5 : 0.0), "%s %s export: logits moved by %g", c->dir,
                  dense ? "dense" : "compact", d);
    char *cfg_path = join(out, "config.json");
    json_error_t err;
    json_t *saved = json_load_file(cfg_path, 0, &err), *orig = load_json(c->dir, "config.json");
    ck_assert_ptr_nonnull(saved);
    ck_assert_str_eq(json_string_value(json_object_get(saved, "model_type")),
                     json_string_value(json_object_get(orig, "model_type")));
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(saved, "architectures"), 0)),
                     json_string_value(json_array_get(json_object_get(orig, "architectures"), 0)));
    ck_assert_msg(json_equal(json_object_get(saved, "pruned_heads"),
                             dense ? NULL : json_object_get(orig, "pruned_heads")) ||
                      (!json_object_get(saved, "pruned_heads") &&
                       (dense || !json_object_get(orig, "pruned_heads"))),
                  "%s: pruned_heads not kept", c->dir);
    json_decref(saved);
    json_decref(orig);
    free(cfg_path);
    free(got);
    tpa_model_free(back);
    remove_tree(out);
    free(out);
  }
  free(want);
  tpa_model_free(m);
}
END_TEST

/* A LoRA adapter of each family: saved under the family's PEFT names,
 * loaded back onto the model, refused by a model of another family, and
 * merged (its B is zero at creation: the merge must not move the logits). */
START_TEST(adapter_round_trip) {
  static const char *const dirs[] = {"roberta-pruned", "distilbert", "electra"};
  static const char *const prefix[] = {"base_model.model.roberta.encoder.layer.0.",
                                       "base_model.model.distilbert.transformer.layer.0.",
                                       "base_model.model.electra.encoder.layer.0."};
  tpa_model *m = load(dirs[_i]);
  size_t n;
  float *want = batch0_logits(m, dirs[_i], &n);
  /* LoRA on the feed-forward too, under the family's names. */
  int32_t ffn[2 * 16];
  for (size_t i = 0; i < sizeof ffn / sizeof *ffn; i++)
    ffn[i] = 2;
  tpa_lora_params p;
  tpa_lora_params_init(&p, sizeof p);
  p.ffn_ranks = ffn;
  tpa_lora_set *set = NULL;
  ck_assert_int_eq(tpa_model_layer_num_heads(m, 16), -1); /* at most 16 layers */
  ck_assert_int_eq(tpa_lora_set_create(&set, m, &p), TPA_OK);
  char *out = temp_dir();
  ck_assert_msg(tpa_lora_set_save(set, out) == TPA_OK, "%s", tpa_last_error());
  char *wpath = join(out, "adapter_model.safetensors");
  size_t len;
  char *bytes = read_all(wpath, &len);
  ck_assert_msg(memmem(bytes, len, prefix[_i], strlen(prefix[_i])) != NULL,
                "%s: adapter tensors lack %s", dirs[_i], prefix[_i]);
  char ffn_name[160];
  snprintf(ffn_name, sizeof ffn_name, "%s%s.lora_A.weight", prefix[_i],
           _i == 1 ? "ffn.lin2" : "output.dense");
  ck_assert_msg(memmem(bytes, len, ffn_name, strlen(ffn_name)) != NULL, "%s: no %s", dirs[_i],
                ffn_name);
  free(bytes);
  tpa_lora_set *back = NULL;
  ck_assert_msg(tpa_lora_set_load(&back, m, out) == TPA_OK, "%s", tpa_last_error());
  ck_assert_int_eq(tpa_lora_set_rank(back, 0, TPA_LORA_FFN_OUTPUT), 2);
  ck_assert_int_eq(tpa_lora_set_rank(back, 0, TPA_LORA_INTERMEDIATE), 2);
  tpa_model *other = load(_i == 1 ? "electra" : "distilbert");
  tpa_lora_set *wrong = NULL;
  ck_assert_int_ne(tpa_lora_set_load(&wrong, other, out), TPA_OK);
  ck_assert_ptr_null(wrong);
  ck_assert_int_eq(tpa_lora_set_merge(back, m), TPA_OK);
  float *got = batch0_logits(m, dirs[_i], &n);
  ck_assert_msg(float_diff(want, got, n) <= 1e-6, "%s: merging a zero-B adapter moved logits",
                dirs[_i]);
  free(got);
  tpa_model_free(other);
  tpa_lora_set_free(back);
  tpa_lora_set_free(set);
  free(wpath);
  remove_tree(out);
  free(out);
  free(want);
  tpa_model_free(m);
}
END_TEST

/* ---- PEFT target_modules names ---- */

START_TEST(lora_module_names) {
  static const struct {
    const char *dir, *name;
    int want; /* module, or -1 for TPA_ERR_UNSUPPORTED */
  } t[] = {
      {"roberta", "query", TPA_LORA_QUERY},
      {"roberta", "self.key", TPA_LORA_KEY},
      {"roberta", "roberta.encoder.layer.0.attention.self.value", TPA_LORA_VALUE},
      {"roberta", "attention.output.dense", TPA_LORA_OUTPUT},
      {"roberta", "dense", -1},        /* also the FFN's and the head's */
      {"roberta", "output.dense", -1}, /* also the FFN's output.dense */
      {"roberta", "intermediate.dense", -1},
      {"roberta", "q_lin", -1},
      {"roberta", "uery", -1}, /* PEFT matches whole components */
      {"roberta", "", -1},
      {"distilbert", "q_lin", TPA_LORA_QUERY},
      {"distilbert", "attention.k_lin", TPA_LORA_KEY},
      {"distilbert", "v_lin", TPA_LORA_VALUE},
      {"distilbert", "out_lin", TPA_LORA_OUTPUT},
      {"distilbert", "lin1", -1},
      {"distilbert", "query", -1},
      {"electra", "value", TPA_LORA_VALUE},
      {"electra", "classifier.dense", -1},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    tpa_model *m = load(t[i].dir);
    tpa_lora_module k = TPA_LORA_QUERY;
    tpa_status s = tpa_lora_module_from_name(m, t[i].name, &k);
    if (t[i].want >= 0) {
      ck_assert_msg(s == TPA_OK && (int)k == t[i].want, "%s \"%s\": %s %d (%s)", t[i].dir,
                    t[i].name, tpa_status_str(s), (int)k, tpa_last_error());
    } else {
      ck_assert_msg(s == TPA_ERR_UNSUPPORTED, "%s \"%s\": %s", t[i].dir, t[i].name,
                    tpa_status_str(s));
      ck_assert_msg(
          strstr(tpa_last_error(), t[i].dir[0] == 'd' ? "q_lin, k_lin, v_lin" : "query") != NULL,
          "message names no module: %s", tpa_last_error());
    }
    tpa_model_free(m);
  }
  tpa_lora_module k;
  ck_assert_int_eq(tpa_lora_module_from_name(NULL, "query", &k), TPA_ERR_INVALID_ARGUMENT);
}
END_TEST

/* tpa_lora_module_mask: every module a PEFT list entry picks, the
 * feed-forward's included; the head's layers refused. */
START_TEST(lora_module_masks) {
  enum { Q = 1, K = 2, V = 4, O = 8, I = 16, F = 32 };
  static const struct {
    const char *dir, *name;
    int want; /* mask, or -1 for TPA_ERR_UNSUPPORTED */
  } t[] = {
      {"roberta", "query", Q},
      {"roberta", "attention.output.dense", O},
      {"roberta", "output.dense", O | F}, /* PEFT adapts both */
      {"roberta", "intermediate.dense", I},
      {"roberta", "roberta.encoder.layer.0.output.dense", F},
      {"roberta", "dense", -1}, /* also classifier.dense */
      {"roberta", "out_proj", -1},
      {"roberta", "lin1", -1},
      {"distilbert", "lin1", I},
      {"distilbert", "ffn.lin2", F},
      {"distilbert", "out_lin", O},
      {"distilbert", "pre_classifier", -1},
      {"electra", "intermediate.dense", I},
      {"electra", "classifier.dense", -1},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    tpa_model *m = load(t[i].dir);
    uint32_t mask = 0xdead;
    tpa_status s = tpa_lora_module_mask(m, t[i].name, &mask);
    if (t[i].want >= 0) {
      ck_assert_msg(s == TPA_OK && mask == (uint32_t)t[i].want, "%s \"%s\": %s %#x (%s)", t[i].dir,
                    t[i].name, tpa_status_str(s), mask, tpa_last_error());
    } else {
      ck_assert_msg(s == TPA_ERR_UNSUPPORTED && mask == 0xdead, "%s \"%s\": %s", t[i].dir,
                    t[i].name, tpa_status_str(s));
      ck_assert_msg(strstr(tpa_last_error(),
                           t[i].dir[0] == 'd' ? "lin1 and lin2" : "intermediate.dense") != NULL,
                    "message lists no module: %s", tpa_last_error());
    }
    tpa_model_free(m);
  }
  uint32_t mask;
  ck_assert_int_eq(tpa_lora_module_mask(NULL, "query", &mask), TPA_ERR_INVALID_ARGUMENT);
}
END_TEST

static Suite *families_suite(void) {
  Suite *s = suite_create("families");
  TCase *tc = tcase_create("reference-logits");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, reference_logits_match, 0, N_CASES);
  tcase_add_loop_test(tc, pruned_differs_from_full, 0, N_CASES);
  tcase_add_test(tc, roberta_pad_id_inside);
  suite_add_tcase(s, tc);
  tc = tcase_create("batch-invariance");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, batch_composition_invariance, 0,
                      (int)(sizeof full_cases / sizeof full_cases[0]));
  suite_add_tcase(s, tc);
  tc = tcase_create("end-to-end");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, predict_matches_reference, 0,
                      (int)(sizeof e2e_cases / sizeof e2e_cases[0]));
  suite_add_tcase(s, tc);
  tc = tcase_create("unknown-family");
  tcase_add_test(tc, unknown_model_type_refused);
  tcase_add_test(tc, tokenizer_larger_than_vocab_refused);
  tcase_add_loop_test(tc, inconsistent_config_refused, 0,
                      (int)(sizeof bad_configs / sizeof bad_configs[0]));
  suite_add_tcase(s, tc);
  tc = tcase_create("exports");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, export_round_trip, 0, N_CASES);
  tcase_add_loop_test(tc, adapter_round_trip, 0, 3);
  tcase_add_test(tc, lora_module_names);
  tcase_add_test(tc, lora_module_masks);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(families_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
