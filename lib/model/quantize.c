/* SPDX-License-Identifier: Apache-2.0 */
/* tpa_model_quantize: an f32 model's block Linears and word embeddings
 * to int8 (docs/quantization.md). Weights: symmetric, one scale per
 * output row, scale = max|row| / Q and code = rint(w / scale), Q = 63 for
 * the block Linears (lib/nn's int8 matmul needs |code| <= 63, nn.h says
 * why) and 127 for the word embeddings; a row of zeros gets scale 1, so
 * no scale is ever 0. Static activation scales: max|x| over the
 * calibration examples at each Linear's input, / 127. The model's tables are rebuilt
 * through tpa__model_replace_weights, so a failure leaves it as it was. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/log.h"
#include "core/params.h"
#include "model/forward.h"
#include "model/model.h"
#include "nn/nn.h"
#include "tpa/quantize.h"

static const tpa_quantize_params quantize_defaults = {
    .size = sizeof(tpa_quantize_params),
    .mode = TPA_QUANT_DYNAMIC,
    .calibration = NULL,
    .max_examples = 0,
    .max_seq_length = 0,
    .log = NULL,
    .user = NULL,
};

TPA_API void tpa_quantize_params_init(tpa_quantize_params *p, size_t size) {
  tpa__params_init(p, size, &quantize_defaults, sizeof quantize_defaults);
}

tpa_status tpa__model_require_f32(const tpa_model *m, const char *what) {
  if (!m || !m->w.quant)
    return TPA_OK;
  return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                    "%s: the model is quantized (int8); prune, train, merge and export the f32 "
                    "model, then quantize it",
                    what);
}

TPA_API tpa_quant_mode tpa_model_quant_mode(const tpa_model *m) {
  return m && m->w.quant ? (tpa_quant_mode)m->w.quant->activations : TPA_QUANT_NONE;
}

/* Rows of the [rows, cols] f32 matrix @p w to int8 codes in -qmax..qmax
 * and their scales. */
static void quantize_matrix(const float *w, int64_t rows, int64_t cols, float qmax, int8_t *q,
                            float *scale) {
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    const float *x = w + r * cols;
    float amax = 0.0f;
    for (int64_t k = 0; k < cols; k++)
      amax = fabsf(x[k]) > amax ? fabsf(x[k]) : amax;
    const float s = amax > 0.0f ? amax / qmax : 1.0f;
    scale[r] = s;
    for (int64_t k = 0; k < cols; k++) {
      float v = rintf(x[k] / s);
      q[r * cols + k] = (int8_t)(v > qmax ? qmax : v < -qmax ? -qmax : v);
    }
  }
}

/* One Linear to quantize: its f32 weight and where its tables go. */
typedef struct job {
  const float *w;
  int64_t rows, cols;
  tpa__qlinear *q;
  int slot; /* calibration slot (forward.h), or -1 */
} job;

/* The calibration maxima of every block Linear input: the f32 model run
 * over the calibration examples. */
static tpa_status calibrate(const tpa_model *m, const tpa_quantize_params *p, float *observe) {
  const tpa_dataset *ds = p->calibration;
  size_t n = tpa_dataset_size(ds);
  if (p->max_examples && p->max_examples < n)
    n = p->max_examples;
  if (n == 0)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_model_quantize: static scales need calibration examples; the "
                      "calibration dataset is empty");
  float *logits = NULL;
  size_t cap = n * (size_t)m->cfg.num_labels;
  tpa_status s = TPA_OK;
  if (!(logits = tpa__malloc_array(cap, sizeof *logits)))
    s = TPA__NO_MEMORY("calibration logits");
  tpa_predict_params pp;
  tpa_predict_params_init(&pp, sizeof pp);
  pp.max_seq_length = p->max_seq_length;
  if (s == TPA_OK)
    s = tpa__predict_observe(m, ds, &pp, logits, cap, observe, n);
  free(logits);
  if (s != TPA_OK)
    return tpa__error_prefix(s, "tpa_model_quantize: calibration");
  return TPA_OK;
}

