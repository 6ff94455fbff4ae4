/* SPDX-License-Identifier: Apache-2.0 */
/* `tpa importance`: task-oriented head importance of a model on a GLUE
 * task file, as the JSON of docs/formats.md, and optionally its picture
 * (SVG and/or PNG). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char importance_help[] =
    "Usage: tpa importance --model DIR [--task TASK] --data FILE [OPTIONS]\n"
    "\n"
    "Score every attention head of a model by its task-oriented importance\n"
    "(the head-mask gradient of each example's own loss, absolute, summed over\n"
    "the sample and divided by its non-pad token count; normalised per layer)\n"
    "and print the table as one JSON object:\n"
    "  {\"layers\":L,\"heads\":A,\"examples\":E,\"tokens\":T,\"raw\":[[...]],\n"
    "   \"normalized\":[[...]],\"blocks\":[...]}\n"
    "Rows are layers, columns ORIGINAL head indices; heads the model has\n"
    "already pruned are null. blocks[l] is the sum of layer l's raw scores.\n"
    "With --ffn, every intermediate neuron of the feed-forward blocks is scored\n"
    "the same way (a mask on the activation's output), in the same passes, and\n"
    "the object gains \"ffn_raw\":[[...]] and \"ffn_normalized\":[[...]]: one\n"
    "list per layer, one score per neuron of the model as loaded.\n"
    "\n"
    "Options:\n"
    "  --model DIR           Hugging Face checkpoint directory\n"
    "  --task TASK           a GLUE task: cola sst2 mrpc stsb qqp mnli qnli rte wnli\n"
    "  --data FILE           labelled file (usually the training file)\n"
    "  --samples N           the first N examples in file order, 0 = all (2000)\n"
    "  --batch-size N        examples per pass; does not change the result (32)\n"
    "  --max-seq-length N    truncation length (128, or max_position_embeddings)\n"
    "  --ffn                 also score every feed-forward neuron\n"
    "  -o, --out FILE        write the JSON to FILE (atomically) instead of stdout\n"
    "  --svg FILE.svg        also draw the table: layers x heads, each cell's\n"
    "                        normalised score printed in it (darker = more\n"
    "                        important, unscored heads hatched grey), the block\n"
    "                        importance beside each layer, a colour legend\n"
    "  --heatmap FILE.png    the same picture as a PNG\n"
    "  --threads N           compute threads (sets OMP_NUM_THREADS)\n"
    "  -q, --quiet           nothing on stderr but errors\n"
    "  -h, --help            show this help\n"
    "\n" CLI_DATA_HELP;

typedef struct importance_opts {
  cli_run_opts run; /* model, task, data, max length, batch, threads, quiet */
  const char *out, *heatmap, *svg;
  size_t samples;
  bool ffn;
} importance_opts;

enum { OPT_SAMPLES = 256, OPT_HEATMAP, OPT_BATCH, OPT_MAXLEN, OPT_THREADS, OPT_FFN, OPT_SVG };

static const struct option importance_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"model", required_argument, NULL, 'm'},
    {"task", required_argument, NULL, 't'},
    {"data", required_argument, NULL, 'd'},
    {"samples", required_argument, NULL, OPT_SAMPLES},
    {"batch-size", required_argument, NULL, OPT_BATCH},
    {"max-seq-length", required_argument, NULL, OPT_MAXLEN},
    {"out", required_argument, NULL, 'o'},
    {"heatmap", required_argument, NULL, OPT_HEATMAP},
    {"svg", required_argument, NULL, OPT_SVG},
    {"ffn", no_argument, NULL, OPT_FFN},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"quiet", no_argument, NULL, 'q'},
    CLI_DATA_LONGOPTS,
    {NULL, 0, NULL, 0},
};

