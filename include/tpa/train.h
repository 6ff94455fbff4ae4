/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file tpa/train.h
 * @brief Fine-tuning: LoRA (the model stays frozen) or full fine-tuning.
 *
 * AdamW with decoupled weight decay (not on biases or LayerNorm), linear
 * warmup then linear decay, gradient-norm clipping, seeded shuffling, dev
 * evaluation after each epoch keeping the best state, and crash-safe
 * checkpoints that --resume continues from (docs/method.md sections 7 and 8).
 * The same seed and thread count give the same numbers.
 *
 * Thread safety: a training call needs what it modifies to itself (the
 * LoRA set in tpa_train_lora(), the model in tpa_train_full()); what it
 * only reads (the model in LoRA mode, the datasets) may be shared with
 * other readers meanwhile. See docs/threads.md.
 */
#ifndef TPA_TRAIN_H
#define TPA_TRAIN_H

#include "tpa/common.h"
#include "tpa/data.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What one epoch did, passed to tpa_train_params.on_epoch. @since 0.1.0 */
typedef struct tpa_epoch_report {
  size_t size;       /**< sizeof the struct as the library filled it */
  int32_t epoch;     /**< 1-based */
  int64_t step;      /**< optimizer steps done so far */
  double train_loss; /**< mean training loss over the epoch's steps */
  tpa_metrics dev;   /**< dev metrics (dev.present == 0 without a dev set) */
  /** wall time of the epoch including evaluation. An epoch a resumed run
   *  finished adds the time the earlier call had spent on it up to the
   *  checkpoint (since 0.8.0; before, only the resuming call's share);
   *  NaN when that is unknown, for an epoch resumed mid-way from a
   *  checkpoint written before 0.8.0. */
  double seconds;
  bool best; /**< this epoch's dev metric is the best so far */
  /** dev macro-F1, when dev.present has TPA_METRIC_MACRO_F1 (else 0).
   *  @since 0.4.0 */
  double dev_macro_f1;
} tpa_epoch_report;

/** Called after each epoch's evaluation; @p r is valid during the call.
 *  A resumed run first reports the epochs its checkpoint had finished. */
typedef void (*tpa_epoch_fn)(void *user, const tpa_epoch_report *r);

/** What one optimizer step did, passed to tpa_train_params.on_step. @since 0.1.0 */
typedef struct tpa_step_report {
  size_t size;          /**< sizeof the struct as the library filled it */
  int64_t step;         /**< steps done, this one included (1-based) */
  int64_t total_steps;  /**< steps the run will take */
  int32_t epoch;        /**< 1-based */
  int32_t examples;     /**< rows in this step's batch */
  double loss;          /**< this batch's mean loss */
  double learning_rate; /**< rate this step used */
  double grad_norm;     /**< global gradient norm before clipping */
} tpa_step_report;

/** Called after each optimizer step (e.g. for a progress display with the
 *  loss); @p r is valid during the call. */
typedef void (*tpa_step_fn)(void *user, const tpa_step_report *r);

/** Options of tpa_train_lora() and tpa_train_full(). @since 0.1.0 */
typedef struct tpa_train_params {
  size_t size;              /**< sizeof the struct, set by the init function */
  int32_t epochs;           /**< passes over the training set (3) */
  int64_t max_steps;        /**< >0: stop after this many optimizer steps (0) */
  int32_t batch_size;       /**< examples per step (32) */
  double learning_rate;     /**< peak rate; 0 = 5e-4 for LoRA, 2e-5 for full (0) */
  double weight_decay;      /**< decoupled, on weights only (0.01) */
  double warmup_ratio;      /**< share of steps with linear warmup (0.06) */
  double max_grad_norm;     /**< global L2 clipping; 0 = none (1.0) */
  double hidden_dropout;    /**< <0: config.json's hidden_dropout_prob (-1) */
  double attention_dropout; /**< <0: config.json's attention_probs_dropout_prob (-1) */
  uint64_t seed;            /**< shuffling and dropout (42) */
  bool shuffle;             /**< reshuffle the training set each epoch (true) */
  int32_t max_seq_length;   /**< 0 = min(128, max_position_embeddings) (0) */
  /** Directory for crash-safe training state (NULL: none). Borrowed for the call. */
  const char *checkpoint_dir;
  int64_t save_every;       /**< >0: also checkpoint every N steps (0: at epoch ends only) */
  bool resume;              /**< continue from checkpoint_dir's state (false) */
  bool keep_best;           /**< end with the best dev epoch's weights (true) */
  tpa_progress_fn progress; /**< per step: ("train", step, total steps) */
  tpa_epoch_fn on_epoch;    /**< per epoch, after evaluation */
  tpa_log_fn log;           /**< log sink */
  void *user;               /**< passed to the callbacks */
  tpa_step_fn on_step;      /**< per optimizer step, after the update (NULL) */
  /** Data parallelism (tpa/dist.h): every rank of @p dist calls with the
   *  same arguments; NULL = single process (NULL). Borrowed for the call.
   *  @since 0.2.0 */
  const tpa_dist *dist;
  /** The dev metric that chooses the best epoch and is reported as `main`:
   *  one TPA_METRIC_* bit the dataset's metrics include
   *  (tpa_dataset_metrics()), or 0 for the dataset's own main metric
   *  (GLUE's headline; accuracy, or Pearson for regression) (0).
   *  @since 0.4.0 */
  uint32_t metric;
} tpa_train_params;