TPA_API tpa_status tpa_model_quantize(tpa_model *m, const tpa_quantize_params *params) {
  tpa__error_clear();
  if (!m)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_model_quantize: model is NULL");
  tpa_quantize_params p;
  tpa_status s = tpa__params_read(&p, sizeof p, TPA__PARAMS_END(tpa_quantize_params, user), params,
                                  &quantize_defaults, "tpa_model_quantize", "tpa_quantize_params");
  if (s != TPA_OK)
    return s;
  if ((s = tpa__model_require_f32(m, "tpa_model_quantize")) != TPA_OK)
    return s;
  if (p.mode != TPA_QUANT_DYNAMIC && p.mode != TPA_QUANT_STATIC)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_model_quantize: mode %d is not %d or %d",
                      (int)p.mode, TPA_QUANT_DYNAMIC, TPA_QUANT_STATIC);
  if (p.mode == TPA_QUANT_STATIC && !p.calibration)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_model_quantize: static scales need calibration data (params->"
                      "calibration is NULL)");
  const tpa__config *c = &m->cfg;
  const size_t L = (size_t)c->layers;
  float *observe = NULL;
  if (p.mode == TPA_QUANT_STATIC) {
    if (!(observe = tpa__calloc(L * TPA__OBSERVE_SLOTS, sizeof *observe)))
      return TPA__NO_MEMORY("calibration");
    if ((s = calibrate(m, &p, observe)) != TPA_OK) {
      free(observe);
      return s;
    }
  }

  /* The jobs, then one block for every code and one for every scale. */
  const size_t n_jobs = 6 * L;
  job *jobs = tpa__calloc(n_jobs, sizeof *jobs);
  tpa__quant *q = tpa__calloc(1, sizeof *q);
  tpa__qlayer *ql = tpa__calloc(L, sizeof *ql);
  tpa__layer *layers = NULL;
  tpa__weights w;
  /* The f32 matrices in HF's layout (unpacked where they live only packed). */
  tpa__plain plain = {0};
  if (!jobs || !q || !ql || (s = tpa__model_plain(m, &plain)) != TPA_OK) {
    s = s != TPA_OK ? s : TPA__NO_MEMORY("int8 tables");
    goto fail;
  }
  w = plain.w;
  layers = plain.layers;
  plain.layers = NULL; /* the new table's array now */
  const int64_t H = c->hidden;
  size_t codes = (size_t)c->vocab * (size_t)c->emb, scales = (size_t)c->vocab + 6 * L;
  for (size_t l = 0; l < L; l++) {
    tpa__layer *ly = &layers[l];
    const int64_t a = (int64_t)ly->n_heads * c->head_dim, I = ly->inter;
    job *j = jobs + 6 * l;
    j[0] = (job){ly->q_w, a, H, &ql[l].q, 0};
    j[1] = (job){ly->k_w, a, H, &ql[l].k, 0};
    j[2] = (job){ly->v_w, a, H, &ql[l].v, 0};
    j[3] = (job){ly->o_w, H, a, &ql[l].o, 1};
    j[4] = (job){ly->i_w, I, H, &ql[l].i, 2};
    j[5] = (job){ly->f_w, H, I, &ql[l].f, 3};
    for (int k = 0; k < 6; k++) {
      codes += (size_t)(j[k].rows * j[k].cols);
      scales += (size_t)j[k].rows;
    }
  }
  int8_t *cb = tpa__aligned_alloc(codes ? codes : 1);
  float *sb = tpa__malloc_array(scales, sizeof *sb);
  if (!cb || !sb || !tpa__model_own(m, cb, codes)) {
    free(cb);
    free(sb);
    s = TPA__NO_MEMORY("int8 weights");
    goto fail;
  }
  if (!tpa__model_own(m, sb, scales * sizeof *sb)) {
    free(sb);
    s = TPA__NO_MEMORY("int8 weights");
    goto fail;
  }
  /* Embedding rows are dequantized in C: all 8 bits. */
  quantize_matrix(m->w.word_emb, c->vocab, c->emb, 127.0f, cb, sb);
  q->word_emb = cb;
  q->word_scale = sb;
  cb += (size_t)c->vocab * (size_t)c->emb;
  sb += c->vocab;
  for (size_t i = 0; i < n_jobs; i++) {
    job *j = &jobs[i];
    if (j->rows * j->cols > 0)
      quantize_matrix(j->w, j->rows, j->cols, (float)TPA__NN_WMAX, cb, sb);
    j->q->w = cb;
    j->q->scale = sb;
    cb += (size_t)(j->rows * j->cols);
    sb += j->rows;
  }
  for (size_t l = 0; l < L && observe; l++)
    for (int k = 0; k < 6; k++) {
      job *j = &jobs[6 * l + (size_t)k];
      float amax = observe[l * TPA__OBSERVE_SLOTS + (size_t)j->slot];
      *sb = isfinite(amax) && amax > 0.0f ? amax / (float)TPA__NN_QMAX : 1.0f;
      j->q->in_scale = sb++;
    }
  /* The f32 copies are no longer read: the new table points at none. */
  for (size_t l = 0; l < L; l++) {
    tpa__layer *ly = &layers[l];
    ly->q_w = ly->k_w = ly->v_w = ly->o_w = ly->i_w = ly->f_w = NULL;
  }
  w.word_emb = NULL;
  q->activations = p.mode == TPA_QUANT_STATIC ? TPA__QUANT_STATIC : TPA__QUANT_DYNAMIC;
  q->layer = ql;
  w.layer = layers;
  w.quant = q;
  if (!tpa__model_own(m, q, sizeof *q)) {
    s = TPA__NO_MEMORY("int8 tables");
    goto fail;
  }
  q = NULL;
  if (!tpa__model_own(m, ql, L * sizeof *ql)) {
    s = TPA__NO_MEMORY("int8 tables");
    goto fail;
  }
  ql = NULL;
  s = tpa__model_replace_weights(m, &w);
  if (s == TPA_OK) {
    m->cfg.quant = p.mode == TPA_QUANT_STATIC ? TPA__QUANT_STATIC : TPA__QUANT_DYNAMIC;
    tpa__log(p.log, p.user, TPA_LOG_INFO,
             "quantized %zu block Linears and the word embeddings to int8 (%s activation scales)",
             n_jobs, p.mode == TPA_QUANT_STATIC ? "static" : "dynamic");
  }
fail:
  tpa__plain_free(&plain);
  free(layers);
  free(ql);
  free(q);
  free(jobs);
  free(observe);
  return s;
}
