/* SPDX-License-Identifier: Apache-2.0 */
/* Training checkpoints (see checkpoint.h). Tensor names in the file:
 * "param/<name>", "exp_avg/<name>", "exp_avg_sq/<name>", "best/<name>",
 * with <name> the trainable tensor's own (PEFT or HF) name. */
#include "stages/checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/file.h"
#include "io/json.h"
#include "io/safetensors.h"

#define FORMAT_NAME "libtpa-train-state"
#define FORMAT_VERSION "1"

static const char *const kinds[4] = {"param", "exp_avg", "exp_avg_sq", "best"};

/* ---- metadata values ---- */

enum { N_META = 14 };

typedef struct meta_text {
  const char *keys[N_META];
  const char *values[N_META];
  char num[11][32];
  char *history;
} meta_text;

static json_t *report_json(const tpa_epoch_report *r) {
  const tpa_metrics *d = &r->dev;
  /* A fixed array: epoch, step, loss, seconds, best, then the metrics;
   * macro_f1 (0.4) comes last so that older checkpoints still read.
   * Seconds are null when unknown (an epoch resumed from a checkpoint of
   * before 0.8.0): JSON has no NaN. */
  return json_pack("[i,I,f,o,b,I,f,f,f,f,f,f,I,f]", (int)r->epoch, (json_int_t)r->step,
                   r->train_loss, isfinite(r->seconds) ? json_real(r->seconds) : json_null(),
                   (int)r->best, (json_int_t)d->present, d->accuracy, d->f1, d->matthews,
                   d->pearson, d->spearman, d->main, (json_int_t)d->count, r->dev_macro_f1);
}

static tpa_status history_text(const tpa__train_state *st, char **out) {
  json_t *arr = json_array();
  bool ok = arr != NULL;
  for (int32_t i = 0; ok && i < st->n_history; i++) {
    json_t *e = report_json(&st->history[i]);
    ok = e && json_array_append_new(arr, e) == 0;
  }
  /* 17 significant digits: every double reads back exactly. */
  *out = ok ? json_dumps(arr, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
  json_decref(arr);
  return *out ? TPA_OK : TPA__NO_MEMORY("checkpoint history");
}

static tpa_status history_parse(const char *path, const char *text, tpa__train_state *st) {
  json_error_t err;
  json_t *arr = json_loads(text, 0, &err);
  tpa_status s = TPA_OK;
  if (!json_is_array(arr) || json_array_size(arr) > TPA__CKPT_MAX_HISTORY)
    s = tpa__error(TPA_ERR_HEADER, "file %s: metadata \"history\" is not a list of epochs", path);
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e) {
    if (s != TPA_OK)
      break;
    tpa_epoch_report *r = &st->history[i];
    memset(r, 0, sizeof *r);
    r->size = sizeof *r;
    r->dev.size = sizeof r->dev;
    int epoch = 0, best = 0;
    json_int_t step = 0, present = 0, count = 0;
    json_t *seconds = NULL;
    tpa_metrics *d = &r->dev;
    if (json_unpack(e, "[i,I,F,o,b,I,F,F,F,F,F,F,I]", &epoch, &step, &r->train_loss, &seconds,
                    &best, &present, &d->accuracy, &d->f1, &d->matthews, &d->pearson, &d->spearman,
                    &d->main, &count) != 0 ||
        !(json_is_number(seconds) || json_is_null(seconds)))
      s = tpa__error(TPA_ERR_HEADER, "file %s: metadata \"history\" entry %zu is malformed", path,
                     i);
    r->seconds = json_is_number(seconds) ? json_number_value(seconds) : NAN;
    const json_t *macro = json_array_get(e, 13);
    r->dev_macro_f1 = json_is_number(macro) ? json_number_value(macro) : 0;
    r->epoch = epoch;
    r->step = step;
    r->best = best;
    d->present = (uint32_t)present;
    d->count = (uint64_t)count;
  }
  if (s == TPA_OK)
    st->n_history = (int32_t)json_array_size(arr);
  json_decref(arr);
  return s;
}

