/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file tpa/data.h
 * @brief Datasets (GLUE's TSV files and your own CSV, TSV and JSON Lines
 * tables), their labels, and their metrics.
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
 * GLUE's test files (a header starting with "index", or "id" for QQP,
 * without the task's label column; the texts found by their header names)
 * load without labels: tpa_dataset_has_labels() is false and every label
 * NaN (since 0.4.0).
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
 * The dataset's task; TPA_TASK_COUNT (no task) for a table
 * (tpa_dataset_load_table()) and for NULL.
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
/** Metric mask bit in tpa_metrics::present: macro-averaged F1 is set. @since 0.4.0 */
#define TPA_METRIC_MACRO_F1 (1u << 5)

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
/* tpa_metrics is embedded in tpa_epoch_report, so its layout is frozen:
 * metrics added later live in tpa_metrics_extra. */

/**
 * Metrics that tpa_metrics has no room for (it is embedded in
 * tpa_epoch_report, so it never grows). Size-first: set `size`, and
 * the library writes only that many bytes. @since 0.4.0
 */
typedef struct tpa_metrics_extra {
  size_t size;     /**< set by the caller to sizeof the struct */
  double macro_f1; /**< mean F1 over the classes that occur (TPA_METRIC_MACRO_F1) */
} tpa_metrics_extra;

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

/* ------------------------------------------------------------------------ */
/* Your own data: CSV, TSV and JSON Lines tables (since 0.4.0)               */

/** File formats of tpa_dataset_load_table() (values are stable). @since 0.4.0 */
typedef enum tpa_table_format {
  TPA_TABLE_AUTO = 0,  /**< from the file name: .csv, .tsv, .jsonl or .ndjson, each maybe + .gz */
  TPA_TABLE_CSV = 1,   /**< RFC 4180: comma-separated, "quoted" fields, header line */
  TPA_TABLE_TSV = 2,   /**< tab-separated without quoting (GLUE's), header line */
  TPA_TABLE_JSONL = 3, /**< one JSON object per line */
} tpa_table_format;

/**
 * Which columns of a table hold the texts and the label, and what the
 * labels are. A column is named by its header name (JSON key), or, when
 * no column has that name, by its 1-based number ("2"). Size-first like
 * every parameter struct; fill with tpa_table_params_init(). @since 0.4.0
 */
typedef struct tpa_table_params {
  size_t size;             /**< sizeof the struct, set by the init function */
  tpa_table_format format; /**< TPA_TABLE_AUTO: from the file name (AUTO) */
  /** The first text (NULL: "text" if the file has it, else "sentence1",
   *  else "question", else "sentence"). */
  const char *text_column;
  /** The second text: NULL picks "sentence2" with "sentence1" and
   *  "sentence" with "question" when they exist (and no pair for a named
   *  text_column); "" means none. */
  const char *text_pair_column;
  /** The label: NULL reads "label" when the file has it and gives an
   *  unlabeled dataset when it does not; "" never reads labels; a name
   *  the file lacks is an error. */
  const char *label_column;
  /** Class names in id order (borrowed for the call), or NULL: the
   *  distinct labels of the file, integers in numeric order, else strings
   *  in byte order (at least 2). */
  const char *const *labels;
  int32_t num_labels;  /**< entries of labels (0 when NULL) */
  bool regression;     /**< labels are finite real numbers, one output (false) */
  bool require_labels; /**< a file without the label column is an error (false) */
  size_t max_rows;     /**< >0: read at most this many examples (0 = all) */
} tpa_table_params;

/**
 * Fill @p p with defaults; @p size is sizeof *p.
 * @param p the struct to fill (bytes the library does not know are
 *        zeroed); NULL does nothing.
 * @param size sizeof *p as the caller compiled it.
 * @since 0.4.0
 */
TPA_API void tpa_table_params_init(tpa_table_params *p, size_t size);

/**
 * Read a table of examples: CSV (RFC 4180: quoted fields with doubled
 * quotes, commas, CR/LF and newlines inside quotes), TSV (no quoting: a
 * field cannot hold a tab or newline) or JSON Lines (one object per line;
 * string, number and boolean values, whose text is used as written, or
 * "true"/"false"), plain or gzip, UTF-8 with an optional byte order mark.
 * The first CSV/TSV line is the header; the columns of a JSON Lines file
 * are the keys of its first object, in order. Blank lines are skipped.
 *
 * Labels map to class ids by name. When @ref tpa_table_params::labels are
 * given and none of them is an integer, a label that is an integer i in
 * 0..num_labels-1 is class i as well. With @ref
 * tpa_table_params::regression a label is a finite decimal number.
 *
 * Errors are TPA_ERR_DATA with "FILE:LINE: what" (and the column) in the
 * message, and nothing is returned: a row with another number of fields
 * than the header, an unterminated quote, duplicate header names, an
 * empty text, invalid UTF-8 or a NUL byte, a JSON line that is not one
 * object (or a used value that is not a string, number or boolean, or
 * missing), a label outside the classes, a regression label that is not
 * a finite number, a single class among discovered labels, a missing
 * named column (the message lists the file's columns). Memory: the file
 * plus about 24 bytes per example.
 * @param out receives the new dataset (free with tpa_dataset_free()); NULL
 *        on failure; not NULL.
 * @param path the file (borrowed for the call); not NULL.
 * @param params the columns and labels (borrowed), or NULL for defaults.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for NULL arguments, bad params
 *         (size, format, labels) or a file name whose format cannot be
 *         told; TPA_ERR_NOT_FOUND; TPA_ERR_IO; TPA_ERR_TRUNCATED;
 *         TPA_ERR_DATA as above; TPA_ERR_NO_MEMORY.
 * @since 0.4.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_dataset_load_table(tpa_dataset **out, const char *path,
                                                        const tpa_table_params *params);

/**
 * Number of outputs the dataset's labels need: its classes, or 1 for
 * regression (STS-B, or a table read with regression). For a GLUE dataset,
 * tpa_task_num_labels() of its task.
 * @param ds the dataset (borrowed), or NULL.
 * @return the count; 0 for NULL.
 * @since 0.4.0
 */
