/* SPDX-License-Identifier: Apache-2.0 */
/* `tpa`: the command-line front end of libtpa. This file only dispatches
 * to the subcommands (one cmd_<name>.c each) and prints global help. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_command *const commands[] = {
    &cli_cmd_info,  &cli_cmd_tokenize, &cli_cmd_predict,    &cli_cmd_eval,  &cli_cmd_train,
    &cli_cmd_merge, &cli_cmd_run,      &cli_cmd_importance, &cli_cmd_prune, &cli_cmd_quantize,
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static const cli_command *find_command(const char *name) {
  for (size_t i = 0; i < COMMAND_COUNT; i++)
    if (strcmp(commands[i]->name, name) == 0)
      return commands[i];
  return NULL;
}

static void print_main_help(FILE *fp) {
  fputs("Usage: tpa COMMAND [OPTIONS]\n"
        "       tpa help COMMAND | tpa --help | tpa --version\n"
        "\n"
        "Run, inspect and evaluate BERT sequence classifiers stored as\n"
        "Hugging Face model directories, on GLUE task files.\n"
        "\n"
        "Commands:\n",
        fp);
  for (size_t i = 0; i < COMMAND_COUNT; i++)
    fprintf(fp, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
  fputs("\n"
        "Run 'tpa COMMAND --help' for the options of a command.\n"
        "Exit status: 0 success, 1 failure (the library's message is printed),\n"
        "2 bad usage.\n",
        fp);
}

static int usage_error(const char *fmt, const char *arg) {
  fputs("tpa: ", stderr);
  fprintf(stderr, fmt, arg);
  fputs("\nTry 'tpa --help' for more information.\n", stderr);
  return CLI_EXIT_USAGE;
}

int main(int argc, char **argv) {
  cli_argv_full = argv;
  if (argc < 2) {
    print_main_help(stderr);
    return CLI_EXIT_USAGE;
  }
  const char *name = argv[1];
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
    print_main_help(stdout);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
  }
  if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
    /* The version the tool was built with, the library's when it differs
     * (a newer libtpa.so.0 under an older tpa), and the oneDNN it runs. */
    if (strcmp(tpa_version(), TPA_VERSION_STRING) == 0)
      printf("tpa %s (%s)\n", TPA_VERSION_STRING, tpa_backend_version());
    else
      printf("tpa %s (libtpa %s, %s)\n", TPA_VERSION_STRING, tpa_version(), tpa_backend_version());
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
  }
  if (strcmp(name, "help") == 0) {
    if (argc == 2) {
      print_main_help(stdout);
      return CLI_EXIT_OK;
    }
    if (argc > 3)
      return usage_error("help takes one command name, got '%s' too", argv[3]);
    const cli_command *cmd = find_command(argv[2]);
    if (cmd == NULL)
      return usage_error("unknown command '%s'", argv[2]);
    fputs(cmd->help, stdout);
    return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
  }
  if (name[0] == '-')
    return usage_error("unknown option '%s' (options go after the command)", name);
  const cli_command *cmd = find_command(name);
  if (cmd == NULL)
    return usage_error("unknown command '%s'", name);
  return cli_dist_finish(cmd->run(argc - 1, argv + 1));
}