static tpa_status meta_build(meta_text *mt, const char *settings, const tpa__train_state *st) {
  memset(mt, 0, sizeof *mt);
  tpa_status s = history_text(st, &mt->history);
  if (s != TPA_OK)
    return s;
  size_t k = 0, q = 0;
#define META_NUM(key, fmt, val)                                                                    \
  do {                                                                                             \
    snprintf(mt->num[q], sizeof mt->num[q], fmt, val);                                             \
    mt->keys[k] = key;                                                                             \
    mt->values[k++] = mt->num[q++];                                                                \
  } while (0)
  mt->keys[k] = "format";
  mt->values[k++] = FORMAT_NAME;
  mt->keys[k] = "version";
  mt->values[k++] = FORMAT_VERSION;
  mt->keys[k] = "settings";
  mt->values[k++] = settings;
  META_NUM("step", "%" PRId64, st->step);
  META_NUM("epoch", "%" PRId32, st->epoch);
  META_NUM("epoch_batch", "%" PRId64, st->epoch_batch);
  META_NUM("rng_epoch", "%" PRIu64, st->rng_epoch);
  META_NUM("loss_sum", "%.17g", st->loss_sum);
  META_NUM("loss_steps", "%" PRId64, st->loss_steps);
  META_NUM("best_epoch", "%" PRId32, st->best_epoch);
  META_NUM("best_metric", "%.17g", st->best_metric);
  /* "nan" when unknown; strtod reads it back. */
  META_NUM("seconds", "%.17g", st->seconds);
  META_NUM("epoch_seconds", "%.17g", st->epoch_seconds);
#undef META_NUM
  mt->keys[k] = "history";
  mt->values[k++] = mt->history;
  return TPA_OK;
}

/* ---- saving ---- */

static tpa_status make_dir(const char *dir) {
  if (mkdir(dir, 0755) == 0 || errno == EEXIST)
    return TPA_OK;
  return tpa__error(tpa__errno_status(errno), "checkpoint directory %s: %s", dir, strerror(errno));
}

tpa_status tpa__ckpt_save(const char *dir, const char *settings, const tpa__train_state *st,
                          const tpa__ckpt_tensors *t) {
  tpa_status s = make_dir(dir);
  if (s != TPA_OK)
    return s;
  const size_t kinds_used = t->best ? 4 : 3;
  size_t n_out;
  if (!tpa__mul_size(t->n, kinds_used, &n_out))
    return TPA__NO_MEMORY("checkpoint table");
  tpa__st_out *out = tpa__calloc(n_out, sizeof *out);
  char *names = tpa__calloc(n_out, 160);
  int64_t *shapes = tpa__calloc(n_out, 2 * sizeof *shapes);
  char *path = tpa__path_join(dir, TPA__CKPT_FILE);
  meta_text mt;
  memset(&mt, 0, sizeof mt);
  if (!out || !names || !shapes || !path)
    s = TPA__NO_MEMORY("checkpoint table");
  if (s == TPA_OK)
    s = meta_build(&mt, settings, st);
  size_t off = 0;
  for (size_t i = 0; s == TPA_OK && i < t->n; i++) {
    const tpa__tensor_ref *r = &t->refs[i];
    const float *src[4] = {r->data, t->m + off, t->v + off, t->best ? t->best + off : NULL};
    for (size_t k = 0; k < kinds_used; k++) {
      const size_t j = k * t->n + i;
      char *name = names + j * 160;
      snprintf(name, 160, "%s/%s", kinds[k], r->name);
      int64_t *shape = shapes + 2 * j;
      const bool matrix = r->rows > 1;
      shape[0] = matrix ? r->rows : (int64_t)r->count;
      shape[1] = r->cols;
      out[j] = (tpa__st_out){.name = name,
                             .dtype = TPA__DT_F32,
                             .ndim = matrix ? 2 : 1,
                             .shape = shape,
                             .f32 = src[k]};
    }
    off += r->count;
  }
  if (s == TPA_OK)
    s = tpa__st_write(path, out, n_out, mt.keys, mt.values, N_META);
  if (s != TPA_OK)
    s = tpa__error_prefix(s, "saving the training checkpoint");
  free(mt.history);
  free(out);
  free(names);
  free(shapes);
  free(path);
  return s;
}

/* ---- loading ---- */

static tpa_status meta_get(const tpa__st_file *f, json_t *meta, const char *key, const char **out) {
  json_t *v = json_object_get(meta, key);
  if (!json_is_string(v))
    return tpa__error(TPA_ERR_HEADER, "file %s: metadata \"%s\" is missing", f->path, key);
  *out = json_string_value(v);
  return TPA_OK;
}

static tpa_status meta_int(const tpa__st_file *f, json_t *meta, const char *key, int64_t lo,
                           int64_t *out) {
  const char *text = "";
  tpa_status s = meta_get(f, meta, key, &text);
  if (s != TPA_OK)
    return s;
  char *end = NULL;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (end == text || *end || errno || v < lo)
    return tpa__error(TPA_ERR_HEADER, "file %s: metadata \"%s\" is not a valid count: \"%s\"",
                      f->path, key, text);
  *out = v;
  return TPA_OK;
}

