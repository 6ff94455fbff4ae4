/* SPDX-License-Identifier: Apache-2.0 */
/* Task-oriented head importance (docs/method.md section 5): per-example
 * absolute head-mask gradients from the gradient engine, summed over the
 * first N examples, divided by their non-pad token count and normalised
 * per layer. With params.ffn, the same for a mask on every intermediate
 * neuron (section 5a), in the same passes.
 *
 * Only the head-mask gradient is requested from tpa__loss_and_grads (no
 * weight or LoRA gradient buffers exist), dropout is off and the model's
 * own weights are only read. Each example's gradient is that of its own
 * loss and pads do not reach real tokens, so the table does not depend on
 * how the examples are batched: batches are cut from the sample sorted by
 * length (less padding), as prediction does. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "model/model.h"
#include "core/log.h"
#include "core/params.h"
#include "dist/dist.h"
#include "model/encode.h"
#include "model/grad.h"
#include "stages/importance.h"
#include "tpa/data.h"
#include "tpa/tokenizer.h"

static const tpa_importance_params importance_defaults = {
    .size = sizeof(tpa_importance_params),
    .samples = 2000, /* the paper's sample: the first 2,000 training examples */
    .batch_size = 32,
    .max_seq_length = 0, /* 0: min(128, max_position_embeddings) */
    .progress = NULL,
    .user = NULL,
    .dist = NULL,
    .ffn = false,
};

void tpa_importance_params_init(tpa_importance_params *p, size_t size) {
  tpa__params_init(p, size, &importance_defaults, sizeof importance_defaults);
}

tpa_status tpa__importance_alloc(tpa_importance **out, int32_t layers, int32_t heads) {
  *out = NULL;
  if (layers <= 0 || heads <= 0 || layers > TPA__IMPORTANCE_MAX_DIM ||
      heads > TPA__IMPORTANCE_MAX_DIM)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "importance table: %d layers x %d heads", layers,
                      heads);
  const size_t cells = (size_t)layers * (size_t)heads;
  tpa_importance *imp = calloc(1, sizeof *imp);
  if (!imp)
    return TPA__NO_MEMORY("importance table");
  imp->layers = layers;
  imp->heads = heads;
  imp->raw = tpa__malloc_array(cells, sizeof *imp->raw);
  imp->norm = tpa__malloc_array(cells, sizeof *imp->norm);
  imp->block = tpa__calloc((size_t)layers, sizeof *imp->block);
  if (!imp->raw || !imp->norm || !imp->block) {
    tpa_importance_free(imp);
    return TPA__NO_MEMORY("importance table");
  }
  for (size_t i = 0; i < cells; i++)
    imp->raw[i] = imp->norm[i] = NAN;
  *out = imp;
  return TPA_OK;
}

tpa_status tpa__importance_alloc_ffn(tpa_importance *imp, const int32_t *widths) {
  imp->ffn_off = tpa__calloc((size_t)imp->layers + 1, sizeof *imp->ffn_off);
  if (!imp->ffn_off)
    return TPA__NO_MEMORY("importance table: neurons");
  for (int32_t l = 0; l < imp->layers; l++) {
    if (widths[l] <= 0 || widths[l] > TPA__IMPORTANCE_MAX_NEURONS)
      return tpa__error(TPA_ERR_INVALID_ARGUMENT, "importance table: layer %d has %d neurons", l,
                        widths[l]);
    imp->ffn_off[l + 1] = imp->ffn_off[l] + (size_t)widths[l];
  }
  const size_t n = imp->ffn_off[imp->layers];
  imp->ffn_raw = tpa__calloc(n, sizeof *imp->ffn_raw);
  imp->ffn_norm = tpa__calloc(n, sizeof *imp->ffn_norm);
  if (!imp->ffn_raw || !imp->ffn_norm)
    return TPA__NO_MEMORY("importance table: neurons");
  return TPA_OK;
}

void tpa_importance_free(tpa_importance *imp) {
  if (!imp)
    return;
  free(imp->raw);
  free(imp->norm);
  free(imp->block);
  free(imp->ffn_off);
  free(imp->ffn_raw);
  free(imp->ffn_norm);
  free(imp);
}

