/* SPDX-License-Identifier: Apache-2.0 */
/* The gradient engine's tests: main and shared helpers. Everything here
 * runs oneDNN, so the executable runs with CK_FORK=no. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "grad_tests.h"

double rng_uniform(rng *r) {
  /* xorshift64* */
  r->s ^= r->s >> 12;
  r->s ^= r->s << 25;
  r->s ^= r->s >> 27;
  return (double)((r->s * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

double rng_normal(rng *r) {
  double u1 = rng_uniform(r), u2 = rng_uniform(r);
  if (u1 < 1e-300)
    u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

void fill_normal(rng *r, float *p, size_t n, double mean, double std) {
  for (size_t i = 0; i < n; i++)
    p[i] = (float)(mean + std * rng_normal(r));
}

Suite *grad_suite(const char *name, const grad_case *cases, size_t n, void (*report)(void)) {
  Suite *s = suite_create(name);
  for (size_t i = 0; i < n; i++) {
    TCase *tc = tcase_create(cases[i].name);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, cases[i].fn);
    if (report && i + 1 == n)
      tcase_add_unchecked_fixture(tc, NULL, report);
    suite_add_tcase(s, tc);
  }
  return s;
}

double worst_ratio(const float *got, const double *want, size_t n, double abs_tol, double rel_tol,
                   size_t *where) {
  double worst = 0;
  *where = 0;
  for (size_t i = 0; i < n; i++) {
    double q = fabs((double)got[i] - want[i]) / (abs_tol + rel_tol * fabs(want[i]));
    if (!(q <= worst)) {
      worst = isnan(q) ? INFINITY : q;
      *where = i;
    }
  }
  return worst;
}

static float *tensor(rng *r, size_t n, double mean, double std) {
  float *p = malloc((n ? n : 1) * sizeof *p);
  ck_assert_ptr_nonnull(p);
  fill_normal(r, p, n, mean, std);
  return p;
}

tpa_model *tiny_model(const tiny_spec *sp) {
  tpa_model *m = calloc(1, sizeof *m);
  ck_assert_ptr_nonnull(m);
  rng r = {sp->seed ? sp->seed : 1};
  tpa__config *c = &m->cfg;
  const tpa__family_desc *f = tpa__family_get(sp->family);
  ck_assert_int_lt((int)sp->family, TPA__FAM_COUNT);
  c->family = sp->family;
  c->hidden = sp->hidden;
  c->layers = sp->layers;
  c->heads = sp->heads;
  c->head_dim = sp->hidden / sp->heads;
  c->inter = sp->inter;
  c->vocab = sp->vocab;
  c->max_pos = sp->max_pos;
  /* As config.c reads them: RoBERTa's positions start after pad_id. */
  c->pad_id = sp->pad_id;
  ck_assert(sp->pad_id >= 0 && sp->pad_id < sp->vocab);
  if (f->pad_positions)
    ck_assert_int_lt(sp->pad_id + 1, sp->max_pos);
  c->max_seq = f->pad_positions ? sp->max_pos - sp->pad_id - 1 : sp->max_pos;
  c->emb = sp->family == TPA__FAM_ELECTRA && sp->emb > 0 ? sp->emb : sp->hidden;
  c->type_vocab = f->token_types ? sp->type_vocab : 0;
  c->num_labels = sp->num_labels;
  c->ln_eps = 1e-12;
  /* No dropout in the config (the tests pass theirs in tpa__grad_opts);
   * the head's follows the hidden one as classifier_dropout null does,
   * except DistilBERT's seq_classif_dropout, whose default is 0.2. */
  c->cls_dropout = sp->family == TPA__FAM_DISTILBERT ? 0.2 : c->hidden_dropout;
  c->regression = sp->num_labels == 1;
  c->lower_case = true;
  const size_t h = (size_t)c->hidden, e = (size_t)c->emb;
  tpa__weights *w = &m->w;
  w->word_emb = tensor(&r, (size_t)c->vocab * e, 0, 0.5);
  w->pos_emb = tensor(&r, (size_t)c->max_pos * e, 0, 0.5);
  w->type_emb = f->token_types ? tensor(&r, (size_t)c->type_vocab * e, 0, 0.5) : NULL;
  w->emb_ln_g = tensor(&r, e, 1, 0.1);
  w->emb_ln_b = tensor(&r, e, 0, 0.1);
  w->layer = calloc((size_t)c->layers, sizeof *w->layer);
  ck_assert_ptr_nonnull(w->layer);
  for (int32_t l = 0; l < c->layers; l++) {
    tpa__layer *L = &w->layer[l];
    L->n_heads = sp->kept ? sp->kept[l] : c->heads;
    L->head_ids = calloc((size_t)c->heads, sizeof *L->head_ids);
    ck_assert_ptr_nonnull(L->head_ids);
    /* Keep ORIGINAL heads 1, 2, ... first so that index != position. */
    for (int32_t k = 0; k < L->n_heads; k++)
      L->head_ids[k] = L->n_heads < c->heads ? (k + 1) % c->heads : k;
    for (int32_t a = 0; a < L->n_heads; a++) /* ascending, as the loader keeps them */
      for (int32_t b = a + 1; b < L->n_heads; b++)
        if (L->head_ids[b] < L->head_ids[a]) {
          int32_t t = L->head_ids[a];
          L->head_ids[a] = L->head_ids[b];
          L->head_ids[b] = t;
        }
    const size_t hq = (size_t)L->n_heads * (size_t)c->head_dim;
    L->q_w = tensor(&r, hq * h, 0, 0.4);
    L->q_b = tensor(&r, hq, 0, 0.1);
    L->k_w = tensor(&r, hq * h, 0, 0.4);
    L->k_b = tensor(&r, hq, 0, 0.1);
    L->v_w = tensor(&r, hq * h, 0, 0.4);
    L->v_b = tensor(&r, hq, 0, 0.1);
    L->o_w = tensor(&r, h * hq, 0, 0.4);
    L->o_b = tensor(&r, h, 0, 0.1);
    L->ln1_g = tensor(&r, h, 1, 0.1);
    L->ln1_b = tensor(&r, h, 0, 0.1);
    /* A narrower layer keeps the first neurons of the full-width draw, so
     * every other tensor gets the same values as without sp->ffn. */
    L->inter = L->inter_loaded = sp->ffn ? sp->ffn[l] : c->inter;
    const size_t in = (size_t)L->inter, full = (size_t)c->inter;
    L->i_w = tensor(&r, full * h, 0, 0.4);
    L->i_b = tensor(&r, full, 0, 0.1);
    float *fw = tensor(&r, h * full, 0, 0.3);
    for (size_t row = 0; row < h; row++) /* [h, full] -> [h, in] */
      memmove(fw + row * in, fw + row * full, in * sizeof *fw);
    L->f_w = fw;
    L->f_b = tensor(&r, h, 0, 0.1);
    L->ln2_g = tensor(&r, h, 1, 0.1);
    L->ln2_b = tensor(&r, h, 0, 0.1);
  }
  w->pool_w = tensor(&r, h * h, 0, 0.4);
  w->pool_b = tensor(&r, h, 0, 0.1);
  w->cls_w = tensor(&r, (size_t)c->num_labels * h, 0, 0.5);
  w->cls_b = tensor(&r, (size_t)c->num_labels, 0, 0.1);
  if (e != h) { /* ELECTRA's embeddings_project [hidden, emb], drawn last */
    w->proj_w = tensor(&r, h * e, 0, 0.4);
    w->proj_b = tensor(&r, h, 0, 0.1);
  }
  return m;
}

void tiny_model_free(tpa_model *m) {
  if (!m)
    return;
  tpa__weights *w = &m->w;
  free((void *)w->word_emb), free((void *)w->pos_emb), free((void *)w->type_emb);
  free((void *)w->emb_ln_g), free((void *)w->emb_ln_b);
  free((void *)w->proj_w), free((void *)w->proj_b);
  for (int32_t l = 0; l < m->cfg.layers; l++) {
    tpa__layer *L = &w->layer[l];
    const float *p[] = {L->q_w,   L->q_b,   L->k_w, L->k_b, L->v_w, L->v_b, L->o_w,   L->o_b,
                        L->ln1_g, L->ln1_b, L->i_w, L->i_b, L->f_w, L->f_b, L->ln2_g, L->ln2_b};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
      free((void *)p[i]);
    free(L->head_ids);
  }
  free(w->layer);
  free((void *)w->pool_w), free((void *)w->pool_b), free((void *)w->cls_w), free((void *)w->cls_b);
  free(m);
}

int main(void) {
  SRunner *sr = srunner_create(nn_backward_suite());
  srunner_add_suite(sr, fd_suite());
  srunner_add_suite(sr, torch_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
