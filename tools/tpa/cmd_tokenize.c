/* SPDX-License-Identifier: Apache-2.0 */
/* `tpa tokenize`: the model input of every example of a GLUE file, as JSON
 * Lines, so it can be compared with HF's tokenizer line by line. */
#include <stdlib.h>

#include "cli.h"

static const char tokenize_help[] =
    "Usage: tpa tokenize --model DIR --data FILE [--task TASK] [OPTIONS]\n"
    "\n"
    "Tokenize every example of a file with the model's tokenizer\n"
    "and print one JSON object per example, in file order (JSON Lines):\n"
    "  {\"ids\":[101,...,102],\"type_ids\":[0,...,0]}\n"
    "Pairs are [CLS] a [SEP] b [SEP], truncated longest-first to the maximum\n"
    "length, as HF's tokenizer does.\n"
    "\n"
    "Options:\n"
    "  --model DIR           Hugging Face checkpoint directory (vocab.txt,\n"
    "                        tokenizer_config.json for do_lower_case)\n"
    "  --data FILE           the examples (.gz is decompressed)\n"
    "  --task TASK           a GLUE task file: cola sst2 mrpc stsb qqp mnli qnli\n"
    "                        rte wnli (case-insensitive; sst-2 and sts-b too)\n"
    "  --max-seq-length N    truncation length, special tokens included (128,\n"
    "                        or max_position_embeddings if the model has fewer)\n"
    "  --limit N             only the first N examples\n"
    "  -o, --out FILE        write to FILE (atomically) instead of stdout\n"
    "  -h, --help            show this help\n"
    "\n" CLI_DATA_HELP;

/* One JSON array of integers: digits only, so no escaping is needed. */
static void put_ints(FILE *fp, const int32_t *v, size_t n) {
  fputc('[', fp);
  for (size_t i = 0; i < n; i++)
    fprintf(fp, i == 0 ? "%d" : ",%d", (int)v[i]);
  fputc(']', fp);
}

static int tokenize_all(const cli_run_opts *o, const tpa_model *model, const tpa_dataset *ds,
                        FILE *fp) {
  const tpa_tokenizer *tok = tpa_model_tokenizer(model);
  size_t len = (size_t)o->max_seq_length;
  int32_t *ids = calloc(len, sizeof *ids);
  int32_t *types = calloc(len, sizeof *types);
  if (ids == NULL || types == NULL) {
    free(ids);
    free(types);
    return cli_fail("out of memory (%zu token ids)", len);
  }
  int rc = CLI_EXIT_OK;
  size_t count = tpa_dataset_size(ds);
  for (size_t i = 0; i < count; i++) {
    size_t n = 0;
    tpa_status st = tpa_tokenizer_encode(tok, tpa_dataset_text_a(ds, i), tpa_dataset_text_b(ds, i),
                                         o->max_seq_length, ids, types, &n);
    if (st == TPA_OK && n > len)
      st = TPA_ERR_INTERNAL; /* never trust a length beyond the buffer */
    if (st != TPA_OK) {
      /* The tokenizer does not know which file the text came from. */
      const char *msg = tpa_last_error();
      rc = cli_fail("%s: example %zu: %s", o->data, i, msg[0] != '\0' ? msg : tpa_status_str(st));
      break;
    }
    fputs("{\"ids\":", fp);
    put_ints(fp, ids, n);
    fputs(",\"type_ids\":", fp);
    put_ints(fp, types, n);
    fputs("}\n", fp);
  }
  free(ids);
  free(types);
  return rc;
}

static int tokenize_run(int argc, char **argv) {
  cli_run_opts o;
  int rc = cli_parse_run(&cli_cmd_tokenize,
                         CLI_OPT_MODEL | CLI_OPT_TASK | CLI_OPT_DATA | CLI_OPT_MAX_SEQ |
                             CLI_OPT_OUT | CLI_OPT_LIMIT | CLI_OPT_TABLE,
                         argc, argv, &o);
  if (rc == CLI_HELP_SHOWN)
    return CLI_EXIT_OK;
  if (rc != CLI_PARSED)
    return rc;
  o.classes = CLI_CLASSES_NONE; /* the tokens do not depend on labels */

  tpa_model *model = NULL;
  tpa_dataset *ds = NULL;
  cli_output out;
  if (!cli_output_open(&out, o.out))
    return CLI_EXIT_FAILURE;
  if (!cli_load_model_and_data(&o, &model, &ds)) {
    cli_output_abort(&out);
    return CLI_EXIT_FAILURE;
  }
  rc = tokenize_all(&o, model, ds, out.fp);
  if (rc == CLI_EXIT_OK && !cli_output_commit(&out))
    rc = CLI_EXIT_FAILURE;
  cli_output_abort(&out);
  tpa_dataset_free(ds);
  tpa_model_free(model);
  return rc;
}

const cli_command cli_cmd_tokenize = {
    .name = "tokenize",
    .summary = "print the token ids of every example of a file (JSON Lines)",
    .help = tokenize_help,
    .run = tokenize_run,
};