TPA_API int32_t tpa_dataset_num_labels(const tpa_dataset *ds);

/**
 * Name of class @p id ("positive"), owned by the dataset.
 * @param ds the dataset (borrowed), or NULL.
 * @param id class id, 0-based.
 * @return the name; NULL for NULL @p ds, @p id out of range or a
 *         regression dataset.
 * @since 0.4.0
 */
TPA_API const char *tpa_dataset_label_name(const tpa_dataset *ds, int32_t id);

/**
 * Whether the examples carry labels (false for a file without a label
 * column, such as GLUE's test.tsv: tpa_dataset_label() is then NaN).
 * @param ds the dataset (borrowed), or NULL.
 * @return true when every example has a label; false for NULL.
 * @since 0.4.0
 */
TPA_API bool tpa_dataset_has_labels(const tpa_dataset *ds);

/** Roles of a table's columns, for tpa_dataset_column(). @since 0.4.0 */
typedef enum tpa_dataset_role {
  TPA_ROLE_TEXT = 0,      /**< the first text */
  TPA_ROLE_TEXT_PAIR = 1, /**< the second text */
  TPA_ROLE_LABEL = 2,     /**< the label */
} tpa_dataset_role;

/**
 * Header name (JSON key) of the column that held @p role.
 * @param ds the dataset (borrowed), or NULL.
 * @param role which column.
 * @return a string owned by the dataset; NULL when no column has that
 *         role, for a GLUE dataset, or for NULL @p ds.
 * @since 0.4.0
 */
TPA_API const char *tpa_dataset_column(const tpa_dataset *ds, tpa_dataset_role role);

/**
 * Split a labelled dataset in two: a seeded, stratified share @p fraction
 * of every class (regression: of the whole set) goes to @p held_out, the
 * rest to @p kept, both in file order. Each class keeps at least one
 * example in @p kept; a class with at least two gives at least one to
 * @p held_out when the share rounds to 0 overall. Both datasets copy what
 * they need and keep the classes of @p ds.
 * @param ds the dataset (borrowed); must have labels.
 * @param fraction share held out, in (0, 1).
 * @param seed the same seed gives the same split.
 * @param kept receives the rest; not NULL.
 * @param held_out receives the held-out share; not NULL.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for NULL arguments, a fraction
 *         outside (0, 1), an unlabeled dataset or one too small to leave
 *         examples on both sides; TPA_ERR_NO_MEMORY. On failure both
 *         outputs are NULL.
 * @since 0.4.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_dataset_split(const tpa_dataset *ds, double fraction,
                                                   uint64_t seed, tpa_dataset **kept,
                                                   tpa_dataset **held_out);

/**
 * Score predictions against labels for a dataset's classes. A GLUE dataset
 * scores as tpa_metrics_compute() does for its task. A table's
 * classification scores accuracy, macro-F1 (scikit-learn's "macro" over
 * the classes that occur), the Matthews correlation and, with two
 * classes, the F1 of class 1; main is the accuracy. Regression scores
 * Pearson and Spearman; main is Pearson.
 * @param ds the dataset whose classes the labels use (borrowed); not NULL.
 * @param logits @p n * tpa_dataset_num_labels(ds) values, row-major.
 * @param labels @p n gold labels (class ids as floats, or values).
 * @param n number of examples; > 0.
 * @param out receives the metrics; out->size must be set first.
 * @param extra receives macro_f1 (extra->size set first), or NULL.
 * @return as tpa_metrics_compute(); also TPA_ERR_INVALID_ARGUMENT for an
 *         extra->size below sizeof(size_t).
 * @since 0.4.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_dataset_metrics(const tpa_dataset *ds, const float *logits,
                                                     const float *labels, size_t n,
                                                     tpa_metrics *out, tpa_metrics_extra *extra);

/**
 * A metric's TPA_METRIC_* bit by name: "accuracy", "f1", "macro_f1",
 * "matthews" (also "mcc"), "pearson", "spearman"; case-sensitive.
 * @param name the name (borrowed); not NULL.
 * @param bit receives the bit; not NULL.
 * @return TPA_OK; TPA_ERR_INVALID_ARGUMENT for another name.
 * @since 0.4.0
 */
TPA_API TPA_NODISCARD tpa_status tpa_metric_from_name(const char *name, uint32_t *bit);

/**
 * The value of metric @p bit in @p m (and @p extra, for macro-F1).
 * @param m the metrics (borrowed), or NULL.
 * @param extra the extra metrics filled with @p m (borrowed), or NULL.
 * @param bit one TPA_METRIC_* bit.
 * @return the value; NaN when @p m is NULL, @p bit is not one metric, the
 *         metric is not in m->present, or it is macro-F1 and @p extra is
 *         NULL or too small.
 * @since 0.4.0
 */
TPA_API double tpa_metrics_value(const tpa_metrics *m, const tpa_metrics_extra *extra,
                                 uint32_t bit);

#ifdef __cplusplus
}
#endif
#endif /* TPA_DATA_H */
