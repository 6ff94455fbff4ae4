/* SPDX-License-Identifier: Apache-2.0 */
/* CSV and TSV tables of one's own through tpa_dataset_load_table, plain
 * and gzip, with every kind of column and label option. The first input
 * byte is a selector:
 *   bit 0     TSV instead of CSV (the file is opened as data.tsv or
 *             data.csv with format TPA_TABLE_AUTO, so the name decides)
 *   bits 1-2  columns: 0 automatic; 1 by number ("1", "2", "3");
 *             2 automatic text, no pair, no labels ("", ""); 3 by name
 *             ("text", none, "label")
 *   bit 3     gzip-compress the rest here before the library reads it
 *   bit 4     max_rows = 2
 *   bits 5-7  labels (fuzz_table.h): 0 discovered, 1 + require_labels,
 *             2 regression, 3 + require_labels, 4-6 three given class
 *             lists, 7 = 6 + require_labels
 * The rest is the file (it may itself be gzip data). A loaded dataset is
 * read whole (fuzz_table.h), so an out-of-bounds read surfaces. */
#include <stdio.h>

#include "fuzz_table.h"

static tpa_fuzz_file table;
static char csv_path[4200], tsv_path[4200];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  tpa_fuzz_file_init(&table, "table");
  tpa_fuzz_dir_link("data.csv", table.path);
  tpa_fuzz_dir_link("data.tsv", table.path);
  snprintf(csv_path, sizeof csv_path, "%s/data.csv", tpa_fuzz_dir());
  snprintf(tsv_path, sizeof tsv_path, "%s/data.tsv", tpa_fuzz_dir());
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  const unsigned sel = data[0];
  const bool tsv = sel & 1;
  tbl_set(&table, data + 1, size - 1, (sel >> 3) & 1);
  tpa_table_params p;
  tpa_table_params_init(&p, sizeof p);
  switch ((sel >> 1) & 3) {
  case 1: p.text_column = "1", p.text_pair_column = "2", p.label_column = "3"; break;
  case 2: p.text_pair_column = "", p.label_column = ""; break;
  case 3: p.text_column = "text", p.text_pair_column = "", p.label_column = "label"; break;
  default: break;
  }
  p.max_rows = (sel >> 4) & 1 ? 2 : 0;
  tbl_label_mode(&p, sel >> 5);
  tbl_run(tsv ? "tsv" : "csv", tsv ? tsv_path : csv_path, &p, size);
  return 0;
}
