/* SPDX-License-Identifier: Apache-2.0 */
/* `tpa info MODEL_DIR [--json]`: configuration, heads kept per layer and
 * exact parameter counts of a checkpoint directory. */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* How the model's weights are stored: "f32", or int8 with its
 * activation scales (tpa/quantize.h). */
static const char *quant_name(const tpa_model *m) {
  switch (tpa_model_quant_mode(m)) {
  case TPA_QUANT_DYNAMIC: return "int8-dynamic";
  case TPA_QUANT_STATIC: return "int8-static";
  default: return "f32";
  }
}

static const char *quant_text(const tpa_model *m) {
  switch (tpa_model_quant_mode(m)) {
  case TPA_QUANT_DYNAMIC:
    return "int8 (block Linears and word embeddings), activation scales per token";
  case TPA_QUANT_STATIC:
    return "int8 (block Linears and word embeddings), static activation scales";
  default: return "f32";
  }
}

static const char info_help[] =
    "Usage: tpa info MODEL_DIR [--json]\n"
    "\n"
    "Load the Hugging Face BERT checkpoint in MODEL_DIR and print its\n"
    "configuration, the heads each layer keeps (count and ORIGINAL head\n"
    "ids, so pruned checkpoints show which heads remain) and its exact\n"
    "parameter counts: total, embeddings, encoder and head (pooler +\n"
    "classifier).\n"
    "\n"
    "Options:\n"
    "  --json      one JSON object instead of the table (keys in docs/cli.md)\n"
    "  -h, --help  show this help\n";

/* Everything the report shows, gathered once for both output forms. */
typedef struct info {
  tpa_model_config cfg;
  tpa_param_counts counts;
  int32_t *heads; /* heads of every layer, back to back */
  size_t *nheads; /* per layer */
  size_t heads_total;
} info;

static void info_free(info *in) {
  free(in->heads);
  free(in->nheads);
}

static tpa_status info_gather(const tpa_model *m, info *in) {
  memset(in, 0, sizeof *in);
  in->cfg.size = sizeof in->cfg;
  in->counts.size = sizeof in->counts;
  tpa_status st = tpa_model_get_config(m, &in->cfg);
  if (st == TPA_OK)
    st = tpa_model_param_counts(m, &in->counts);
  if (st != TPA_OK)
    return st;
  size_t layers = in->cfg.num_layers > 0 ? (size_t)in->cfg.num_layers : 0;
  size_t per = in->cfg.num_heads > 0 ? (size_t)in->cfg.num_heads : 0;
  in->nheads = calloc(layers + 1, sizeof *in->nheads);
  in->heads = calloc(layers * per + 1, sizeof *in->heads);
  if (in->nheads == NULL || in->heads == NULL)
    return TPA_ERR_NO_MEMORY;
  for (size_t l = 0; l < layers; l++) {
    st = tpa_model_layer_heads(m, (int32_t)l, in->heads + l * per, per, &in->nheads[l]);
    if (st != TPA_OK)
      return st;
    if (in->nheads[l] > per)
      return TPA_ERR_INTERNAL; /* more heads than the buffer: never print past it */
    in->heads_total += in->nheads[l];
  }
  return TPA_OK;
}

static const int32_t *layer_heads(const info *in, size_t l) {
  return in->heads + l * (size_t)in->cfg.num_heads;
}