/* CLI_PARSED, CLI_HELP_SHOWN or CLI_EXIT_USAGE (after printing why). */
static int parse(int argc, char **argv, importance_opts *o) {
  static const char cmd[] = "importance";
  *o = (importance_opts){.run = {.batch_size = 32, .task = (tpa_task)TPA_TASK_COUNT},
                         .samples = 2000};
  cli_data_init(&o->run.table);
  const char *task = NULL;
  long v = 0;
  opterr = 0;
  optind = 1;
  for (;;) {
    int c = getopt_long(argc, argv, ":hqo:", importance_options, NULL);
    if (c == -1)
      break;
    switch (c) {
    case 'h': fputs(importance_help, stdout); return CLI_HELP_SHOWN;
    case 'm': o->run.model = optarg; break;
    case 't': task = optarg; break;
    case 'd': o->run.data = optarg; break;
    case 'o': o->out = optarg; break;
    case 'q': o->run.quiet = true; break;
    case OPT_HEATMAP: o->heatmap = optarg; break;
    case OPT_SVG: o->svg = optarg; break;
    case OPT_FFN: o->ffn = true; break;
    case OPT_SAMPLES:
      if (!cli_parse_int(cmd, "samples", optarg, 0, LONG_MAX, &v))
        return CLI_EXIT_USAGE;
      o->samples = (size_t)v;
      break;
    case OPT_BATCH:
      if (!cli_parse_int(cmd, "batch-size", optarg, 1, 1 << 20, &v))
        return CLI_EXIT_USAGE;
      o->run.batch_size = (int32_t)v;
      break;
    case OPT_MAXLEN:
      if (!cli_parse_int(cmd, "max-seq-length", optarg, 3, 1 << 20, &v))
        return CLI_EXIT_USAGE;
      o->run.max_seq_length = (int32_t)v;
      o->run.max_seq_length_set = true;
      break;
    case OPT_THREADS:
      if (!cli_parse_int(cmd, "threads", optarg, 1, 4096, &v))
        return CLI_EXIT_USAGE;
      o->run.threads = (int32_t)v;
      break;
    case ':':
      return cli_usage(cmd, "option '%s' needs a value", cli_rejected_option(argv, optind, optopt));
    case '?':
      return cli_usage(cmd, "invalid option '%s'", cli_rejected_option(argv, optind, optopt));
    default:
      if (cli_data_option(cmd, c, optarg, false, &o->run.table) <= 0)
        return CLI_EXIT_USAGE;
      break;
    }
  }
  if (optind < argc)
    return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
  if (!o->run.model)
    return cli_usage(cmd, "missing required option --model");
  if (!o->run.data)
    return cli_usage(cmd, "missing required option --data");
  if (!cli_data_check(cmd, &o->run.table, task != NULL))
    return CLI_EXIT_USAGE;
  if (task && !cli_parse_task(cmd, task, &o->run.task))
    return CLI_EXIT_USAGE;
  if (o->out && (!o->out[0] || strcmp(o->out, "-") == 0))
    o->out = NULL; /* "-": standard output */
  if (o->heatmap && !o->heatmap[0])
    return cli_usage(cmd, "--heatmap needs a file name");
  if (o->svg && !o->svg[0])
    return cli_usage(cmd, "--svg needs a file name");
  return CLI_PARSED;
}

/* Print the table on stdout in exactly the format tpa_importance_save
 * writes: save it to a private temporary directory, then copy. */
static int print_table(const tpa_importance *imp) {
  const char *tmpdir = getenv("TMPDIR");
  char dir[4096];
  int n =
      snprintf(dir, sizeof dir, "%s/tpa-importance-XXXXXX", tmpdir && tmpdir[0] ? tmpdir : "/tmp");
  if (n < 0 || (size_t)n >= sizeof dir)
    return cli_fail("TMPDIR is too long");
  if (!mkdtemp(dir))
    return cli_fail("cannot create a temporary directory %s: %s", dir, strerror(errno));
  char path[4200];
  snprintf(path, sizeof path, "%s/importance.json", dir);
  tpa_status st = tpa_importance_save(imp, path);
  int rc = st == TPA_OK ? CLI_EXIT_OK : cli_fail_lib(st);
  FILE *f = rc == CLI_EXIT_OK ? fopen(path, "rb") : NULL;
  if (rc == CLI_EXIT_OK && !f)
    rc = cli_fail("cannot read back %s: %s", path, strerror(errno));
  if (f) {
    char buf[1 << 14];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
      if (fwrite(buf, 1, got, stdout) != got)
        break;
    if (ferror(f))
      rc = cli_fail("reading back %s: %s", path, strerror(errno));
    fclose(f);
    cli_output out = {.fp = stdout};
    if (rc == CLI_EXIT_OK && !cli_output_commit(&out))
      rc = CLI_EXIT_FAILURE;
  }
  unlink(path);
  rmdir(dir);
  return rc;
}

