/* SPDX-License-Identifier: Apache-2.0 */
/* Nothing lost (issue 6 item 4) and divergence (item 3), in C:
 * - the directory writer swaps a whole directory in, carries over the
 *   entries it does not replace, leaves the old one intact on abort, and
 *   removes what killed writers left (but not a live writer's files);
 * - disk full (RLIMIT_FSIZE: EFBIG) and permission errors (a child that
 *   drops to uid 65534) give TPA_ERR_IO with the path and errno text, the
 *   existing output byte-identical and no temporary left;
 * - non-finite gradients and non-finite weights after an update stop
 *   training with a message naming the step, and no checkpoint is written
 *   from the bad state.
 * oneDNN's OpenMP threads do not survive fork(): the tests that fork come
 * first and do all model work in the child; the suite runs with
 * CK_FORK=no (see meson.build). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__linux__) && defined(__x86_64__)
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#define HAVE_SECCOMP_TEST 1
#endif

#include "io/file.h"
#include "stages/lora.h"
#include "test_util.h"
#include "tpa/tpa.h"

/* ---- helpers ---- */

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
  ck_assert_int_eq(fputs(text, f) >= 0, 1);
  ck_assert_int_eq(fclose(f), 0);
}

static void expect_text(const char *path, const char *want) {
  char *got = read_all(path, NULL);
  ck_assert_msg(strcmp(got, want) == 0, "%s holds \"%s\", expected \"%s\"", path, got, want);
  free(got);
}

/* Number of entries of @p dir whose name contains ".tmp." */
static int count_temps(const char *dir) {
  DIR *d = opendir(dir);
  ck_assert_msg(d != NULL, "%s: %s", dir, strerror(errno));
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    n += strstr(e->d_name, ".tmp.") != NULL;
  closedir(d);
  return n;
}

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  ck_assert_msg(d != NULL, "%s: %s", dir, strerror(errno));
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  closedir(d);
  return n;
}