/* Activation memory one pass may keep. The gradient engine stores every
 * layer's activations of a pass, about 11 floats per token, hidden unit
 * and layer (40 KiB per token for BERT-base), so importance cuts its
 * passes to ~100 MiB of them (256 tokens of BERT-base, far below
 * training's 1024) to stay near inference memory. Measured on BERT-base
 * shapes: peak RSS 0.90 GB instead of 1.29 GB, for ~25% more time. The
 * result does not depend on it (each example's gradient is its own). */
#define PASS_BYTES ((size_t)100 << 20)

/* Batches are padded to a multiple of 8 (aligned shapes, fewer distinct
 * primitives), never past the position table; pads change no gradient. */
static int32_t padded_length(int32_t longest, int32_t limit) {
  int32_t s = (longest + 7) / 8 * 8;
  return s > limit ? (longest > limit ? longest : limit) : s;
}

/* Buffers of one run, freed together. */
typedef struct run_bufs {
  tpa__encoded e;
  size_t *order;
  tpa__grad_work *work;
  int32_t *ids, *types, *mask;
  float *labels, *per; /* per: [batch, layers, heads] d l_e / d m */
  float *fper;         /* [batch, layers, inter] d l_e / d n, or NULL */
  /* Sums over examples of |d l_e / d m| [layers, heads], then of
   * |d l_e / d n| [layers, inter] when neurons are scored, then this
   * rank's token count: one array, so one reduction adds them all. */
  double *sum;
  size_t cells, fcells; /* heads and neurons in sum */
} run_bufs;

static void run_bufs_free(run_bufs *r) {
  tpa__encoded_free(&r->e);
  free(r->order);
  tpa__grad_work_free(r->work);
  free(r->ids);
  free(r->types);
  free(r->mask);
  free(r->labels);
  free(r->per);
  free(r->fper);
  free(r->sum);
  memset(r, 0, sizeof *r);
}

static tpa_status run_bufs_alloc(run_bufs *r, const tpa_model *m, size_t bs, int32_t max_seq) {
  const size_t cells = r->cells, fcells = r->fcells;
  size_t per, fper, tok;
  if (!tpa__mul_size(bs, cells, &per) || !tpa__mul_size(bs, fcells, &fper) ||
      !tpa__mul_size(bs, (size_t)max_seq, &tok))
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "importance: batch of %zu is too large", bs);
  tpa_status s = tpa__grad_work_create(&r->work, m, (int32_t)bs, max_seq);
  if (s != TPA_OK)
    return s;
  r->ids = tpa__malloc_array(tok, sizeof *r->ids);
  r->types = tpa__malloc_array(tok, sizeof *r->types);
  r->mask = tpa__malloc_array(tok, sizeof *r->mask);
  r->labels = tpa__malloc_array(bs, sizeof *r->labels);
  r->per = tpa__malloc_array(per, sizeof *r->per);
  r->fper = fcells ? tpa__malloc_array(fper, sizeof *r->fper) : NULL;
  if (!r->ids || !r->types || !r->mask || !r->labels || !r->per || (fcells && !r->fper))
    return TPA__NO_MEMORY("importance: batch");
  return TPA_OK;
}

/* Add |d l_e / d n| of the batch's rows to the neuron sums. */
static void accumulate_ffn(const float *per, size_t rows, size_t fcells, double *sum) {
  for (size_t r = 0; r < rows; r++)
    for (size_t i = 0; i < fcells; i++)
      sum[i] += fabs((double)per[r * fcells + i]);
}

/* Add |d l_e / d m| of the batch's rows to the sums, kept heads only. */
static void accumulate(const tpa_model *m, const float *per, size_t rows, double *sum) {
  const size_t heads = (size_t)m->cfg.heads, layers = (size_t)m->cfg.layers;
  for (size_t r = 0; r < rows; r++)
    for (size_t l = 0; l < layers; l++) {
      const tpa__layer *L = &m->w.layer[l];
      const float *g = per + (r * layers + l) * heads;
      for (int32_t h = 0; h < L->n_heads; h++) {
        const size_t orig = L->head_ids ? (size_t)L->head_ids[h] : (size_t)h;
        sum[l * heads + orig] += fabs((double)g[orig]);
      }
    }
}