static void print_table(const char *dir, const tpa_model *m, const info *in) {
  const tpa_model_config *c = &in->cfg;
  printf("model                         %s\n", dir);
  printf("model_type                    %s\n", c->model_type);
  printf("hidden_size                   %d\n", c->hidden_size);
  printf("num_hidden_layers             %d\n", c->num_layers);
  printf("num_attention_heads           %d\n", c->num_heads);
  printf("head_dim                      %d\n", c->head_dim);
  printf("intermediate_size             %d\n", c->intermediate_size);
  bool uneven = false;
  for (int32_t l = 0; l < c->num_layers; l++)
    uneven = uneven || tpa_model_layer_ffn_width(m, l) != c->intermediate_size;
  if (uneven) { /* neuron pruning left layers of different widths */
    printf("intermediate_sizes           ");
    for (int32_t l = 0; l < c->num_layers; l++)
      printf(" %d", tpa_model_layer_ffn_width(m, l));
    printf("\n");
  }
  printf("vocab_size                    %d\n", c->vocab_size);
  if (c->embedding_size != c->hidden_size)
    printf("embedding_size                %d\n", c->embedding_size);
  printf("max_position_embeddings       %d\n", c->max_position_embeddings);
  printf("max_sequence_length           %d\n", c->max_sequence_length);
  printf("type_vocab_size               %d\n", c->type_vocab_size);
  printf("layer_norm_eps                %g\n", c->layer_norm_eps);
  printf("hidden_dropout_prob           %g\n", c->hidden_dropout_prob);
  printf("attention_probs_dropout_prob  %g\n", c->attention_probs_dropout_prob);
  printf("do_lower_case                 %s\n", c->do_lower_case ? "true" : "false");
  printf("tokenizer                     %s\n", tpa_tokenizer_describe(tpa_model_tokenizer(m)));
  printf("weights                       %s\n", quant_text(m));
  printf("num_labels                    %d%s\n", c->num_labels,
         c->regression ? " (regression)" : "");
  printf("labels                       ");
  for (int32_t i = 0; i < c->num_labels; i++) {
    const char *name = tpa_model_label_name(m, i);
    printf(" %d=%s", i, name != NULL ? name : "?");
  }
  printf("\n\nlayer  heads  kept (original head ids)\n");
  for (size_t l = 0; l < (size_t)c->num_layers; l++) {
    printf("%5zu  %5zu ", l, in->nheads[l]);
    const int32_t *h = layer_heads(in, l);
    for (size_t k = 0; k < in->nheads[l]; k++)
      printf(" %d", h[k]);
    printf("\n");
  }
  printf("total  %5zu of %lld\n", in->heads_total,
         (long long)c->num_layers * (long long)c->num_heads);
  const tpa_param_counts *p = &in->counts;
  printf("\nparameters\n");
  printf("  embeddings   %15llu\n", (unsigned long long)p->embeddings);
  printf("  encoder      %15llu\n", (unsigned long long)p->encoder);
  printf("  head         %15llu  (pooler %llu + classifier %llu)\n", (unsigned long long)p->head,
         (unsigned long long)p->pooler, (unsigned long long)p->classifier);
  printf("  total        %15llu\n", (unsigned long long)p->total);
}

/* json_object_set_new() steals the value even on failure, so a NULL from
 * an allocation failure is caught once, by the final json_dumps(). */
static json_t *jint(long long v) {
  return json_integer((json_int_t)v);
}

/* JSON has no NaN or infinity: those become null. */
static json_t *jreal(double v) {
  return v == v && v - v == 0 ? json_real(v) : json_null();
}

static json_t *build_json(const char *dir, const tpa_model *m, const info *in) {
  const tpa_model_config *c = &in->cfg;
  json_t *root = json_object();
  json_t *cfg = json_object();
  json_t *layers = json_array();
  json_t *params = json_object();
  json_t *labels = json_array();
  if (root == NULL || cfg == NULL || layers == NULL || params == NULL || labels == NULL) {
    json_decref(root);
    json_decref(cfg);
    json_decref(layers);
    json_decref(params);
    json_decref(labels);
    return NULL;
  }
  bool ok = json_object_set_new(root, "model", json_string(dir)) == 0;
  ok &= json_object_set_new(cfg, "model_type", json_string(c->model_type)) == 0;
  ok &= json_object_set_new(cfg, "hidden_size", jint(c->hidden_size)) == 0;
  ok &= json_object_set_new(cfg, "embedding_size", jint(c->embedding_size)) == 0;
  ok &= json_object_set_new(cfg, "max_sequence_length", jint(c->max_sequence_length)) == 0;
  ok &= json_object_set_new(cfg, "num_hidden_layers", jint(c->num_layers)) == 0;
  ok &= json_object_set_new(cfg, "num_attention_heads", jint(c->num_heads)) == 0;
  ok &= json_object_set_new(cfg, "head_dim", jint(c->head_dim)) == 0;
  ok &= json_object_set_new(cfg, "intermediate_size", jint(c->intermediate_size)) == 0;
  ok &= json_object_set_new(cfg, "vocab_size", jint(c->vocab_size)) == 0;
  ok &= json_object_set_new(cfg, "max_position_embeddings", jint(c->max_position_embeddings)) == 0;
  ok &= json_object_set_new(cfg, "type_vocab_size", jint(c->type_vocab_size)) == 0;
  ok &= json_object_set_new(cfg, "num_labels", jint(c->num_labels)) == 0;
  ok &= json_object_set_new(cfg, "layer_norm_eps", jreal(c->layer_norm_eps)) == 0;
  ok &= json_object_set_new(cfg, "hidden_dropout_prob", jreal(c->hidden_dropout_prob)) == 0;
  ok &= json_object_set_new(cfg, "attention_probs_dropout_prob",
                            jreal(c->attention_probs_dropout_prob)) == 0;
  ok &= json_object_set_new(cfg, "do_lower_case", json_boolean(c->do_lower_case)) == 0;
  ok &= json_object_set_new(cfg, "regression", json_boolean(c->regression)) == 0;
  ok &= json_object_set_new(cfg, "quantization", json_string(quant_name(m))) == 0;
  ok &= json_object_set_new(root, "config", cfg) == 0;

  for (int32_t i = 0; i < c->num_labels; i++) {
    const char *name = tpa_model_label_name(m, i);
    ok &= json_array_append_new(labels, name != NULL ? json_string(name) : json_null()) == 0;
  }
  ok &= json_object_set_new(root, "labels", labels) == 0;
  ok &= json_object_set_new(root, "tokenizer",
                            json_string(tpa_tokenizer_describe(tpa_model_tokenizer(m)))) == 0;

  for (size_t l = 0; l < (size_t)c->num_layers; l++) {
    json_t *layer = json_object();
    json_t *ids = json_array();
    const int32_t *h = layer_heads(in, l);
    for (size_t k = 0; ids != NULL && k < in->nheads[l]; k++)
      ok &= json_array_append_new(ids, jint(h[k])) == 0;
    if (layer != NULL) {
      ok &= json_object_set_new(layer, "layer", jint((long long)l)) == 0;
      ok &= json_object_set_new(layer, "num_heads", jint((long long)in->nheads[l])) == 0;
      ok &= json_object_set_new(layer, "intermediate_size",
                                jint(tpa_model_layer_ffn_width(m, (int32_t)l))) == 0;
    }
    ok &= json_object_set_new(layer, "heads", ids) == 0;
    ok &= json_array_append_new(layers, layer) == 0;
  }
  ok &= json_object_set_new(root, "layers", layers) == 0;
  ok &= json_object_set_new(root, "heads_total", jint((long long)in->heads_total)) == 0;

  const tpa_param_counts *p = &in->counts;
  ok &= json_object_set_new(params, "total", jint((long long)p->total)) == 0;
  ok &= json_object_set_new(params, "embeddings", jint((long long)p->embeddings)) == 0;
  ok &= json_object_set_new(params, "encoder", jint((long long)p->encoder)) == 0;
  ok &= json_object_set_new(params, "head", jint((long long)p->head)) == 0;
  ok &= json_object_set_new(params, "pooler", jint((long long)p->pooler)) == 0;
  ok &= json_object_set_new(params, "classifier", jint((long long)p->classifier)) == 0;
  ok &= json_object_set_new(root, "parameters", params) == 0;
  if (!ok) {
    json_decref(root);
    return NULL;
  }
  return root;
}

