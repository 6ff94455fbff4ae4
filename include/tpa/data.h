/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file tpa/data.h
 * @brief GLUE tasks, their TSV files, and their metrics.
 *
 * Thread safety: a loaded tpa_dataset is immutable and may be shared for
 * reading. The task functions are pure.
 */
#ifndef TPA_DATA_H
#define TPA_DATA_H

#include "tpa/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The nine GLUE tasks (values are stable). @since 0.1.0 */
typedef enum tpa_task {
  TPA_TASK_COLA = 0,
  TPA_TASK_SST2 = 1,
  TPA_TASK_MRPC = 2,
  TPA_TASK_STSB = 3,
  TPA_TASK_QQP = 4,
  TPA_TASK_MNLI = 5,
  TPA_TASK_QNLI = 6,
  TPA_TASK_RTE = 7,
  TPA_TASK_WNLI = 8
} tpa_task;

/** Number of tasks in tpa_task. */
#define TPA_TASK_COUNT 9

/**
 * Parse a task name, case-insensitively: cola sst2 mrpc stsb qqp mnli qnli
 * rte wnli, also "sst-2" and "sts-b". TPA_ERR_INVALID_ARGUMENT otherwise.
 * @param name task name, NUL-terminated (borrowed for the call); not NULL.
 * @param task receives the task on success; left unchanged on failure;
 *        not NULL.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for an unknown name or a NULL
 *         argument.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_task_from_name(const char *name, tpa_task *task);
/**
 * Canonical lower-case name ("sst2"); NULL if @p task is invalid.
 * @param task any value.
 * @return a static string owned by the library, or NULL if @p task is not
 *         a tpa_task.
 * @since 0.1.0
 */
TPA_API const char *tpa_task_name(tpa_task task);
/**
 * Output width: 1 for STS-B (regression), 3 for MNLI, else 2; 0 if invalid.
 * @param task any value.
 * @return the number of logits per example, or 0 if @p task is not a
 *         tpa_task.
 * @since 0.1.0
 */
TPA_API int32_t tpa_task_num_labels(tpa_task task);
/**
 * Whether the task has a second text column.
 * @param task any value.
 * @return true for the sentence-pair tasks; false for CoLA, SST-2 and an
 *         invalid @p task.
 * @since 0.1.0
 */
TPA_API bool tpa_task_is_pair(tpa_task task);
/**
 * Name of class @p id in the task's label order ("entailment"), NULL if none.
 * @param task any value.
 * @param id class id, 0-based.
 * @return a static string owned by the library ("0", "1" for the binary
 *         tasks with numeric labels), or NULL for an invalid @p task, an
 *         @p id out of range, or STS-B (no classes).
 * @since 0.1.0
 */
TPA_API const char *tpa_task_label_name(tpa_task task, int32_t id);

/** Options of tpa_dataset_load(). @since 0.1.0 */
typedef struct tpa_dataset_params {
  size_t size;     /**< sizeof the struct, set by the init function */
  size_t max_rows; /**< >0: read at most this many examples (0 = all) */
} tpa_dataset_params;

/**
 * Fill @p p with defaults; @p size is sizeof *p.
 * @param p the struct to fill (its first @p size bytes; bytes the library
 *        does not know are zeroed); NULL does nothing.
 * @param size sizeof *p as the caller compiled it, in bytes; a value below
 *        sizeof(size_t) does nothing.
 * @since 0.1.0
 */
TPA_API void tpa_dataset_params_init(tpa_dataset_params *p, size_t size);

/**
 * Read a GLUE TSV file for @p task (docs/method.md section 3): header line
 * skipped except for CoLA, a UTF-8 BOM skipped, CRLF line ends accepted,
 * gzip input decompressed (recognised by its magic bytes, so "x.tsv.gz"
 * and a renamed copy both work). Every row must have the task's columns
 * (extra columns are ignored; MNLI's label is the last column), valid
 * UTF-8 without NUL bytes and a known label (an STS-B score: a decimal
 * number from 0 to 5); otherwise TPA_ERR_DATA with "FILE:LINE: what" in
 * the message. Blank lines are errors except at the end of the file; a
 * file without examples is TPA_ERR_DATA, a missing one TPA_ERR_NOT_FOUND.
 * With params->max_rows, rows after the first max_rows are not read.
 * The dataset copies what it needs; @p path is borrowed for the call.
 * @param out receives the new dataset, owned by the caller and freed with
 *        tpa_dataset_free(); set to NULL on failure; must not be NULL.
 * @param task the task whose columns and labels the file has.
 * @param path file to read, NUL-terminated; not NULL.
 * @param params options (borrowed for the call), or NULL for defaults.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL @p out or @p path,
 *         an invalid @p task or a bad params->size; TPA_ERR_NOT_FOUND if
 *         the file does not exist; TPA_ERR_IO if it cannot be read (or is
 *         a directory); TPA_ERR_TRUNCATED for gzip data that ends early;
 *         TPA_ERR_DATA for a malformed row, corrupt gzip data or a file
 *         without examples; TPA_ERR_NO_MEMORY.
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_dataset_load(tpa_dataset **out, tpa_task task,
                                                  const char *path,
                                                  const tpa_dataset_params *params);

/**
 * Free a dataset; NULL is allowed.
 * @param ds the dataset (ownership passes to the call), or NULL (nothing
 *        happens). Strings returned for it become invalid.
 * @since 0.1.0
 */