/* raw = sum / T for kept heads; norm = raw / (L2 of the layer + 1e-20);
 * block = sum of the layer's raw. Pruned heads stay NaN. */
static void finish(tpa_importance *imp, const tpa_model *m, const double *sum) {
  const size_t heads = (size_t)imp->heads;
  for (int32_t l = 0; l < imp->layers; l++) {
    const tpa__layer *L = &m->w.layer[l];
    double *raw = imp->raw + (size_t)l * heads, *norm = imp->norm + (size_t)l * heads;
    double sq = 0, block = 0;
    for (int32_t h = 0; h < L->n_heads; h++) {
      const size_t orig = L->head_ids ? (size_t)L->head_ids[h] : (size_t)h;
      raw[orig] = sum[(size_t)l * heads + orig] / (double)imp->tokens;
      sq += raw[orig] * raw[orig];
      block += raw[orig];
    }
    const double denom = sqrt(sq) + 1e-20;
    for (size_t h = 0; h < heads; h++)
      if (!isnan(raw[h]))
        norm[h] = raw[h] / denom;
    imp->block[l] = block;
  }
}

/* The same for neurons: raw = sum / T, norm = raw / (L2 of the layer + 1e-20). */
static void finish_ffn(tpa_importance *imp, const double *sum) {
  for (int32_t l = 0; l < imp->layers; l++) {
    const size_t lo = imp->ffn_off[l], hi = imp->ffn_off[l + 1];
    double sq = 0;
    for (size_t j = lo; j < hi; j++) {
      imp->ffn_raw[j] = sum[j] / (double)imp->tokens;
      sq += imp->ffn_raw[j] * imp->ffn_raw[j];
    }
    const double denom = sqrt(sq) + 1e-20;
    for (size_t j = lo; j < hi; j++)
      imp->ffn_norm[j] = imp->ffn_raw[j] / denom;
  }
}

static tpa_status compute(tpa_importance *imp, const tpa_model *m, const tpa_dataset *ds,
                          const tpa_importance_params *p, size_t n, int32_t max_len, run_bufs *r) {
  /* Only the sample is tokenized (not all 393k rows of MNLI for 2,000),
   * and l_e needs a label. */
  tpa_status s = tpa__encode_dataset(m, ds, n, max_len, true, "importance", &r->e);
  if (s != TPA_OK)
    return s;
  imp->examples = n;
  imp->tokens = r->e.tokens;
  r->order = tpa__malloc_array(n, sizeof *r->order);
  void *scratch = malloc(tpa__encoded_sort_scratch(n));
  if (!r->order || !scratch) {
    free(scratch);
    return TPA__NO_MEMORY("importance: order");
  }
  tpa__encoded_by_length(&r->e, r->order, scratch);
  free(scratch);
  /* The first batch holds the longest rows: it sizes the work area. */
  const int32_t max_pos = m->cfg.max_seq;
  const int32_t max_seq = padded_length(r->e.len[r->order[0]], max_pos);
  size_t bs = (size_t)p->batch_size < n ? (size_t)p->batch_size : n;
  const size_t per_token = (size_t)m->cfg.hidden * (size_t)m->cfg.layers * 11 * sizeof(float);
  const size_t pass_rows = PASS_BYTES / (per_token ? per_token : 1) / (size_t)max_seq;
  if (bs > pass_rows)
    bs = pass_rows > 0 ? pass_rows : 1;
  s = run_bufs_alloc(r, m, bs, max_seq);
  const tpa__grad_opts opts = {.hidden_dropout = 0, .attn_dropout = 0, .head_mask = NULL};
  /* Data parallelism: batch k is rank k % size's (batches run longest
   * first, so the ranks get similar work); the sums are reduced by the
   * caller. */
  const size_t ranks = (size_t)tpa__dist_size(p->dist), me = (size_t)tpa__dist_rank(p->dist);
  const size_t cells = r->cells, total = r->cells + r->fcells;
  size_t k = 0;
  for (size_t b0 = 0; s == TPA_OK && b0 < n; b0 += bs, k++) {
    const size_t rows = b0 + bs <= n ? bs : n - b0;
    if (k % ranks != me)
      continue;
    for (size_t i = 0; i < rows; i++)
      r->sum[total] += (double)r->e.len[r->order[b0 + i]];
    const int32_t seq = padded_length(r->e.len[r->order[b0]], max_pos);
    tpa__encoded_fill(&r->e, r->order + b0, rows, seq, r->ids, r->types, r->mask, r->labels);
    const tpa__batch b = {.batch = (int32_t)rows,
                          .seq = seq,
                          .ids = r->ids,
                          .type_ids = r->types,
                          .mask = r->mask,
                          .labels = r->labels};
    tpa__grad_out g = {
        .w = NULL, .lora = NULL, .head_mask_per_example = r->per, .ffn_mask_per_example = r->fper};
    double loss = 0;
    s = tpa__loss_and_grads(r->work, m, &m->w, NULL, &b, &opts, &loss, NULL, &g);
    if (s == TPA_OK) {
      accumulate(m, r->per, rows, r->sum);
      if (r->fper)
        accumulate_ffn(r->fper, rows, r->fcells, r->sum + cells);
      s = tpa__progress(p->progress, p->user, "importance", b0 + rows, n);
    }
  }
  return s;
}

