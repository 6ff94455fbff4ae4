/* SPDX-License-Identifier: Apache-2.0 */
/* JSON Lines tables of one's own through tpa_dataset_load_table, plain and
 * gzip, with every kind of column and label option. The first input byte
 * is a selector:
 *   bits 0-2  columns (text, pair, label; NULL = automatic, "" = none):
 *             0 NULL, NULL, NULL; 1 "1", "2", "3" (by number);
 *             2 NULL, "", ""; 3 "text", "", "label";
 *             4 "sentence1", "sentence2", NULL; 5 "question", NULL, "label";
 *             6 "2", "", "1"; 7 "a", "b", "c"
 *   bit 3     gzip-compress the rest here before the library reads it
 *   bit 4     max_rows = 2
 *   bits 5-7  labels (fuzz_table.h): 0 discovered, 1 + require_labels,
 *             2 regression, 3 + require_labels, 4-6 three given class
 *             lists, 7 = 6 + require_labels
 * The rest is the file, opened as data.ndjson with format TPA_TABLE_AUTO
 * (it may itself be gzip data). A loaded dataset is read whole
 * (fuzz_table.h), so an out-of-bounds read surfaces. */
#include <stdio.h>

#include "fuzz_table.h"

static tpa_fuzz_file table;
static char path[4200];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  tpa_fuzz_file_init(&table, "table");
  tpa_fuzz_dir_link("data.ndjson", table.path);
  snprintf(path, sizeof path, "%s/data.ndjson", tpa_fuzz_dir());
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  static const char *const columns[8][3] = {
      {NULL, NULL, NULL},
      {"1", "2", "3"},
      {NULL, "", ""},
      {"text", "", "label"},
      {"sentence1", "sentence2", NULL},
      {"question", NULL, "label"},
      {"2", "", "1"},
      {"a", "b", "c"},
  };
  const unsigned sel = data[0];
  tbl_set(&table, data + 1, size - 1, (sel >> 3) & 1);
  tpa_table_params p;
  tpa_table_params_init(&p, sizeof p);
  p.text_column = columns[sel & 7][0];
  p.text_pair_column = columns[sel & 7][1];
  p.label_column = columns[sel & 7][2];
  p.max_rows = (sel >> 4) & 1 ? 2 : 0;
  tbl_label_mode(&p, sel >> 5);
  tbl_run("jsonl", path, &p, size);
  return 0;
}