static void copy_file(const char *from, const char *to) {
  size_t n = 0;
  char *buf = read_all(from, &n);
  FILE *f = fopen(to, "wb");
  ck_assert_msg(f != NULL, "%s: %s", to, strerror(errno));
  ck_assert_uint_eq(fwrite(buf, 1, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
  free(buf);
}

static const char *const model_files[] = {"config.json", "model.safetensors", "vocab.txt",
                                          "tokenizer_config.json"};
enum { N_MODEL_FILES = 4 };

/* dir/model: a copy of the tiny fixture (no oneDNN: plain file copies). */
static char *old_model_dir(const char *dir) {
  char *model = join(dir, "model");
  ck_assert_int_eq(mkdir(model, 0755), 0);
  char *src = fixture("tiny");
  for (int i = 0; i < N_MODEL_FILES; i++) {
    char *a = join(src, model_files[i]), *b = join(model, model_files[i]);
    copy_file(a, b);
    free(a);
    free(b);
  }
  free(src);
  return model;
}

/* The model files of @p model equal the fixture's, byte for byte. */
static void expect_old_model(const char *model) {
  char *src = fixture("tiny");
  for (int i = 0; i < N_MODEL_FILES; i++) {
    char *a = join(src, model_files[i]), *b = join(model, model_files[i]);
    size_t la, lb;
    char *x = read_all(a, &la), *y = read_all(b, &lb);
    ck_assert_msg(la == lb && memcmp(x, y, la) == 0, "%s changed", b);
    free(x);
    free(y);
    free(a);
    free(b);
  }
  free(src);
  ck_assert_int_eq(count_entries(model), N_MODEL_FILES);
}

/* What a forked child reports: its status and tpa_last_error(). */
typedef struct child_result {
  int status;
  char msg[1024];
} child_result;

typedef void (*child_fn)(const char *arg, child_result *out);

static child_result in_child(child_fn fn, const char *arg) {
  int fds[2];
  ck_assert_int_eq(pipe(fds), 0);
  fflush(NULL);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    child_result r = {.status = -1};
    fn(arg, &r);
    ssize_t w = write(fds[1], &r, sizeof r);
    _exit(w == (ssize_t)sizeof r ? 0 : 3);
  }
  close(fds[1]);
  child_result r = {.status = -100};
  size_t got = 0;
  while (got < sizeof r) {
    ssize_t n = read(fds[0], (char *)&r + got, sizeof r - got);
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  close(fds[0]);
  int st = 0;
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0 && got == sizeof r,
                "child died (status 0x%x, %zu bytes reported)", (unsigned)st, got);
  return r;
}

/* ---- the directory writer ---- */

START_TEST(dir_writer_swaps_whole_directory) {
  char *d = temp_dir();
  char *out = join(d, "out"), *sub = join(out, "sub");
  ck_assert_int_eq(mkdir(out, 0750), 0);
  ck_assert_int_eq(mkdir(sub, 0755), 0);
  char *a = join(out, "a"), *b = join(out, "b"), *keep = join(out, "keep.txt"),
       *deep = join(sub, "x");
  write_text(a, "old a");
  write_text(keep, "mine");
  write_text(deep, "deep");

  tpa__dir_writer w;
  ck_assert_msg(tpa__dir_begin(&w, out) == TPA_OK, "%s", tpa_last_error());
  ck_assert(!w.in_place);
  ck_assert_msg(strncmp(w.stage, out, strlen(out)) == 0 &&
                    strncmp(w.stage + strlen(out), ".tmp.", 5) == 0,
                "staging directory %s", w.stage);
  ck_assert_int_eq(tpa__atomic_write_file(w.stage, "a", "new a", 5), TPA_OK);
  ck_assert_int_eq(tpa__atomic_write_file(w.stage, "b", "new b", 5), TPA_OK);
  /* Until the commit, readers see only the old directory. */
  expect_text(a, "old a");
  ck_assert_int_ne(access(b, F_OK), 0);
  ck_assert_msg(tpa__dir_commit(&w) == TPA_OK, "%s", tpa_last_error());
  tpa__dir_abort(&w);
  expect_text(a, "new a");
  expect_text(b, "new b");
  expect_text(keep, "mine"); /* not written by the new output: kept */
  expect_text(deep, "deep");
  struct stat sb;
  ck_assert_int_eq(stat(out, &sb), 0);
  ck_assert_int_eq(sb.st_mode & 0777, 0750); /* the old directory's mode */
  ck_assert_int_eq(count_entries(d), 1);     /* only "out": no staging left */
  ck_assert_int_eq(count_entries(out), 4);

  /* Abort: the old directory stays as it was, the staging one goes. */
  ck_assert_int_eq(tpa__dir_begin(&w, out), TPA_OK);
  ck_assert_int_eq(tpa__atomic_write_file(w.stage, "a", "newer", 5), TPA_OK);
  tpa__dir_abort(&w);
  expect_text(a, "new a");
  ck_assert_int_eq(count_entries(d), 1);

  /* A new nested directory: created, no leftovers; trailing slash ok. */
  char *nested = join(d, "p/q/r/"), *r = join(d, "p/q/r/f");
  ck_assert_int_eq(tpa__dir_begin(&w, nested), TPA_OK);
  ck_assert_int_eq(tpa__atomic_write_file(w.stage, "f", "F", 1), TPA_OK);
  ck_assert_int_eq(tpa__dir_commit(&w), TPA_OK);
  tpa__dir_abort(&w);
  expect_text(r, "F");
  char *q = join(d, "p/q");
  ck_assert_int_eq(count_entries(q), 1);

  /* A file where the directory should be: an error naming it. */
  ck_assert_int_eq(tpa__dir_begin(&w, a), TPA_ERR_IO);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), a));
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "not a directory"));
  tpa__dir_abort(&w);
  remove_tree(d);
  free(q), free(nested), free(r), free(a), free(b), free(keep), free(deep), free(sub), free(out);
  free(d);
}
END_TEST

#ifdef HAVE_SECCOMP_TEST
/* In a child where renameat2() fails with EINVAL (as on file systems
 * without RENAME_EXCHANGE, forced here with a seccomp filter): replace
 * dir/out through the two-rename fallback. */
