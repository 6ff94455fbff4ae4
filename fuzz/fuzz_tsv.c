/* SPDX-License-Identifier: Apache-2.0 */
/* GLUE TSV files through tpa_dataset_load, for all nine tasks, plain and
 * gzip. The first input byte is a selector: (byte % 9) is the task
 * (tpa_task order: cola sst2 mrpc stsb qqp mnli qnli rte wnli), bit
 * (byte / 9) & 1 gzip-compresses the rest here before the library reads
 * it (so mutations of the text also reach the inflating reader), and
 * (byte / 18) & 1 sets max_rows to 2. The rest is the file; it may itself
 * be gzip data, since the reader detects gzip by its magic bytes. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tpa/data.h"

static tpa_fuzz_file tsv;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  tpa_fuzz_file_init(&tsv, "data.tsv");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  unsigned sel = data[0];
  tpa_task task = (tpa_task)(sel % TPA_TASK_COUNT);
  bool compress = (sel / TPA_TASK_COUNT) & 1;
  bool few = (sel / (2 * TPA_TASK_COUNT)) & 1;
  data++;
  size--;
  if (compress)
    tpa_fuzz_file_set_gzip(&tsv, data, size);
  else
    tpa_fuzz_file_set(&tsv, data, size);
  tpa_dataset_params p;
  tpa_dataset_params_init(&p, sizeof p);
  p.max_rows = few ? 2 : 0;
  tpa_dataset *ds = NULL;
  if (tpa_fuzz_report(tpa_task_name(task), tpa_dataset_load(&ds, task, tsv.path, &p)) != TPA_OK)
    return 0;
  size_t n = tpa_dataset_size(ds);
  if (n == 0 || (few && n > 2) || tpa_dataset_task(ds) != task)
    abort(); /* a loaded dataset has examples, at most max_rows */
  volatile size_t sink = 0;
  for (size_t i = 0; i < n; i++) {
    const char *a = tpa_dataset_text_a(ds, i), *b = tpa_dataset_text_b(ds, i);
    if (!a || (tpa_task_is_pair(task) != (b != NULL)))
      abort(); /* pair tasks have a second text, single ones none */
    sink += strlen(a) + (b ? strlen(b) : 0);
    float label = tpa_dataset_label(ds, i);
    int32_t nl = tpa_task_num_labels(task);
    if (!tpa_dataset_has_labels(ds)) {
      if (label == label)
        abort(); /* a test file (no label column) has NaN labels */
      continue;
    }
    if (nl > 1 && !(label >= 0.0f && label < (float)nl && label == (float)(int32_t)label))
      abort(); /* class labels are ids */
    if (nl == 1 && !(label >= 0.0f && label <= 5.0f))
      abort(); /* STS-B scores are 0..5 */
  }
  (void)sink;
  tpa_dataset_free(ds);
  return 0;
}
