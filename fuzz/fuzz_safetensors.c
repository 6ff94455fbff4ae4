/* SPDX-License-Identifier: Apache-2.0 */
/* safetensors: the 8-byte header length, the JSON header and the tensor
 * table, validated against the data region by tpa__st_parse (what
 * tpa__st_open runs on the mapped file). Every accepted tensor is looked
 * up by name and, for float dtypes, read whole through tpa__st_as_f32, so
 * an offset the validation let through that points outside the input is
 * an ASan report. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "io/safetensors.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tpa__st_file f;
  if (tpa_fuzz_report("safetensors", tpa__st_parse(&f, data, size, "fuzz.safetensors")) != TPA_OK)
    return 0;
  volatile float sink = 0.0f;
  for (size_t i = 0; i < f.n; i++) {
    const tpa__st_tensor *t = &f.t[i];
    if (tpa__st_find(&f, t->name) != t)
      abort(); /* the table must be searchable by every name it holds */
    const unsigned char *bytes = t->data;
    if (t->end > t->begin)
      sink += (float)(bytes[0] + bytes[t->end - t->begin - 1]);
    const float *vals;
    float *owned;
    if (tpa__st_as_f32(&f, t, &vals, &owned) == TPA_OK) {
      for (uint64_t k = 0; k < t->numel; k++)
        sink += vals[k];
      free(owned);
    }
  }
  (void)sink;
  tpa__st_close(&f);
  return 0;
}