static void swap_without_exchange(const char *dir, child_result *r) {
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_renameat2, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EINVAL),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {.len = sizeof f / sizeof f[0], .filter = f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    r->status = -3;
    snprintf(r->msg, sizeof r->msg, "seccomp: %s", strerror(errno));
    return;
  }
  char out[512];
  snprintf(out, sizeof out, "%s/out", dir);
  tpa__dir_writer w;
  r->status = (int)tpa__dir_begin(&w, out);
  if (r->status == TPA_OK)
    r->status = (int)tpa__atomic_write_file(w.stage, "a", "new a", 5);
  if (r->status == TPA_OK)
    r->status = (int)tpa__dir_commit(&w);
  tpa__dir_abort(&w);
  snprintf(r->msg, sizeof r->msg, "%s", tpa_last_error());
}

START_TEST(dir_writer_without_rename_exchange) {
  char *d = temp_dir();
  char *out = join(d, "out"), *a = join(out, "a"), *keep = join(out, "keep");
  ck_assert_int_eq(mkdir(out, 0755), 0);
  write_text(a, "old a");
  write_text(keep, "mine");
  child_result r = in_child(swap_without_exchange, d);
  ck_assert_msg(r.status == TPA_OK, "status %d: %s", r.status, r.msg);
  expect_text(a, "new a");
  expect_text(keep, "mine");
  ck_assert_int_eq(count_entries(d), 1);
  ck_assert_int_eq(count_entries(out), 2);
  remove_tree(d);
  free(out), free(a), free(keep), free(d);
}
END_TEST
#endif

/* Temporaries of killed writers (unlocked) go at the next write of the
 * same destination; a live writer's (locked) and unrelated names stay. */
START_TEST(stale_temporaries_are_removed) {
  char *d = temp_dir();
  char *stale_f = join(d, "f.tmp.AbC123"), *live_f = join(d, "f.tmp.LIVE00"),
       *other = join(d, "f.tmp.toolong1"), *other2 = join(d, "g.tmp.AbC123"),
       *stale_d = join(d, "out.tmp.Xy9876"), *inner = join(d, "out.tmp.Xy9876/model.safetensors");
  write_text(stale_f, "partial");
  write_text(live_f, "live");
  write_text(other, "not ours");
  write_text(other2, "other file");
  ck_assert_int_eq(mkdir(stale_d, 0700), 0);
  write_text(inner, "partial");
  int lock = open(live_f, O_RDONLY);
  ck_assert_int_ge(lock, 0);
  ck_assert_int_eq(flock(lock, LOCK_EX), 0);

  ck_assert_int_eq(tpa__atomic_write_file(d, "f", "done", 4), TPA_OK);
  ck_assert_int_ne(access(stale_f, F_OK), 0);
  ck_assert_int_eq(access(live_f, F_OK), 0);
  ck_assert_int_eq(access(other, F_OK), 0);
  ck_assert_int_eq(access(other2, F_OK), 0);
  ck_assert_int_eq(access(stale_d, F_OK), 0); /* another destination's */

  char *out = join(d, "out");
  tpa__dir_writer w;
  ck_assert_int_eq(tpa__dir_begin(&w, out), TPA_OK);
  ck_assert_int_ne(access(stale_d, F_OK), 0);
  ck_assert_int_eq(tpa__dir_commit(&w), TPA_OK);
  tpa__dir_abort(&w);
  close(lock);
  remove_tree(d);
  free(out), free(stale_f), free(live_f), free(other), free(other2), free(stale_d), free(inner);
  free(d);
}
END_TEST

/* ---- errors ---- */

