/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file tpa/common.h
 * @brief Status codes, error messages, version, export macros and the
 *        log/progress callbacks shared by every libtpa stage.
 *
 * Thread safety: every function here may be called from any thread.
 * tpa_last_error() reports the calling thread's last failure only.
 */
#ifndef TPA_COMMON_H
#define TPA_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque handles, declared once here so every header can name them. */
/** A loaded BERT sequence classifier (tpa/model.h). */
typedef struct tpa_model tpa_model;
/** A WordPiece tokenizer (tpa/tokenizer.h). */
typedef struct tpa_tokenizer tpa_tokenizer;
/** Rows of one GLUE task file (tpa/data.h). */
typedef struct tpa_dataset tpa_dataset;
/** Task-oriented head importance scores (tpa/importance.h). */
typedef struct tpa_importance tpa_importance;
/** Which heads to remove, by ORIGINAL index (tpa/prune.h). */
typedef struct tpa_prune_plan tpa_prune_plan;
/** LoRA adapters plus the other trainable modules of LoRA training (tpa/lora.h). */
typedef struct tpa_lora_set tpa_lora_set;
/** An MPI communicator for data parallelism (tpa/dist.h). @since 0.2.0 */
typedef struct tpa_dist tpa_dist;

/** Compile-time major version of the headers (see tpa_version() for run time). */
#define TPA_VERSION_MAJOR 0
/** Minor version of the headers. */
#define TPA_VERSION_MINOR 8
/** Patch version of the headers. */
#define TPA_VERSION_PATCH 0
/** Version of the headers as a string, "major.minor.patch". */
#define TPA_VERSION_STRING "0.8.0"
/** Single number for comparisons: major*10000 + minor*100 + patch. */
#define TPA_VERSION_NUMBER (TPA_VERSION_MAJOR * 10000 + TPA_VERSION_MINOR * 100 + TPA_VERSION_PATCH)

/**
 * @def TPA_API
 * Marks a function exported from libtpa (default visibility while the
 * library itself is built; empty for its users).
 */
#if defined(_WIN32)
#define TPA_API
#elif defined(TPA_BUILDING_LIBRARY) && defined(__GNUC__)
#define TPA_API __attribute__((visibility("default")))
#else
#define TPA_API
#endif

/**
 * @def TPA_NODISCARD
 * Marks a function whose result must be used (GCC and Clang warn when a
 * returned tpa_status is ignored). Define TPA_NO_NODISCARD to turn it off.
 */
#if defined(__GNUC__) && !defined(TPA_NO_NODISCARD)
#define TPA_NODISCARD __attribute__((warn_unused_result))
#else
#define TPA_NODISCARD
#endif

/**
 * Result of every fallible libtpa call. Values are explicit and only ever
 * appended; 0 is success. tpa_last_error() has the detailed message.
 * @since 0.1.0
 */
typedef enum tpa_status {
  TPA_OK = 0,
  TPA_ERR_INVALID_ARGUMENT = 1,  /**< NULL handle, bad size, out of range */
  TPA_ERR_NO_MEMORY = 2,         /**< allocation failed */
  TPA_ERR_IO = 3,                /**< read/write/mmap failure (errno text) */
  TPA_ERR_NOT_FOUND = 4,         /**< a required file does not exist */
  TPA_ERR_TRUNCATED = 5,         /**< file shorter than its contents claim */
  TPA_ERR_JSON = 6,              /**< not valid JSON */
  TPA_ERR_HEADER = 7,            /**< safetensors header malformed */
  TPA_ERR_TENSOR_OFFSETS = 8,    /**< offsets out of range or overlapping */
  TPA_ERR_TENSOR_DTYPE = 9,      /**< unsupported or unexpected dtype */
  TPA_ERR_TENSOR_SHAPE = 10,     /**< shape does not match config.json */
  TPA_ERR_TENSOR_MISSING = 11,   /**< a required tensor is absent */
  TPA_ERR_CONFIG = 12,           /**< config.json values invalid */
  TPA_ERR_VOCAB = 13,            /**< vocab.txt invalid (e.g. no [CLS]) */
  TPA_ERR_DATA = 14,             /**< malformed data row (file and line) */
  TPA_ERR_BUFFER_TOO_SMALL = 15, /**< caller buffer too small; size reported */
  TPA_ERR_UNSUPPORTED = 16,      /**< valid input this version cannot handle */
  TPA_ERR_BACKEND = 17,          /**< the compute backend (oneDNN) failed */
  TPA_ERR_CANCELLED = 18,        /**< a progress callback asked to stop */
  TPA_ERR_INTERNAL = 19          /**< a bug in libtpa; please report */
} tpa_status;

/**
 * Static English name of a status ("TPA_ERR_JSON: invalid JSON"); never NULL.
 * @param status any value; one that is not a tpa_status gives
 *        "TPA_ERR_UNKNOWN: unknown status".
 * @return a static string owned by the library, valid for the life of the
 *         program; never NULL.
 * @since 0.1.0
 */
TPA_API const char *tpa_status_str(tpa_status status);

/**
 * Detailed message of the calling thread's most recent failure, naming the
 * file, tensor, line or argument involved. Never NULL ("" when none). The
 * string is owned by the library and valid until the thread's next libtpa
 * call.
 * @return the calling thread's message (owned by the library); never NULL,
 *         "" when there is none.
 * @since 0.1.0
 */
TPA_API const char *tpa_last_error(void);

/**
 * Run-time library version, "0.4.0".
 * @return the static string TPA_VERSION_STRING of the library as built
 *         (owned by the library); never NULL.
 * @since 0.1.0
 */
TPA_API const char *tpa_version(void);
/**
 * Run-time version number as TPA_VERSION_NUMBER.
 * @return major*10000 + minor*100 + patch of the library as built.
 * @since 0.1.0
 */
TPA_API uint32_t tpa_version_number(void);
/**
 * The compute backend the library runs with, read from the loaded oneDNN
 * at run time: "oneDNN 3.8.0, OpenMP" (version, then the CPU threading
 * runtime).
 * @return a static string owned by the library, valid for the life of the
 *         program; never NULL.
 * @since 0.3.0
 */
TPA_API const char *tpa_backend_version(void);

/** Severity of a log message. @since 0.1.0 */
typedef enum tpa_log_level {
  TPA_LOG_ERROR = 0,
  TPA_LOG_WARN = 1,
  TPA_LOG_INFO = 2,
  TPA_LOG_DEBUG = 3
} tpa_log_level;

/**
 * Log sink. The library never prints; long-running calls report through
 * the callbacks in their params struct. @p msg is valid during the call.
 */
typedef void (*tpa_log_fn)(void *user, tpa_log_level level, const char *msg);

/**
 * Progress of a long stage. @p stage names it ("predict", "load"), @p done
 * of @p total units (examples, steps). Return false to cancel: the call
 * then stops with TPA_ERR_CANCELLED.
 */
typedef bool (*tpa_progress_fn)(void *user, const char *stage, uint64_t done, uint64_t total);

#ifdef __cplusplus
}
#endif
#endif /* TPA_COMMON_H */
