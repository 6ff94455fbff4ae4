/* SPDX-License-Identifier: Apache-2.0 */
/* AdamW, the learning-rate schedule and gradient clipping (see optim.h).
 * The update follows torch.optim.AdamW's single-tensor code line by line,
 * in float32 with the scalars rounded to float as PyTorch's CPU kernels
 * do, so a few steps agree with torch to float rounding. The shuffle
 * generator is core/rng.h's. */
#include "stages/optim.h"

#include <math.h>

void tpa__adamw_update(const tpa__adamw *o, int64_t t, double lr, bool decay, float *p,
                       const float *g, float *m, float *v, size_t n) {
  const float keep = (float)(1.0 - lr * (decay ? o->weight_decay : 0.0));
  const float b1 = (float)o->beta1, b2 = (float)o->beta2;
  const float c1 = (float)(1.0 - o->beta1), c2 = (float)(1.0 - o->beta2);
  const double bc1 = 1.0 - pow(o->beta1, (double)t);
  const double bc2 = 1.0 - pow(o->beta2, (double)t);
  const float step_size = (float)(lr / bc1);
  const float bc2_sqrt = (float)sqrt(bc2);
  const float eps = (float)o->eps;
#pragma omp parallel for schedule(static) if (n > 65536)
  for (size_t i = 0; i < n; i++) {
    const float gi = g[i];
    const float pi = decay ? p[i] * keep : p[i];
    const float mi = m[i] * b1 + c1 * gi;
    const float vi = v[i] * b2 + c2 * (gi * gi);
    const float denom = sqrtf(vi) / bc2_sqrt + eps;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi + -step_size * (mi / denom);
  }
}

int64_t tpa__warmup_steps(double ratio, int64_t total) {
  if (ratio <= 0 || total <= 0)
    return 0;
  double w = ceil(ratio * (double)total);
  return w > (double)total ? total : (int64_t)w;
}

double tpa__linear_lr(double peak, int64_t step, int64_t warmup, int64_t total) {
  if (step < warmup)
    return peak * (double)step / (double)(warmup > 1 ? warmup : 1);
  int64_t span = total - warmup > 1 ? total - warmup : 1;
  double f = (double)(total - step) / (double)span;
  return f > 0 ? peak * f : 0.0;
}

double tpa__grad_global_norm(const tpa__grad_span *s, size_t count) {
  double sum = 0;
  for (size_t k = 0; k < count; k++) {
    const float *g = s[k].g;
    const size_t n = s[k].n;
    double part = 0;
#pragma omp parallel for reduction(+ : part) schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++)
      part += (double)g[i] * (double)g[i];
    sum += part;
  }
  return sqrt(sum);
}

double tpa__clip_grad_norm(tpa__grad_span *s, size_t count, double max_norm) {
  const double norm = tpa__grad_global_norm(s, count);
  if (!(max_norm > 0) || !(norm > max_norm))
    return norm; /* torch multiplies by the clamped coefficient 1.0: a no-op */
  const float coef = (float)(max_norm / (norm + 1e-6));
  for (size_t k = 0; k < count; k++) {
    float *g = s[k].g;
    const size_t n = s[k].n;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++)
      g[i] *= coef;
  }
  return norm;
}