static void save_with_small_fsize(const char *dir, child_result *r) {
  /* Loading needs no file writes; then every write past 64 KiB fails. */
  char *src = fixture("tiny");
  tpa_model *m = NULL;
  r->status = (int)tpa_model_load(&m, src, NULL);
  free(src);
  if (r->status != TPA_OK) {
    snprintf(r->msg, sizeof r->msg, "load: %s", tpa_last_error());
    r->status = -2;
    return;
  }
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit rl = {64 * 1024, 64 * 1024};
  if (setrlimit(RLIMIT_FSIZE, &rl) != 0) {
    r->status = -3;
    return;
  }
  char *model = join(dir, "model");
  r->status = (int)tpa_model_save(m, model);
  snprintf(r->msg, sizeof r->msg, "%s", tpa_last_error());
  free(model);
  tpa_model_free(m);
}

static void write_file_with_small_fsize(const char *dir, child_result *r) {
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit rl = {4096, 4096};
  if (setrlimit(RLIMIT_FSIZE, &rl) != 0) {
    r->status = -3;
    return;
  }
  static char big[100000];
  memset(big, 'x', sizeof big);
  r->status = (int)tpa__atomic_write_file(dir, "f.json", big, sizeof big);
  snprintf(r->msg, sizeof r->msg, "%s", tpa_last_error());
}

START_TEST(disk_full_keeps_the_old_output) {
  char *d = temp_dir();
  char *model = old_model_dir(d), *f = join(d, "f.json");
  write_text(f, "{\"old\": true}\n");

  child_result r = in_child(save_with_small_fsize, d);
  ck_assert_msg(r.status == TPA_ERR_IO, "status %d: %s", r.status, r.msg);
  ck_assert_msg(strstr(r.msg, model) != NULL, "no path in: %s", r.msg);
  ck_assert_msg(strstr(r.msg, strerror(EFBIG)) != NULL, "no errno text in: %s", r.msg);
  expect_old_model(model);
  ck_assert_int_eq(count_temps(d), 0);
  ck_assert_int_eq(count_entries(d), 2);

  r = in_child(write_file_with_small_fsize, d);
  ck_assert_msg(r.status == TPA_ERR_IO, "status %d: %s", r.status, r.msg);
  ck_assert_msg(strstr(r.msg, f) != NULL, "no path in: %s", r.msg);
  ck_assert_msg(strstr(r.msg, strerror(EFBIG)) != NULL, "no errno text in: %s", r.msg);
  expect_text(f, "{\"old\": true}\n");
  ck_assert_int_eq(count_temps(d), 0);
  remove_tree(d);
  free(model);
  free(f);
  free(d);
}
END_TEST

/* Drop to uid/gid 65534 (as root) before saving; as non-root the
 * directories are made read-only instead. */
static void save_as_nobody(const char *dir, child_result *r) {
  char *src = fixture("tiny");
  tpa_model *m = NULL;
  if (tpa_model_load(&m, src, NULL) != TPA_OK) {
    snprintf(r->msg, sizeof r->msg, "load: %s", tpa_last_error());
    r->status = -2;
    free(src);
    return;
  }
  free(src);
  if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)) {
    snprintf(r->msg, sizeof r->msg, "cannot drop privileges: %s", strerror(errno));
    r->status = -3;
    return;
  }
  char *model = join(dir, "model");
  r->status = (int)tpa_model_save(m, model);
  snprintf(r->msg, sizeof r->msg, "%s", tpa_last_error());
  if (r->status == TPA_ERR_IO) {
    /* And a single file in the read-only directory. */
    tpa_status s = tpa__atomic_write_file(dir, "f.json", "{}\n", 3);
    if (s != TPA_ERR_IO || !strstr(tpa_last_error(), dir) ||
        !strstr(tpa_last_error(), strerror(EACCES)))
      snprintf(r->msg, sizeof r->msg, "file: status %d: %s", (int)s, tpa_last_error()),
          r->status = -4;
  }
  free(model);
  tpa_model_free(m);
}

