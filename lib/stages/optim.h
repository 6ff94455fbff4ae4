/* SPDX-License-Identifier: Apache-2.0 */
/* The optimizer side of training (docs/method.md section 8), kept apart from
 * the loop so each piece can be checked against PyTorch on its own:
 * torch.optim.AdamW's update, HF's linear warmup/decay schedule, and
 * torch.nn.utils.clip_grad_norm_'s global clipping. */
#ifndef TPA_STAGES_OPTIM_H
#define TPA_STAGES_OPTIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"

/* AdamW hyper-parameters; the defaults are torch.optim.AdamW's betas and
 * eps (weight decay is the caller's, 0.01 by docs/method.md). */
typedef struct tpa__adamw {
  double beta1, beta2, eps, weight_decay;
} tpa__adamw;

#define TPA__ADAMW_DEFAULTS                                                                        \
  { 0.9, 0.999, 1e-8, 0.01 }

/* One AdamW update of @p n values, as torch.optim.AdamW (single-tensor
 * path) does it in float32: p *= 1 - lr*wd (only when @p decay), then
 * m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
 * p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
 * @p t is the 1-based step count of this update. */
void tpa__adamw_update(const tpa__adamw *o, int64_t t, double lr, bool decay, float *p,
                       const float *g, float *m, float *v, size_t n);

/* HF TrainingArguments.get_warmup_steps: ceil(ratio * total). */
int64_t tpa__warmup_steps(double ratio, int64_t total);

/* HF get_linear_schedule_with_warmup: the rate used by the optimizer step
 * taken when @p step (0-based) steps are done: peak * step / warmup during
 * warmup, then peak * (total - step) / (total - warmup), never below 0. */
double tpa__linear_lr(double peak, int64_t step, int64_t warmup, int64_t total);

/* A gradient tensor for clipping: @p n floats at @p g. */
typedef struct tpa__grad_span {
  float *g;
  size_t n;
} tpa__grad_span;

/* L2 norm over every value of every span (accumulated in double). */
double tpa__grad_global_norm(const tpa__grad_span *s, size_t count);

/* torch.nn.utils.clip_grad_norm_: when the global norm exceeds
 * @p max_norm (> 0), scale every gradient by max_norm / (norm + 1e-6).
 * Returns the norm before clipping (the value torch returns). */
double tpa__clip_grad_norm(tpa__grad_span *s, size_t count, double max_norm);

#endif