tpa_status tpa_importance_compute(tpa_importance **out, const tpa_model *model,
                                  const tpa_dataset *ds, const tpa_importance_params *params) {
  tpa__error_clear();
  {
    tpa_status qs = tpa__model_require_f32(model, "tpa_importance_compute");
    if (qs != TPA_OK)
      return qs;
  }
  if (!out)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_importance_compute: NULL out");
  *out = NULL;
  if (!model || !ds)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_importance_compute: NULL %s",
                      !model ? "model" : "dataset");
  tpa_importance_params p;
  tpa_status ps =
      tpa__params_read(&p, sizeof p, TPA__PARAMS_END(tpa_importance_params, ffn), params,
                       &importance_defaults, "tpa_importance_compute", "tpa_importance_params");
  if (ps != TPA_OK)
    return ps;
  if (!model->infer || !model->tok)
    return tpa__error(TPA_ERR_INTERNAL, "tpa_importance_compute: model is incomplete");
  if (p.batch_size <= 0)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT, "tpa_importance_compute: batch_size %d must be > 0",
                      p.batch_size);
  int32_t max_len = 0;
  tpa_status s = tpa__resolve_max_seq(model, p.max_seq_length, "tpa_importance_compute", &max_len);
  if (s == TPA_OK)
    s = tpa__check_task(model, ds, "tpa_importance_compute");
  if (s != TPA_OK)
    return s;
  size_t n = tpa_dataset_size(ds);
  if (p.samples > 0 && p.samples < n)
    n = p.samples;
  if (n == 0)
    return tpa__error(TPA_ERR_INVALID_ARGUMENT,
                      "tpa_importance_compute: the dataset has no examples to score");
  tpa_importance *imp = NULL;
  s = tpa__importance_alloc(&imp, model->cfg.layers, model->cfg.heads);
  if (s != TPA_OK)
    return s;
  run_bufs r;
  memset(&r, 0, sizeof r);
  r.cells = (size_t)model->cfg.layers * (size_t)model->cfg.heads;
  if (p.ffn) {
    int32_t *widths = tpa__malloc_array((size_t)model->cfg.layers, sizeof *widths);
    s = widths ? TPA_OK : TPA__NO_MEMORY("importance: neurons");
    for (int32_t l = 0; s == TPA_OK && l < model->cfg.layers; l++)
      widths[l] = model->w.layer[l].inter;
    if (s == TPA_OK)
      s = tpa__importance_alloc_ffn(imp, widths);
    free(widths);
    if (s == TPA_OK)
      r.fcells = imp->ffn_off[imp->layers];
  }
  if (s == TPA_OK)
    r.sum = tpa__calloc(r.cells + r.fcells + 1, sizeof *r.sum);
  if (s == TPA_OK && !r.sum)
    s = TPA__NO_MEMORY("importance: sums");
  if (s == TPA_OK)
    s = compute(imp, model, ds, &p, n, max_len, &r);
  /* Every rank agrees on the status, then the sums and token counts are
   * added up in double (no-ops in one process), so every rank gets the
   * same table. */
  const size_t total = r.cells + r.fcells;
  s = tpa__dist_sum_agree_f64(p.dist, s, r.sum, r.sum ? total + 1 : 0, "importance sums");
  if (s == TPA_OK && tpa__dist_active(p.dist))
    imp->tokens = (uint64_t)r.sum[total];
  if (s == TPA_OK)
    finish(imp, model, r.sum);
  if (s == TPA_OK && r.fcells)
    finish_ffn(imp, r.sum + r.cells);
  run_bufs_free(&r);
  if (s != TPA_OK) {
    tpa_importance_free(imp);
    return s;
  }
  *out = imp;
  return TPA_OK;
}