/* A real; with @p absent non-NULL, a missing key is *absent (a key added
 * after version 1's first release, which older checkpoints lack). */
static tpa_status meta_real(const tpa__st_file *f, json_t *meta, const char *key, double *out,
                            const double *absent) {
  if (absent && !json_object_get(meta, key)) {
    *out = *absent;
    return TPA_OK;
  }
  const char *text = "";
  tpa_status s = meta_get(f, meta, key, &text);
  if (s != TPA_OK)
    return s;
  char *end = NULL;
  double v = strtod(text, &end);
  if (end == text || *end)
    return tpa__error(TPA_ERR_HEADER, "file %s: metadata \"%s\" is not a number: \"%s\"", f->path,
                      key, text);
  *out = v;
  return TPA_OK;
}

/* The "__metadata__" object of an open file (safetensors.c keeps only the
 * tensors), re-read from the mapped header whose length it validated. */
static tpa_status read_meta(const tpa__st_file *f, json_t **out) {
  const unsigned char *p = f->map.data;
  uint64_t hl = 0;
  for (int i = 7; i >= 0; i--)
    hl = hl << 8 | p[i];
  json_t *root = NULL;
  tpa_status s =
      tpa__json_parse((const char *)p + 8, (size_t)hl, f->path, TPA_ERR_HEADER, true, &root);
  if (s != TPA_OK)
    return s;
  json_t *meta = json_object_get(root, "__metadata__");
  if (!json_is_object(meta)) {
    json_decref(root);
    return tpa__error(TPA_ERR_HEADER, "file %s: not a libtpa training checkpoint (no metadata)",
                      f->path);
  }
  json_incref(meta);
  json_decref(root);
  *out = meta;
  return TPA_OK;
}

static tpa_status read_state(const tpa__st_file *f, json_t *meta, const char *settings,
                             tpa__train_state *st) {
  const char *fmt = "", *ver = "", *saved = "", *hist = "";
  tpa_status s = meta_get(f, meta, "format", &fmt);
  if (s == TPA_OK && strcmp(fmt, FORMAT_NAME) != 0)
    s = tpa__error(TPA_ERR_HEADER, "file %s: format \"%s\" is not " FORMAT_NAME, f->path, fmt);
  if (s == TPA_OK)
    s = meta_get(f, meta, "version", &ver);
  if (s == TPA_OK && strcmp(ver, FORMAT_VERSION) != 0)
    s = tpa__error(TPA_ERR_UNSUPPORTED,
                   "file %s: checkpoint version %s (this libtpa reads " FORMAT_VERSION ")", f->path,
                   ver);
  if (s == TPA_OK)
    s = meta_get(f, meta, "settings", &saved);
  if (s == TPA_OK && strcmp(saved, settings) != 0)
    s = tpa__error(TPA_ERR_INVALID_ARGUMENT,
                   "file %s: the checkpoint was written with other settings, so it cannot be "
                   "resumed with these (remove it to start over):\n  saved: %s\n  now:   %s",
                   f->path, saved, settings);
  int64_t v[6] = {0};
  static const char *const ikeys[6] = {"step",       "epoch",      "epoch_batch",
                                       "loss_steps", "best_epoch", "rng_epoch"};
  for (int i = 0; s == TPA_OK && i < 5; i++)
    s = meta_int(f, meta, ikeys[i], 0, &v[i]);
  const char *rng_text = NULL;
  if (s == TPA_OK)
    s = meta_get(f, meta, "rng_epoch", &rng_text);
  if (s == TPA_OK) {
    char *end = NULL;
    errno = 0;
    unsigned long long r = strtoull(rng_text, &end, 10);
    if (end == rng_text || *end || errno)
      s = tpa__error(TPA_ERR_HEADER, "file %s: metadata \"rng_epoch\" is invalid", f->path);
    st->rng_epoch = r;
  }
  if (s == TPA_OK && (v[1] > INT32_MAX || v[4] > INT32_MAX))
    s = tpa__error(TPA_ERR_HEADER, "file %s: epoch out of range", f->path);
  if (s == TPA_OK)
    s = meta_real(f, meta, "loss_sum", &st->loss_sum, NULL);
  if (s == TPA_OK)
    s = meta_real(f, meta, "best_metric", &st->best_metric, NULL);
  /* Before 0.8.0 no time was recorded: the run's earlier time is unknown,
   * and so is the epoch in progress's unless the state is at its start. */
  const double unknown = NAN, none = 0;
  if (s == TPA_OK)
    s = meta_real(f, meta, "seconds", &st->seconds, &unknown);
  if (s == TPA_OK)
    s = meta_real(f, meta, "epoch_seconds", &st->epoch_seconds, v[2] > 0 ? &unknown : &none);
  if (s == TPA_OK)
    s = meta_get(f, meta, "history", &hist);
  if (s == TPA_OK)
    s = history_parse(f->path, hist, st);
  if (s == TPA_OK) {
    st->step = v[0];
    st->epoch = (int32_t)v[1];
    st->epoch_batch = v[2];
    st->loss_steps = v[3];
    st->best_epoch = (int32_t)v[4];
  }
  return s;
}