static int print_json(const char *dir, const tpa_model *m, const info *in) {
  json_t *root = build_json(dir, m, in);
  /* ASCII escapes keep odd label names intact; 15 digits print config
   * values as written ("1e-12", not "9.9999999999999998e-13"). */
  char *text = root != NULL ? json_dumps(root, JSON_ENSURE_ASCII | JSON_REAL_PRECISION(15)) : NULL;
  json_decref(root);
  if (text == NULL)
    return cli_fail("out of memory (building the JSON report)");
  puts(text);
  free(text);
  return CLI_EXIT_OK;
}

static int info_run(int argc, char **argv) {
  static const struct option longopts[] = {
      {"json", no_argument, NULL, 'J'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  bool json = false;
  opterr = 0;
  optind = 1;
  for (;;) {
    int c = getopt_long(argc, argv, ":h", longopts, NULL);
    if (c == -1)
      break;
    switch (c) {
    case 'J': json = true; break;
    case 'h': fputs(info_help, stdout); return CLI_EXIT_OK;
    default:
      return cli_usage("info", "invalid option '%s'", cli_rejected_option(argv, optind, optopt));
    }
  }
  if (optind >= argc)
    return cli_usage("info", "missing MODEL_DIR");
  if (optind + 1 < argc)
    return cli_usage("info", "unexpected argument '%s'", argv[optind + 1]);
  const char *dir = argv[optind];

  tpa_model *model = NULL;
  tpa_status st = cli_model_load(&model, dir, 0, false);
  if (st != TPA_OK)
    return CLI_EXIT_FAILURE;
  info in;
  st = info_gather(model, &in);
  int rc;
  if (st != TPA_OK)
    rc = cli_fail_lib(st);
  else if (json)
    rc = print_json(dir, model, &in);
  else {
    print_table(dir, model, &in);
    rc = CLI_EXIT_OK;
  }
  info_free(&in);
  tpa_model_free(model);
  if (rc == CLI_EXIT_OK) {
    cli_output out = {.fp = stdout};
    if (!cli_output_commit(&out))
      rc = CLI_EXIT_FAILURE;
  }
  return rc;
}

const cli_command cli_cmd_info = {
    .name = "info",
    .summary = "configuration, heads per layer and parameter counts of a model",
    .help = info_help,
    .run = info_run,
};