static int importance_run(int argc, char **argv) {
  importance_opts o;
  int rc = parse(argc, argv, &o);
  if (rc == CLI_HELP_SHOWN)
    return CLI_EXIT_OK;
  if (rc != CLI_PARSED)
    return rc;
  if (!cli_apply_threads(o.run.threads, cli_argv_full))
    return CLI_EXIT_FAILURE;
  if (!cli_dist_setup()) /* under mpirun: examples split, rank 0 prints and writes */
    return CLI_EXIT_FAILURE;
  o.run.quiet = o.run.quiet || !cli_dist_lead();

  /* Only the sample is read from the file (the library also stops there). */
  o.run.limit = o.samples;
  tpa_model *model = NULL;
  tpa_dataset *ds = NULL;
  o.run.classes = CLI_CLASSES_TRAIN;
  if (!cli_load_model_and_data(&o.run, &model, &ds))
    return CLI_EXIT_FAILURE;
  /* Your own classes may need a new classifier, as training would make. */
  if (!cli_data_fit_model(&model, o.run.model, ds, o.run.quiet)) {
    tpa_dataset_free(ds);
    return CLI_EXIT_FAILURE;
  }
  cli_progress prog;
  cli_progress_init(&prog, o.run.quiet);
  tpa_importance_params p;
  tpa_importance_params_init(&p, sizeof p);
  p.samples = o.samples;
  p.batch_size = o.run.batch_size;
  p.max_seq_length = o.run.max_seq_length_set ? o.run.max_seq_length : 0;
  p.progress = cli_progress_cb;
  p.user = &prog;
  p.dist = cli_dist();
  p.ffn = o.ffn;
  tpa_importance *imp = NULL;
  tpa_status st = tpa_importance_compute(&imp, model, ds, &p);
  cli_progress_end(&prog);
  rc = st == TPA_OK ? CLI_EXIT_OK : cli_fail_lib(st);
  if (rc == CLI_EXIT_OK && !cli_dist_lead()) { /* rank 0 writes the table */
    tpa_importance_free(imp);
    tpa_dataset_free(ds);
    tpa_model_free(model);
    return rc;
  }
  /* The picture's title names the GLUE task, or else the data file. */
  tpa_heatmap_params hp;
  tpa_heatmap_params_init(&hp, sizeof hp);
  hp.task = tpa_task_name(o.run.task) ? tpa_task_name(o.run.task) : o.run.data;
  if (rc == CLI_EXIT_OK && o.svg && (st = tpa_importance_write_svg(imp, o.svg, &hp)) != TPA_OK)
    rc = cli_fail_lib(st);
  if (rc == CLI_EXIT_OK && o.heatmap &&
      (st = tpa_importance_write_png(imp, o.heatmap, &hp)) != TPA_OK)
    rc = cli_fail_lib(st);
  if (rc == CLI_EXIT_OK) {
    if (o.out)
      rc = (st = tpa_importance_save(imp, o.out)) == TPA_OK ? CLI_EXIT_OK : cli_fail_lib(st);
    else
      rc = print_table(imp);
  }
  if (rc == CLI_EXIT_OK && !o.run.quiet)
    fprintf(stderr, "tpa: importance of %llu examples (%llu tokens)%s%s%s%s%s%s\n",
            (unsigned long long)tpa_importance_examples(imp),
            (unsigned long long)tpa_importance_tokens(imp), o.out ? " written to " : "",
            o.out ? o.out : "", o.svg ? ", picture " : "", o.svg ? o.svg : "",
            o.heatmap ? (o.svg ? " and " : ", picture ") : "", o.heatmap ? o.heatmap : "");
  tpa_importance_free(imp);
  tpa_dataset_free(ds);
  tpa_model_free(model);
  return rc;
}

const cli_command cli_cmd_importance = {
    .name = "importance",
    .summary = "score each attention head's (and neuron's) importance for a task",
    .help = importance_help,
    .run = importance_run,
};