TPA_API void tpa_dataset_free(tpa_dataset *ds);

/**
 * Number of examples.
 * @param ds the dataset (borrowed), or NULL.
 * @return the number of examples read; 0 for NULL.
 * @since 0.1.0
 */
TPA_API size_t tpa_dataset_size(const tpa_dataset *ds);
/**
 * The dataset's task; for NULL, TPA_TASK_COUNT (no task).
 * @param ds the dataset (borrowed), or NULL.
 * @return the task it was loaded for; TPA_TASK_COUNT for NULL.
 * @since 0.1.0
 */
TPA_API tpa_task tpa_dataset_task(const tpa_dataset *ds);
/**
 * First text of example @p i (owned by the dataset); NULL if out of range.
 * @param ds the dataset (borrowed), or NULL.
 * @param i example index, 0-based, in file order.
 * @return UTF-8 text valid as long as the dataset; NULL for a NULL @p ds
 *         or @p i out of range.
 * @since 0.1.0
 */
TPA_API const char *tpa_dataset_text_a(const tpa_dataset *ds, size_t i);
/**
 * Second text, NULL for single-sentence tasks or out of range.
 * @param ds the dataset (borrowed), or NULL.
 * @param i example index, 0-based, in file order.
 * @return UTF-8 text owned by the dataset, valid as long as it; NULL for a
 *         single-sentence task, a NULL @p ds or @p i out of range.
 * @since 0.1.0
 */
TPA_API const char *tpa_dataset_text_b(const tpa_dataset *ds, size_t i);
/**
 * Label of example @p i: class id as a float, or the STS-B score. NaN if out of range.
 * @param ds the dataset (borrowed), or NULL.
 * @param i example index, 0-based, in file order.
 * @return the label; NaN for a NULL @p ds or @p i out of range.
 * @since 0.1.0
 */
TPA_API float tpa_dataset_label(const tpa_dataset *ds, size_t i);

/** Metric mask bit in tpa_metrics::present: accuracy is set. */
#define TPA_METRIC_ACCURACY (1u << 0)
/** Metric mask bit in tpa_metrics::present: F1 is set. */
#define TPA_METRIC_F1 (1u << 1)
/** Metric mask bit in tpa_metrics::present: Matthews correlation is set. */
#define TPA_METRIC_MATTHEWS (1u << 2)
/** Metric mask bit in tpa_metrics::present: Pearson correlation is set. */
#define TPA_METRIC_PEARSON (1u << 3)
/** Metric mask bit in tpa_metrics::present: Spearman correlation is set. */
#define TPA_METRIC_SPEARMAN (1u << 4)

/** A task's metrics; only those flagged in @ref tpa_metrics::present are set. @since 0.1.0 */
typedef struct tpa_metrics {
  size_t size;      /**< set by the caller to sizeof the struct */
  uint32_t present; /**< TPA_METRIC_* bits */
  double accuracy;  /**< fraction of examples predicted correctly */
  double f1;        /**< of the positive class 1 (MRPC, QQP) */
  double matthews;  /**< CoLA */
  double pearson;   /**< STS-B */
  double spearman;  /**< STS-B */
  double main;      /**< the task's headline figure (GLUE's choice) */
  uint64_t count;   /**< examples scored */
} tpa_metrics;

/**
 * Score predictions: @p logits holds @p n rows of tpa_task_num_labels(task)
 * values (argmax for classification, the first maximum on ties; the value
 * for STS-B), @p labels the @p n gold labels as from tpa_dataset_label().
 * Set out->size first; only its first out->size bytes are written.
 *
 * Metrics: accuracy for every classification task, plus F1 of class 1 for
 * MRPC and QQP and the Matthews correlation for CoLA; Pearson and Spearman
 * (ties get their average rank) for STS-B. Conventions follow
 * scikit-learn/SciPy: F1 is 0 when there is no positive example or
 * prediction, MCC is 0 when a denominator factor is 0, and an undefined
 * correlation (constant input, or n = 1) is 0 where SciPy gives NaN.
 * out->main is GLUE's headline figure: MCC for CoLA; accuracy for SST-2,
 * MNLI, QNLI, RTE and WNLI; the mean of F1 and accuracy for MRPC and QQP;
 * the mean of Pearson and Spearman for STS-B.
 *
 * TPA_ERR_INVALID_ARGUMENT for n = 0, a NaN logit, a label that is not a
 * class id of the task, or a non-finite STS-B value.
 * @param task the task the predictions are for.
 * @param logits @p n * tpa_task_num_labels(task) values, row-major
 *        (borrowed for the call); not NULL.
 * @param labels @p n gold labels (borrowed for the call); not NULL.
 * @param n number of examples; must be > 0.
 * @param out receives the metrics; out->size must be set first. Not
 *        written at all on failure; not NULL.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for a NULL @p out or an
 *         out->size below sizeof(size_t), an invalid @p task, NULL
 *         @p logits or @p labels, and the cases above; TPA_ERR_NO_MEMORY
 *         (STS-B).
 * @since 0.1.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_metrics_compute(tpa_task task, const float *logits,
                                                     const float *labels, size_t n,
                                                     tpa_metrics *out);

#ifdef __cplusplus
}
#endif
#endif /* TPA_DATA_H */
