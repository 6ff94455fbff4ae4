/* SPDX-License-Identifier: Apache-2.0 */
/* `tpa train` as a subprocess: usage errors and a full fine-tuning run
 * that writes a loadable model. Runs killed with SIGKILL and resumed are
 * tests/durability's (many seeded kills, every file checked). */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tpa/tpa.h"
#include "train_tests.h"

extern char **environ;

static const char *tpa_exe(void) {
  const char *exe = getenv("TPA_EXE");
  ck_assert_msg(exe != NULL, "TPA_EXE is not set");
  return exe;
}

static pid_t spawn(char *const argv[]) {
  pid_t pid;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  /* Keep the test log readable: the command's output goes to /dev/null. */
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  ck_assert_msg(rc == 0, "cannot run %s: %s", argv[0], strerror(rc));
  return pid;
}

static int wait_exit(pid_t pid) {
  int st = 0;
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  ck_assert_msg(WIFEXITED(st), "tpa ended by signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  return WEXITSTATUS(st);
}

/* Run `tpa train` with @p extra arguments (NULL-terminated). */
static int run_train(const char *const *extra) {
  char *argv[64];
  int n = 0;
  argv[n++] = (char *)tpa_exe();
  argv[n++] = "train";
  for (; *extra && n < 63; extra++)
    argv[n++] = (char *)*extra;
  argv[n] = NULL;
  return wait_exit(spawn(argv));
}

/* DIR/train.tsv and DIR/dev.tsv: the first rows of the real SST-2 files. */
static void write_head(const char *src, const char *dst, int lines) {
  FILE *in = fopen(src, "r"), *out = fopen(dst, "w");
  ck_assert_ptr_nonnull(in);
  ck_assert_ptr_nonnull(out);
  char line[8192];
  for (int i = 0; i < lines && fgets(line, sizeof line, in); i++)
    fputs(line, out);
  fclose(in);
  ck_assert_int_eq(fclose(out), 0);
}

static void make_data(char *dir, size_t cap, int train_rows, int dev_rows) {
  char path[512];
  make_temp_dir(dir, cap, "data");
  snprintf(path, sizeof path, "%s/train.tsv", dir);
  write_head(shared_path("glue/SST-2/train.tsv"), path, train_rows + 1);
  snprintf(path, sizeof path, "%s/dev.tsv", dir);
  write_head(shared_path("glue/SST-2/dev.tsv"), path, dev_rows + 1);
}

START_TEST(usage_errors_exit_2) {
  const char *missing_out[] = {"--model", "x", "--task", "sst2", "--data", "y", NULL};
  ck_assert_int_eq(run_train(missing_out), 2);
  const char *bad_mode[] = {"--model", "x", "--task", "sst2", "--data", "y",
                            "--out",   "z", "--mode", "half", NULL};
  ck_assert_int_eq(run_train(bad_mode), 2);
  const char *bad_lr[] = {"--model", "x", "--task", "sst2", "--data", "y",
                          "--out",   "z", "--lr",   "-1",   NULL};
  ck_assert_int_eq(run_train(bad_lr), 2);
  const char *bad_task[] = {"--model", "x", "--task", "glue", "--data", "y", "--out", "z", NULL};
  ck_assert_int_eq(run_train(bad_task), 2);
  const char *help[] = {"--help", NULL};
  ck_assert_int_eq(run_train(help), 0);
  /* A missing model is a failure (1), not a usage error. */
  char out[256];
  make_temp_dir(out, sizeof out, "out");
  const char *no_model[] = {
      "--model", "/nonexistent/model", "--task", "sst2", "--data", out, "--out", out, NULL};
  ck_assert_int_eq(run_train(no_model), 1);
  remove_tree(out);
}
END_TEST

START_TEST(full_mode_writes_a_loadable_model) {
  char data[256], out[256], path[600];
  make_data(data, sizeof data, 48, 16);
  make_temp_dir(out, sizeof out, "out");
  const char *args[] = {"--model",      fixture_path("tiny"),
                        "--task",       "sst2",
                        "--data",       data,
                        "--out",        out,
                        "--mode",       "full",
                        "--max-steps",  "4",
                        "--batch-size", "8",
                        "-q",           NULL};
  ck_assert_int_eq(run_train(args), 0);
  snprintf(path, sizeof path, "%s/model", out);
  tpa_model *m = NULL;
  ck_assert_msg(tpa_model_load(&m, path, NULL) == TPA_OK, "%s", tpa_last_error());
  tpa_model_free(m);
  snprintf(path, sizeof path, "%s/metrics.json", out);
  json_error_t err;
  json_t *j = json_load_file(path, 0, &err);
  ck_assert_msg(j != NULL, "%s: %s", path, err.text);
  ck_assert_int_eq(json_integer_value(json_object_get(j, "steps")), 4);
  ck_assert_int_eq(json_integer_value(json_object_get(j, "trainable_params")),
                   json_integer_value(json_object_get(j, "total_params")));
  ck_assert_int_eq(json_array_size(json_object_get(j, "epochs")), 1);
  ck_assert(json_number_value(json_object_get(j, "peak_rss_mb")) > 1);
  json_decref(j);
  remove_tree(out);
  remove_tree(data);
}
END_TEST

Suite *command_suite(void) {
  Suite *s = suite_create("command");
  TCase *tc = tcase_create("usage");
  tcase_add_test(tc, usage_errors_exit_2);
  suite_add_tcase(s, tc);
  tc = tcase_create("full");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, full_mode_writes_a_loadable_model);
  suite_add_tcase(s, tc);
  return s;
}