static tpa_status read_tensor(const tpa__st_file *f, const char *kind, const tpa__tensor_ref *r,
                              float *dst, bool optional, bool *present) {
  char name[160];
  snprintf(name, sizeof name, "%s/%s", kind, r->name);
  const tpa__st_tensor *t = tpa__st_find(f, name);
  if (present)
    *present = t != NULL;
  if (!t)
    return optional ? TPA_OK
                    : tpa__error(TPA_ERR_TENSOR_MISSING, "file %s: tensor \"%s\" is missing",
                                 f->path, name);
  if (t->dtype != TPA__DT_F32 || t->numel != (uint64_t)r->count)
    return tpa__error(TPA_ERR_TENSOR_SHAPE,
                      "file %s: tensor \"%s\" has %" PRIu64 " %s values, expected %zu F32", f->path,
                      name, t->numel, tpa__dtype_name(t->dtype), r->count);
  if (r->count)
    memcpy(dst, t->data, r->count * sizeof(float));
  return TPA_OK;
}

tpa_status tpa__ckpt_load(const char *dir, const char *settings, tpa__train_state *st,
                          const tpa__ckpt_tensors *t, bool *found, bool *has_best) {
  *found = false;
  *has_best = false;
  char *path = tpa__path_join(dir, TPA__CKPT_FILE);
  if (!path)
    return TPA__NO_MEMORY("checkpoint path");
  tpa__st_file f;
  tpa_status s = tpa__st_open(&f, path);
  free(path);
  if (s == TPA_ERR_NOT_FOUND) {
    tpa__error_clear();
    return TPA_OK;
  }
  if (s != TPA_OK)
    return s;
  json_t *meta = NULL;
  s = read_meta(&f, &meta);
  tpa__train_state tmp;
  memset(&tmp, 0, sizeof tmp);
  if (s == TPA_OK)
    s = read_state(&f, meta, settings, &tmp);
  json_decref(meta);
  /* Every tensor is checked before any buffer is touched... */
  size_t off = 0;
  bool best_all = t->best != NULL;
  for (size_t i = 0; s == TPA_OK && i < t->n; i++) {
    const tpa__tensor_ref *r = &t->refs[i];
    for (int k = 0; s == TPA_OK && k < 3; k++) {
      char name[160];
      snprintf(name, sizeof name, "%s/%s", kinds[k], r->name);
      const tpa__st_tensor *x = tpa__st_find(&f, name);
      if (!x)
        s = tpa__error(TPA_ERR_TENSOR_MISSING, "file %s: tensor \"%s\" is missing", f.path, name);
      else if (x->dtype != TPA__DT_F32 || x->numel != (uint64_t)r->count)
        s = tpa__error(TPA_ERR_TENSOR_SHAPE, "file %s: tensor \"%s\" does not have %zu F32 values",
                       f.path, name, r->count);
    }
  }
  /* ...then copied. */
  for (size_t i = 0; s == TPA_OK && i < t->n; i++) {
    const tpa__tensor_ref *r = &t->refs[i];
    s = read_tensor(&f, kinds[0], r, r->data, false, NULL);
    if (s == TPA_OK)
      s = read_tensor(&f, kinds[1], r, t->m + off, false, NULL);
    if (s == TPA_OK)
      s = read_tensor(&f, kinds[2], r, t->v + off, false, NULL);
    if (s == TPA_OK && t->best) {
      bool present = false;
      s = read_tensor(&f, kinds[3], r, t->best + off, true, &present);
      best_all = best_all && present;
    }
    off += r->count;
  }
  tpa__st_close(&f);
  if (s != TPA_OK)
    return s;
  *st = tmp;
  *found = true;
  *has_best = best_all && t->n > 0;
  return TPA_OK;
}
