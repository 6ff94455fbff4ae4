/* SPDX-License-Identifier: Apache-2.0 */
/* `tpa prune --model DIR --importance FILE (--prune-heads N | --threshold X)
 * [--ffn-keep F | --ffn-global F] [--allow-empty-layers] [--dense] --out DIR`: choose the
 * heads (and neurons) to remove from an importance table (tpa importance),
 * remove them structurally and write the pruned model plus OUT/plan.json. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char prune_help[] =
    "Usage: tpa prune --model DIR --importance FILE (--prune-heads N | --threshold X)\n"
    "                 [--ffn-keep F | --ffn-global F] [--allow-empty-layers] [--dense]\n"
    "                 --out DIR\n"
    "\n"
    "Remove attention heads from a BERT checkpoint by task-oriented importance\n"
    "(docs/method.md section 6). The importance table is the JSON that\n"
    "`tpa importance --out FILE` writes for this model. Heads are ranked by\n"
    "their normalised score; equal scores go toward the lower (layer, head).\n"
    "\n"
    "  --prune-heads N  remove the N least important heads of the whole model\n"
    "                   (default, when neither option is given: the paper's\n"
    "                   share, round(0.3056 * layers * heads), 44 of 144 for\n"
    "                   BERT-base)\n"
    "  --threshold X    remove every head whose normalised score is below X\n"
    "  --ffn-keep F     also prune feed-forward neurons: every layer keeps\n"
    "                   floor(F * I + 0.5) of its I intermediate neurons, the\n"
    "                   most important ones (the table must have neuron scores:\n"
    "                   tpa importance --ffn); the rows of intermediate.dense and\n"
    "                   the columns of output.dense of the others are deleted,\n"
    "                   and intermediate_size becomes that number\n"
    "  --ffn-global F   instead rank all neurons of all layers together and keep\n"
    "                   floor(F * total + 0.5) of them (each layer keeps at least\n"
    "                   its best); layers then differ in width, listed under\n"
    "                   \"intermediate_sizes\" in config.json (a libtpa key: other\n"
    "                   tools load the --dense export, every layer padded to the\n"
    "                   widest with zero neurons)\n"
    "\n"
    "A layer never loses its last head unless --allow-empty-layers is given:\n"
    "its most important head is kept and the next candidate is taken instead,\n"
    "so exactly N heads go whenever enough remain. Heads the model already\n"
    "lacks have no score and are never chosen.\n"
    "\n"
    "Pruning is structural (HF prune_heads): the rows of query, key and value\n"
    "and the columns of attention.output.dense of the removed heads are\n"
    "deleted. OUT receives the pruned model as a Hugging Face directory\n"
    "(compact, pruned_heads in config.json; with --dense the original shapes\n"
    "with the pruned heads zeroed and no pruned_heads) and plan.json, the\n"
    "heads removed by this run in ORIGINAL indices:\n"
    "  {\"layers\": L, \"heads\": A, \"pruned_heads\": {\"3\": [0, 7]}}\n"
    "(with --ffn-keep or --ffn-global also \"ffn_widths\" and \"pruned_neurons\").\n"
    "Every file is written atomically.\n"
    "\n"
    "Options:\n"
    "  --model DIR           Hugging Face checkpoint directory (may be pruned)\n"
    "  --importance FILE     importance table JSON of that model\n"
    "  --prune-heads N       number of heads to remove\n"
    "  --threshold X         remove heads scoring below X\n"
    "  --ffn-keep F          share of each layer's neurons to keep, in (0, 1]\n"
    "  --ffn-global F        share of all neurons to keep, in (0, 1]\n"
    "  --allow-empty-layers  a layer may lose all its heads\n"
    "  --dense               write original shapes, pruned heads zeroed\n"
    "  --out DIR             output directory (created if missing)\n"
    "  -q, --quiet           nothing on stderr but errors\n"
    "  -h, --help            show this help\n";

typedef struct prune_opts {
  const char *model, *importance, *out;
  long heads;                             /* -1: the paper's share */
  double threshold, ffn_keep, ffn_global; /* 0: no neuron pruning */
  bool use_threshold, heads_set, allow_empty, dense, quiet;
} prune_opts;

