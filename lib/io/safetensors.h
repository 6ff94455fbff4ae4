/* SPDX-License-Identifier: Apache-2.0 */
/* safetensors: an 8-byte little-endian header length N, N bytes of JSON
 * ({"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...} plus an
 * optional "__metadata__" object), then the data region; offsets are
 * relative to the data region. The reader validates all of it before any
 * tensor is touched; the writer produces files the reference Python and
 * Rust implementations read. */
#ifndef TPA_IO_SAFETENSORS_H
#define TPA_IO_SAFETENSORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/file.h"
#include "tpa/common.h"

/* Every dtype the format defines; only F32, F16 and BF16 convert to float. */
typedef enum tpa__dtype {
  TPA__DT_BOOL,
  TPA__DT_U8,
  TPA__DT_I8,
  TPA__DT_F8_E5M2,
  TPA__DT_F8_E4M3,
  TPA__DT_I16,
  TPA__DT_U16,
  TPA__DT_F16,
  TPA__DT_BF16,
  TPA__DT_I32,
  TPA__DT_U32,
  TPA__DT_F32,
  TPA__DT_F64,
  TPA__DT_I64,
  TPA__DT_U64,
  TPA__DT_COUNT
} tpa__dtype;

/* Ranks above this are refused (TPA_ERR_HEADER); BERT needs 2. */
#define TPA__ST_MAX_DIMS 8
/* The reference implementation's header size limit (100 MB). */
#define TPA__ST_MAX_HEADER ((uint64_t)100000000)

const char *tpa__dtype_name(tpa__dtype dt);
size_t tpa__dtype_size(tpa__dtype dt);

typedef struct tpa__st_tensor {
  char *name;
  tpa__dtype dtype;
  int32_t ndim;
  uint64_t shape[TPA__ST_MAX_DIMS];
  uint64_t numel;
  uint64_t begin, end; /* byte range within the data region */
  const void *data;    /* start of the bytes in the mapping */
} tpa__st_tensor;

typedef struct tpa__st_file {
  char *path;        /* for messages */
  tpa__file_map map; /* owned unless taken by the caller */
  tpa__st_tensor *t; /* sorted by name */
  size_t n;
} tpa__st_file;

/* Map and validate @p path. Statuses: TPA_ERR_NOT_FOUND, TPA_ERR_IO,
 * TPA_ERR_TRUNCATED (shorter than 8 bytes, or the tensors are laid out
 * back to back and the data region is cut short), TPA_ERR_HEADER (length
 * past the end or absurd, not JSON, not an object, bad entry, duplicate
 * name, shape overflow), TPA_ERR_TENSOR_DTYPE (unknown dtype),
 * TPA_ERR_TENSOR_OFFSETS (begin > end, size != shape * dtype, overlap,
 * range past the data region). On failure *f is zeroed. */
tpa_status tpa__st_open(tpa__st_file *f, const char *path);

/* Validate an in-memory image (borrowed, must outlive @p f); @p path
 * names it in messages. f->map stays empty. */
tpa_status tpa__st_parse(tpa__st_file *f, const void *data, size_t len, const char *path);

/* Free the table and unmap (unless the map was taken); zeroes @p f. */
void tpa__st_close(tpa__st_file *f);

/* The tensor called @p name, or NULL. */
const tpa__st_tensor *tpa__st_find(const tpa__st_file *f, const char *name);

/* Float view of @p t. F32 data that is 4-byte aligned is returned in place
 * (*owned = NULL); otherwise a new array is made (F32 copy, F16/BF16
 * widened exactly) and also returned in *owned for the caller to free.
 * Other dtypes: TPA_ERR_TENSOR_DTYPE naming the tensor and file. */
tpa_status tpa__st_as_f32(const tpa__st_file *f, const tpa__st_tensor *t, const float **out,
                          float **owned);

/* One tensor to write. The file stores @p dtype. With @p f32 set, the
 * values are converted from float (dtype F32, F16 or BF16); otherwise
 * @p raw holds the exact little-endian bytes (numel * dtype size). */
typedef struct tpa__st_out {
  const char *name;
  tpa__dtype dtype;
  int32_t ndim;
  const int64_t *shape;
  const float *f32;
  const void *raw;
} tpa__st_out;

/* Write @p n tensors to @p path atomically, ordered as the reference
 * writer does (larger dtypes first, then by name) so every tensor starts
 * aligned to its element size; the header is space-padded to a multiple
 * of 8. @p metadata (string values) may be NULL. */
tpa_status tpa__st_write(const char *path, const tpa__st_out *tensors, size_t n,
                         const char *const *meta_keys, const char *const *meta_values,
                         size_t n_meta);

#endif