START_TEST(permission_denied_keeps_the_old_output) {
  char *d = temp_dir();
  char *model = old_model_dir(d);
  /* mkdtemp made d 0700: uid 65534 must reach it to be refused inside. */
  ck_assert_int_eq(chmod(d, geteuid() == 0 ? 0755 : 0555), 0);
  if (geteuid() != 0) {
    ck_assert_int_eq(chmod(model, 0555), 0);
    if (access(model, W_OK) == 0) {
      fprintf(stderr, "SKIP permission test: not root and read-only modes are not enforced\n");
      chmod(model, 0755), chmod(d, 0755);
      remove_tree(d);
      free(model), free(d);
      return;
    }
  }
  child_result r = in_child(save_as_nobody, d);
  chmod(model, 0755), chmod(d, 0700);
  ck_assert_msg(r.status == TPA_ERR_IO, "status %d: %s", r.status, r.msg);
  ck_assert_msg(strstr(r.msg, model) != NULL, "no path in: %s", r.msg);
  ck_assert_msg(strstr(r.msg, strerror(EACCES)) != NULL, "no errno text in: %s", r.msg);
  expect_old_model(model);
  ck_assert_int_eq(count_temps(d), 0);
  ck_assert_int_eq(count_entries(d), 1);
  remove_tree(d);
  free(model);
  free(d);
}
END_TEST

/* ---- divergence ---- */

static tpa_dataset *sst2_rows(size_t rows) {
  const char *root = getenv("TPA_SHARED_DATA");
  ck_assert_ptr_nonnull(root);
  char *path = join(root, "glue/SST-2/train.tsv");
  tpa_dataset_params dp;
  tpa_dataset_params_init(&dp, sizeof dp);
  dp.max_rows = rows;
  tpa_dataset *ds = NULL;
  ck_assert_msg(tpa_dataset_load(&ds, TPA_TASK_SST2, path, &dp) == TPA_OK, "%s", tpa_last_error());
  free(path);
  return ds;
}

static tpa_lora_set *new_set(const tpa_model *m) {
  tpa_lora_params lp;
  tpa_lora_params_init(&lp, sizeof lp);
  lp.rank = 2;
  lp.seed = 5;
  tpa_lora_set *s = NULL;
  ck_assert_msg(tpa_lora_set_create(&s, m, &lp) == TPA_OK, "%s", tpa_last_error());
  return s;
}

/* Classifier column 0 of the set set to +M (label 0) and -M (label 1):
 * the logits stay finite and so does the loss (in double), but when the
 * prediction is wrong the gradient of the pooled output, M * dz0 - M *
 * dz1 = 2M, overflows float. Right predictions give zero gradients. */
static void poison_classifier(tpa_lora_set *s, float sign) {
  size_t n = tpa__lora_set_tensors(s, NULL, 0);
  tpa__tensor_ref *refs = calloc(n, sizeof *refs);
  ck_assert_ptr_nonnull(refs);
  tpa__lora_set_tensors(s, refs, n);
  bool done = false;
  for (size_t i = 0; i < n; i++) {
    if (!strstr(refs[i].name, "classifier") || !strstr(refs[i].name, "weight") || refs[i].rows != 2)
      continue;
    refs[i].data[0] = sign * 3.0e38f;
    refs[i].data[refs[i].cols] = -sign * 3.0e38f;
    done = true;
  }
  ck_assert_msg(done, "no classifier weight among the set's %zu tensors", n);
  free(refs);
}

static tpa_train_params nan_params(const char *ckpt) {
  tpa_train_params p;
  tpa_train_params_init(&p, sizeof p);
  p.batch_size = 1;
  p.epochs = 1;
  p.learning_rate = 1e-4;
  p.hidden_dropout = p.attention_dropout = 0;
  p.save_every = 1;
  p.checkpoint_dir = ckpt;
  return p;
}