enum {
  OPT_MODEL = 256,
  OPT_IMPORTANCE,
  OPT_HEADS,
  OPT_THRESHOLD,
  OPT_FFN_KEEP,
  OPT_FFN_GLOBAL,
  OPT_EMPTY,
  OPT_DENSE,
  OPT_OUT
};

static int parse(int argc, char **argv, prune_opts *o) {
  static const struct option longopts[] = {
      {"model", required_argument, NULL, OPT_MODEL},
      {"importance", required_argument, NULL, OPT_IMPORTANCE},
      {"prune-heads", required_argument, NULL, OPT_HEADS},
      {"threshold", required_argument, NULL, OPT_THRESHOLD},
      {"ffn-keep", required_argument, NULL, OPT_FFN_KEEP},
      {"ffn-global", required_argument, NULL, OPT_FFN_GLOBAL},
      {"allow-empty-layers", no_argument, NULL, OPT_EMPTY},
      {"dense", no_argument, NULL, OPT_DENSE},
      {"out", required_argument, NULL, OPT_OUT},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int c, rc = CLI_PARSED;
  optind = 1;
  while ((c = cli_next_option("prune", prune_help, argc, argv, ":hq", longopts, &rc))) {
    switch (c) {
    case OPT_MODEL: o->model = optarg; break;
    case OPT_IMPORTANCE: o->importance = optarg; break;
    case OPT_HEADS:
      if (!cli_parse_int("prune", "prune-heads", optarg, 0, 1 << 20, &o->heads))
        return CLI_EXIT_USAGE;
      o->heads_set = true;
      break;
    case OPT_THRESHOLD:
      if (!cli_parse_real("prune", "threshold", optarg, -HUGE_VAL, HUGE_VAL, &o->threshold))
        return CLI_EXIT_USAGE;
      o->use_threshold = true;
      break;
    case OPT_FFN_KEEP:
      if (!cli_parse_share("prune", "ffn-keep", optarg, &o->ffn_keep))
        return CLI_EXIT_USAGE;
      break;
    case OPT_FFN_GLOBAL:
      if (!cli_parse_share("prune", "ffn-global", optarg, &o->ffn_global))
        return CLI_EXIT_USAGE;
      break;
    case OPT_EMPTY: o->allow_empty = true; break;
    case OPT_DENSE: o->dense = true; break;
    case OPT_OUT: o->out = optarg; break;
    case 'q': o->quiet = true; break;
    }
  }
  if (rc != CLI_PARSED)
    return rc;
  if (cli_missing("prune", o->model, "--model DIR") ||
      cli_missing("prune", o->importance, "--importance FILE") ||
      cli_missing("prune", o->out, "--out DIR"))
    return CLI_EXIT_USAGE;
  if (o->heads_set && o->use_threshold)
    return cli_usage("prune", "give --prune-heads or --threshold, not both");
  if (o->ffn_keep > 0 && o->ffn_global > 0)
    return cli_usage("prune", "give --ffn-keep or --ffn-global, not both");
  return CLI_PARSED;
}

/* Heads the model keeps in all, and its parameter count. */
static int32_t kept_heads(const tpa_model *m, int32_t layers) {
  int32_t n = 0;
  for (int32_t l = 0; l < layers; l++)
    n += tpa_model_layer_num_heads(m, l);
  return n;
}

static uint64_t total_params(const tpa_model *m) {
  tpa_param_counts p = {.size = sizeof p};
  return tpa_model_param_counts(m, &p) == TPA_OK ? p.total : 0;
}

/* Load the table, make the plan, prune, write OUT. *reported is set when
 * the problem was already printed (not a library error). */
static tpa_status prune_and_save(const prune_opts *o, tpa_model *model, tpa_prune_plan **plan,
                                 bool *reported) {
  tpa_importance *imp = NULL;
  tpa_prune_params p;
  tpa_prune_params_init(&p, sizeof p);
  p.num_heads = o->heads_set ? (int32_t)o->heads : -1;
  p.use_threshold = o->use_threshold;
  p.threshold = o->threshold;
  p.allow_empty_layers = o->allow_empty;
  p.ffn_keep = o->ffn_keep;
  p.ffn_global = o->ffn_global;
  tpa_model_config cfg = {.size = sizeof cfg};
  tpa_status st = tpa_importance_load(&imp, o->importance);
  if (st == TPA_OK)
    st = tpa_model_get_config(model, &cfg);
  if (st == TPA_OK && (tpa_importance_num_layers(imp) != cfg.num_layers ||
                       tpa_importance_num_heads(imp) != cfg.num_heads)) {
    fprintf(stderr, "tpa: %s scores %d layers x %d heads, model %s has %d x %d\n", o->importance,
            tpa_importance_num_layers(imp), tpa_importance_num_heads(imp), o->model, cfg.num_layers,
            cfg.num_heads);
    tpa_importance_free(imp);
    *reported = true;
    return TPA_ERR_INVALID_ARGUMENT;
  }
  if (st == TPA_OK)
    st = tpa_prune_plan_create(plan, imp, &p);
  tpa_importance_free(imp);
  if (st == TPA_OK)
    st = tpa_model_prune(model, *plan);
  if (st == TPA_OK)
    st = o->dense ? tpa_model_save_dense(model, o->out) : tpa_model_save(model, o->out);
  if (st == TPA_OK) {
    size_t n = strlen(o->out) + sizeof "/plan.json";
    char *path = malloc(n);
    if (!path)
      return TPA_ERR_NO_MEMORY;
    snprintf(path, n, "%s/plan.json", o->out);
    st = tpa_prune_plan_save(*plan, path);
    free(path);
  }
  return st;
}

static int prune_run(int argc, char **argv) {
  prune_opts o = {.heads = -1};
  int rc = parse(argc, argv, &o);
  if (rc == CLI_HELP_SHOWN)
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
  if (rc != CLI_PARSED)
    return rc;
  tpa_model *model = NULL;
  if (cli_model_load(&model, o.model, 0, o.quiet) != TPA_OK)
    return CLI_EXIT_FAILURE;
  tpa_model_config cfg = {.size = sizeof cfg};
  tpa_status st = tpa_model_get_config(model, &cfg);
  const int32_t before = kept_heads(model, cfg.num_layers);
  const uint64_t params_before = total_params(model);
  tpa_prune_plan *plan = NULL;
  bool reported = false;
  if (st == TPA_OK)
    st = prune_and_save(&o, model, &plan, &reported);
  if (st != TPA_OK) {
    rc = reported ? CLI_EXIT_FAILURE : cli_fail_lib(st);
  } else {
    rc = CLI_EXIT_OK;
    const int32_t after = kept_heads(model, cfg.num_layers);
    if (!o.quiet) {
      fprintf(stderr, "tpa: removed %d heads: %d of %d remain; parameters %llu -> %llu\n",
              before - after, after, cfg.num_layers * cfg.num_heads,
              (unsigned long long)params_before, (unsigned long long)total_params(model));
      const int32_t planned = tpa_prune_plan_num_pruned(plan);
      if (o.heads_set && planned < o.heads)
        fprintf(stderr, "tpa: only %d of the %ld heads asked for could go (%s)\n", planned, o.heads,
                o.allow_empty ? "no more scored heads"
                              : "every layer keeps one head; see --allow-empty-layers");
      if (planned > before - after)
        fprintf(stderr, "tpa: %d heads of the plan were already absent from the model\n",
                planned - (before - after));
      if (tpa_prune_plan_ffn_width(plan, 0) > 0) {
        fprintf(stderr, "tpa: removed %lld neurons; neurons per layer:",
                (long long)tpa_prune_plan_num_pruned_neurons(plan));
        for (int32_t l = 0; l < cfg.num_layers; l++)
          fprintf(stderr, " %d", tpa_model_layer_ffn_width(model, l));
        fprintf(stderr, " (of %d)\n", cfg.intermediate_size);
      }
      fprintf(stderr, "tpa: wrote %s (%s) and %s/plan.json\n", o.out, o.dense ? "dense" : "compact",
              o.out);
    }
  }
  tpa_prune_plan_free(plan);
  tpa_model_free(model);
  return rc;
}

const cli_command cli_cmd_prune = {
    .name = "prune",
    .summary = "remove the least important attention heads (and neurons)",
    .help = prune_help,
    .run = prune_run,
};