/* ------------------------------------------------------------ accessors */

static bool in_range(const tpa_importance *imp, int32_t layer, int32_t head) {
  return imp && layer >= 0 && layer < imp->layers && head >= 0 && head < imp->heads;
}

static size_t cell(const tpa_importance *imp, int32_t layer, int32_t head) {
  return (size_t)layer * (size_t)imp->heads + (size_t)head;
}

int32_t tpa_importance_num_layers(const tpa_importance *imp) {
  return imp ? imp->layers : 0;
}

int32_t tpa_importance_num_heads(const tpa_importance *imp) {
  return imp ? imp->heads : 0;
}

uint64_t tpa_importance_examples(const tpa_importance *imp) {
  return imp ? imp->examples : 0;
}

uint64_t tpa_importance_tokens(const tpa_importance *imp) {
  return imp ? imp->tokens : 0;
}

bool tpa_importance_has_head(const tpa_importance *imp, int32_t layer, int32_t head) {
  return in_range(imp, layer, head) && !isnan(imp->raw[cell(imp, layer, head)]);
}

double tpa_importance_raw(const tpa_importance *imp, int32_t layer, int32_t head) {
  return in_range(imp, layer, head) ? imp->raw[cell(imp, layer, head)] : NAN;
}

double tpa_importance_normalized(const tpa_importance *imp, int32_t layer, int32_t head) {
  return in_range(imp, layer, head) ? imp->norm[cell(imp, layer, head)] : NAN;
}

double tpa_importance_block(const tpa_importance *imp, int32_t layer) {
  return imp && layer >= 0 && layer < imp->layers ? imp->block[layer] : NAN;
}

static size_t ffn_cell(const tpa_importance *imp, int32_t layer, int32_t neuron, bool *ok) {
  *ok = imp && imp->ffn_off && layer >= 0 && layer < imp->layers && neuron >= 0 &&
        (size_t)neuron < imp->ffn_off[layer + 1] - imp->ffn_off[layer];
  return *ok ? imp->ffn_off[layer] + (size_t)neuron : 0;
}

bool tpa_importance_has_ffn(const tpa_importance *imp) {
  return imp && imp->ffn_off;
}

int32_t tpa_importance_ffn_width(const tpa_importance *imp, int32_t layer) {
  return imp && imp->ffn_off && layer >= 0 && layer < imp->layers
             ? (int32_t)(imp->ffn_off[layer + 1] - imp->ffn_off[layer])
             : 0;
}

double tpa_importance_ffn_raw(const tpa_importance *imp, int32_t layer, int32_t neuron) {
  bool ok;
  const size_t i = ffn_cell(imp, layer, neuron, &ok);
  return ok ? imp->ffn_raw[i] : NAN;
}

double tpa_importance_ffn_normalized(const tpa_importance *imp, int32_t layer, int32_t neuron) {
  bool ok;
  const size_t i = ffn_cell(imp, layer, neuron, &ok);
  return ok ? imp->ffn_norm[i] : NAN;
}
