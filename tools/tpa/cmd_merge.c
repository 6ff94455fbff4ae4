/* SPDX-License-Identifier: Apache-2.0 */
/* `tpa merge --model DIR --adapter DIR --out DIR [--dense]`: fold a PEFT
 * LoRA adapter into its (possibly pruned) model and write the merged model
 * as an HF directory, compact (pruned_heads in config.json) or dense. */
#include <getopt.h>
#include <stdlib.h>

#include "cli.h"

static const char merge_help[] =
    "Usage: tpa merge --model DIR --adapter DIR --out DIR [--dense]\n"
    "\n"
    "Merge a PEFT LoRA adapter (adapter_config.json, adapter_model.safetensors,\n"
    "as `tpa train` and `tpa run` write it) into the model it was trained on:\n"
    "W' = W + (alpha/r) B A for every adapted module, and the adapter's\n"
    "LayerNorm and classifier copies replace the model's. The merged model\n"
    "gives the logits the model with the adapter gave, with no adapter.\n"
    "\n"
    "The result is written as a Hugging Face directory (config.json,\n"
    "model.safetensors, vocab.txt, tokenizer_config.json), every file\n"
    "atomically. By default it is compact: pruned heads are absent and\n"
    "config.json lists them in pruned_heads, as HF's prune_heads leaves a\n"
    "model. With --dense every layer keeps its original width: the pruned\n"
    "heads' weights are zeros and config.json has no pruned_heads, for tools\n"
    "that ignore it; the logits are the same.\n"
    "\n"
    "Options:\n"
    "  --model DIR     Hugging Face checkpoint directory (possibly pruned)\n"
    "  --adapter DIR   PEFT LoRA adapter made for that model's shape\n"
    "  --out DIR       output directory (created if missing)\n"
    "  --dense         original shapes, pruned heads zeroed\n"
    "  -q, --quiet     nothing on stderr but errors\n"
    "  -h, --help      show this help\n";

typedef struct merge_opts {
  const char *model, *adapter, *out;
  bool dense, quiet;
} merge_opts;

enum { OPT_MODEL = 256, OPT_ADAPTER, OPT_OUT, OPT_DENSE };

static int parse(int argc, char **argv, merge_opts *o) {
  static const struct option longopts[] = {
      {"model", required_argument, NULL, OPT_MODEL},
      {"adapter", required_argument, NULL, OPT_ADAPTER},
      {"out", required_argument, NULL, OPT_OUT},
      {"dense", no_argument, NULL, OPT_DENSE},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c, rc = CLI_PARSED;
  optind = 1;
  while ((c = cli_next_option("merge", merge_help, argc, argv, ":hq", longopts, &rc))) {
    switch (c) {
    case OPT_MODEL: o->model = optarg; break;
    case OPT_ADAPTER: o->adapter = optarg; break;
    case OPT_OUT: o->out = optarg; break;
    case OPT_DENSE: o->dense = true; break;
    case 'q': o->quiet = true; break;
    }
  }
  if (rc != CLI_PARSED)
    return rc;
  if (cli_missing("merge", o->model, "--model DIR") ||
      cli_missing("merge", o->adapter, "--adapter DIR") ||
      cli_missing("merge", o->out, "--out DIR"))
    return CLI_EXIT_USAGE;
  return CLI_PARSED;
}

/* Modules of @p set that carry LoRA (rank > 0). */
static int adapted_modules(const tpa_lora_set *set, int32_t layers) {
  int n = 0;
  for (int32_t l = 0; l < layers; l++)
    for (int k = 0; k < TPA_LORA_ALL_MODULES; k++)
      n += tpa_lora_set_rank(set, l, (tpa_lora_module)k) > 0;
  return n;
}

static int merge_run(int argc, char **argv) {
  merge_opts o = {0};
  int rc = parse(argc, argv, &o);
  if (rc == CLI_HELP_SHOWN)
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
  if (rc != CLI_PARSED)
    return rc;
  tpa_model *model = NULL;
  if (cli_model_load(&model, o.model, 0, o.quiet) != TPA_OK)
    return CLI_EXIT_FAILURE;
  tpa_lora_set *set = NULL;
  tpa_model_config cfg = {.size = sizeof cfg};
  tpa_status st = tpa_model_get_config(model, &cfg);
  if (st == TPA_OK)
    st = tpa_lora_set_load(&set, model, o.adapter);
  if (st == TPA_OK)
    st = tpa_lora_set_merge(set, model);
  if (st == TPA_OK)
    st = o.dense ? tpa_model_save_dense(model, o.out) : tpa_model_save(model, o.out);
  if (st != TPA_OK) {
    rc = cli_fail_lib(st);
  } else {
    rc = CLI_EXIT_OK;
    if (!o.quiet) {
      int heads = 0;
      for (int32_t l = 0; l < cfg.num_layers; l++)
        heads += tpa_model_layer_num_heads(model, l);
      fprintf(stderr, "tpa: merged %d LoRA modules into %s (%d of %d heads); wrote %s (%s)\n",
              adapted_modules(set, cfg.num_layers), o.model, heads, cfg.num_layers * cfg.num_heads,
              o.out, o.dense ? "dense" : "compact");
    }
  }
  tpa_lora_set_free(set);
  tpa_model_free(model);
  return rc;
}

const cli_command cli_cmd_merge = {
    .name = "merge",
    .summary = "merge a LoRA adapter into its model and export it",
    .help = merge_help,
    .run = merge_run,
};