START_TEST(nonfinite_gradient_stops_with_checkpoint_intact) {
  tpa_model *m = load_fixture("tiny");
  tpa_dataset *train = sst2_rows(48);
  char *d = temp_dir();
  char *ckpt = join(d, "checkpoint"), *state = join(ckpt, "state.safetensors");
  /* The sign whose first batch is predicted right, so that at least one
   * good step is checkpointed before the bad one. */
  float sign = 1;
  char msg[1024];
  int step = 0;
  tpa_train_params p = nan_params(ckpt);
  for (int attempt = 0; attempt < 2 && step < 2; attempt++, sign = -sign) {
    remove_tree(d);
    ck_assert_int_eq(mkdir(d, 0700), 0);
    tpa_lora_set *set = new_set(m);
    poison_classifier(set, sign);
    ck_assert_int_eq(tpa_train_lora(m, set, train, NULL, &p, NULL), TPA_ERR_INVALID_ARGUMENT);
    tpa_lora_set_free(set);
    snprintf(msg, sizeof msg, "%s", tpa_last_error());
    ck_assert_msg(strstr(msg, "diverged at step ") && strstr(msg, "gradient norm is not finite") &&
                      strstr(msg, "with a finite loss") && strstr(msg, ckpt),
                  "%s", msg);
    ck_assert_int_eq(sscanf(strstr(msg, "at step ") + 8, "%d", &step), 1);
  }
  sign = -sign; /* the one used last */
  ck_assert_msg(step >= 2, "no sign gives a good first step: %s", msg);
  /* Steps before the bad one were checkpointed (save_every 1); the bad
   * one wrote nothing. Resuming from it fails at the same step again and
   * leaves the checkpoint byte-identical. */
  size_t l1 = 0, l2 = 0;
  char *before = read_all(state, &l1);
  tpa_lora_set *again = new_set(m);
  poison_classifier(again, sign);
  p.resume = true;
  ck_assert_int_eq(tpa_train_lora(m, again, train, NULL, &p, NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_str_eq(tpa_last_error(), msg);
  char *after = read_all(state, &l2);
  ck_assert_msg(l1 == l2 && memcmp(before, after, l1) == 0, "the checkpoint changed");
  free(after);
  free(before);
  ck_assert_int_eq(count_temps(ckpt), 0);
  tpa_lora_set_free(again);
  remove_tree(d);
  free(state), free(ckpt), free(d);
  tpa_dataset_free(train);
  tpa_model_free(m);
}
END_TEST

/* A learning rate whose step size overflows float: the loss and the
 * gradients of step 1 are fine, the weights after its update are not. */
START_TEST(nonfinite_weights_stop_before_any_checkpoint) {
  tpa_model *m = load_fixture("tiny");
  tpa_dataset *train = sst2_rows(8);
  char *d = temp_dir();
  char *ckpt = join(d, "checkpoint"), *state = join(ckpt, "state.safetensors");
  tpa_lora_set *set = new_set(m);
  tpa_train_params p = nan_params(ckpt);
  p.learning_rate = 1e39;
  p.warmup_ratio = 0;
  ck_assert_int_eq(tpa_train_lora(m, set, train, NULL, &p, NULL), TPA_ERR_INVALID_ARGUMENT);
  const char *msg = tpa_last_error();
  ck_assert_msg(strstr(msg, "diverged at step 1:") &&
                    strstr(msg, "is not finite after the update") && strstr(msg, "parameter \"") &&
                    strstr(msg, ckpt),
                "%s", msg);
  ck_assert_int_ne(access(state, F_OK), 0);
  tpa_lora_set_free(set);
  remove_tree(d);
  free(state), free(ckpt), free(d);
  tpa_dataset_free(train);
  tpa_model_free(m);
}
END_TEST

static Suite *durability_suite(void) {
  Suite *s = suite_create("durability");
  TCase *tc = tcase_create("dir_writer");
  tcase_add_test(tc, dir_writer_swaps_whole_directory);
  tcase_add_test(tc, stale_temporaries_are_removed);
#ifdef HAVE_SECCOMP_TEST
  tcase_add_test(tc, dir_writer_without_rename_exchange);
#endif
  suite_add_tcase(s, tc);
  /* Forking tests before any oneDNN use in this process. */
  tc = tcase_create("errors");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, disk_full_keeps_the_old_output);
  tcase_add_test(tc, permission_denied_keeps_the_old_output);
  suite_add_tcase(s, tc);
  tc = tcase_create("divergence");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, nonfinite_gradient_stops_with_checkpoint_intact);
  tcase_add_test(tc, nonfinite_weights_stop_before_any_checkpoint);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(durability_suite());
  srunner_run_all(sr, CK_VERBOSE);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