/**
 * Fill @p p with defaults; @p size is sizeof *p.
 * @param p the struct to fill (its first @p size bytes; bytes the library
 *        does not know are zeroed); NULL does nothing.
 * @param size sizeof *p as the caller compiled it, in bytes; a value below
 *        sizeof(size_t) does nothing.
 * @since 0.1.0
 */
TPA_API void tpa_train_params_init(tpa_train_params *p, size_t size);

/**
 * Summary of a training run. @since 0.1.0
 *
 * A run is everything that produced the result: with
 * tpa_train_params.resume, the earlier calls whose checkpoint this call
 * continued (each possibly resumed itself) and this call. Each counter
 * says whether it is per run or per call; without a resume the two
 * agree. Work an earlier call did after its last checkpoint was lost
 * with it and redone, and is counted once, as redone.
 */
typedef struct tpa_train_result {
  size_t size;               /**< set by the caller to sizeof the struct */
  int32_t epochs;            /**< per run: epochs run (including resumed ones) */
  int64_t steps;             /**< per run: optimizer steps (including resumed ones) */
  int32_t best_epoch;        /**< per run: 1-based; 0 without a dev set */
  double best_metric;        /**< per run: dev `main` metric of the best epoch */
  double final_train_loss;   /**< per run: mean loss of the last epoch */
  double seconds;            /**< per call: wall time of this call */
  uint64_t trainable_params; /**< parameters updated by the optimizer (every call alike) */
  uint64_t examples;         /**< per call: training examples processed by this call */
  uint64_t tokens;           /**< per call: non-pad training tokens processed by this call */
  /** per run: training examples processed (an example is counted once per
   *  epoch that used it). @since 0.8.0 */
  uint64_t run_examples;
  /** per run: non-pad training tokens processed. @since 0.8.0 */
  uint64_t run_tokens;
  /** per run: wall time of the run's calls, each from its start to its
   *  end or, for an earlier call, to the checkpoint the next one
   *  continued from; NaN when the run resumed a checkpoint written before
   *  0.8.0, which did not record it. @since 0.8.0 */
  double run_seconds;
  /** per call: the step of the checkpoint this call continued from; 0
   *  when it started from the beginning. @since 0.8.0 */
  int64_t resumed_step;
} tpa_train_result;

/**
 * Train @p set (LoRA A/B, LayerNorms, classifier) on @p train with the
 * model frozen; evaluate on @p dev (may be NULL) after each epoch.
 * @p result may be NULL. The model is only read.
 * @param model the frozen base model (borrowed, only read); not NULL.
 * @param set the set to train in place; not NULL; must have been made for
 *        @p model's shape. On failure it holds the weights of the last
 *        completed step (the best-epoch restore of keep_best only happens
 *        on success).
 * @param train training examples (borrowed, only read); not NULL, not
 *        empty, of a task with the model's label count.
 * @param dev dev examples of the same task (borrowed, only read), or NULL
 *        for no evaluation.
 * @param params options (borrowed for the call, callbacks called only
 *        during it), or NULL for defaults.
 * @param result receives the summary, or NULL; result->size must be set
 *        and at least sizeof(size_t) (else TPA_ERR_INVALID_ARGUMENT,
 *        before any work). Written only on success.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL @p model, @p set or
 *         @p train, a bad params->size or option value, an empty training
 *         set, a dataset or set that does not fit the model, a dev set of
 *         another task, resume without checkpoint_dir, or a checkpoint
 *         written with other settings; TPA_ERR_DATA for an example without
 *         a label; TPA_ERR_VOCAB if a token id is past the model's
 *         vocab_size; TPA_ERR_CANCELLED if the progress callback returned
 *         false; TPA_ERR_NOT_FOUND, TPA_ERR_IO, TPA_ERR_HEADER,
 *         TPA_ERR_TENSOR_SHAPE, TPA_ERR_TENSOR_MISSING or
 *         TPA_ERR_UNSUPPORTED from reading or writing checkpoint_dir;
 *         TPA_ERR_NO_MEMORY; TPA_ERR_BACKEND.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_train_lora(const tpa_model *model, tpa_lora_set *set,
                                                const tpa_dataset *train, const tpa_dataset *dev,
                                                const tpa_train_params *params,
                                                tpa_train_result *result);

/**
 * Fine-tune every parameter of @p model in place (the baseline the method
 * is judged against). On failure the model keeps its weights from
 * before the call.
 * @param model the model to train in place (exclusively: no other thread
 *        may use it during the call); not NULL. Training works on a copy
 *        that replaces the weights only at the end, so on failure the model
 *        has its weights from before the call.
 * @param train training examples (borrowed, only read); not NULL, not
 *        empty, of a task with the model's label count.
 * @param dev dev examples of the same task (borrowed, only read), or NULL
 *        for no evaluation.
 * @param params options (borrowed for the call, callbacks called only
 *        during it), or NULL for defaults.
 * @param result receives the summary, or NULL; result->size must be set
 *        and at least sizeof(size_t) (else TPA_ERR_INVALID_ARGUMENT,
 *        before any work). Written only on success.
 * @return as tpa_train_lora() (without the LoRA set cases).
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_train_full(tpa_model *model, const tpa_dataset *train,
                                                const tpa_dataset *dev,
                                                const tpa_train_params *params,
                                                tpa_train_result *result);

#ifdef __cplusplus
}
#endif
#endif /* TPA_TRAIN_H */
