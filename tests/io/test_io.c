/* SPDX-License-Identifier: Apache-2.0 */
/* io: half-precision conversion against hand-known bit patterns, file
 * reads/mappings/atomic writes, JSON errors, and the safetensors reader
 * on hand-built byte images (not on the library's own writer output), plus
 * the writer read back by those same checks. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/file.h"
#include "io/half.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "tpa/common.h"
#include "tpa/file.h"

static char tmp_root[256];

static void make_root(void) {
  if (tmp_root[0])
    return;
  const char *t = getenv("TMPDIR");
  snprintf(tmp_root, sizeof tmp_root, "%s/tpa-io-XXXXXX", t && *t ? t : "/tmp");
  if (!mkdtemp(tmp_root)) { /* called from main, outside any test */
    perror(tmp_root);
    exit(EXIT_FAILURE);
  }
}

/* tmp_root/name, in a static buffer that the next call overwrites. */
static const char *tmp_path(const char *name) {
  static char buf[4][512];
  static int at;
  make_root();
  char *p = buf[at++ % 4];
  snprintf(p, 512, "%s/%s", tmp_root, name);
  return p;
}

static void put_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
}

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    n += e->d_name[0] != '.' || (e->d_name[1] && strcmp(e->d_name, "..") != 0);
  closedir(d);
  return n;
}

static uint32_t bits_of(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

/* ---- half ---- */

START_TEST(f16_known_values) {
  const struct {
    uint16_t h;
    float f;
  } v[] = {
      {0x0000, 0.0f},      {0x3C00, 1.0f},        {0xC000, -2.0f},
      {0x7BFF, 65504.0f},  {0x0001, 0x1p-24f},    {0x03FF, 1023 * 0x1p-24f},
      {0x0400, 0x1p-14f},  {0x3555, 0x1.554p-2f}, {0x7C00, INFINITY},
      {0xFC00, -INFINITY}, {0x3BFF, 0x1.ffcp-1f}, {0x8001, -0x1p-24f},
  };
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    float got = tpa__f16_to_f32(v[i].h);
    ck_assert_msg(bits_of(got) == bits_of(v[i].f), "f16 %04x -> %a, want %a", v[i].h, got, v[i].f);
  }
  ck_assert_uint_eq(bits_of(tpa__f16_to_f32(0x8000)), 0x80000000u); /* -0 */
  ck_assert(isnan(tpa__f16_to_f32(0x7E00)));
  ck_assert(isnan(tpa__f16_to_f32(0xFC01)));
}
END_TEST

START_TEST(bf16_known_values) {
  ck_assert(tpa__bf16_to_f32(0x3F80) == 1.0f);
  ck_assert(tpa__bf16_to_f32(0xC0A0) == -5.0f);
  ck_assert(tpa__bf16_to_f32(0x7F7F) == 0x1.FEp127f);
  ck_assert(tpa__bf16_to_f32(0x0001) == 0x1p-133f); /* float subnormal */
  ck_assert(tpa__bf16_to_f32(0xFF80) == -INFINITY);
  ck_assert(isnan(tpa__bf16_to_f32(0x7FC0)));
  /* narrowing: ties to even, NaN stays NaN, overflow to inf */
  ck_assert_uint_eq(tpa__f32_to_bf16(1.0f), 0x3F80);
  ck_assert_uint_eq(tpa__f32_to_bf16(0x1.01p0f), 0x3F80);   /* tie, even below */
  ck_assert_uint_eq(tpa__f32_to_bf16(0x1.03p0f), 0x3F82);   /* tie, even above */
  ck_assert_uint_eq(tpa__f32_to_bf16(0x1.0101p0f), 0x3F81); /* above the tie */
  ck_assert_uint_eq(tpa__f32_to_bf16(0x1.FFp127f), 0x7F80); /* rounds to inf */
  ck_assert(isnan(tpa__bf16_to_f32(tpa__f32_to_bf16(NAN))));
}
END_TEST

START_TEST(f32_to_f16_rounding) {
  const struct {
    float f;
    uint16_t h;
  } v[] = {
      {1.0f, 0x3C00},
      {65504.0f, 0x7BFF},
      {65519.0f, 0x7BFF},
      {65520.0f, 0x7C00},
      {1e10f, 0x7C00},
      {-1e10f, 0xFC00},
      {1.0f + 0x1p-11f, 0x3C00},     /* tie, even below */
      {1.0f + 3 * 0x1p-11f, 0x3C02}, /* tie, even above */
      {0x1p-24f, 0x0001},
      {0x1p-25f, 0x0000}, /* tie to 0 */
      {0x1.8p-25f, 0x0001},
      {3 * 0x1p-25f, 0x0002}, /* 1.5 ulp: tie to even 2 */
      {0x1p-14f, 0x0400},
      {0x1.ffcp-15f, 0x0400}, /* 1023.5 ulp: up to the first normal */
      {0x1.ffap-15f, 0x03FF}, /* 1023.25 ulp */
      {1e-10f, 0x0000},
      {-0.0f, 0x8000},
      {0.333333343f, 0x3555},
  };
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    ck_assert_msg(tpa__f32_to_f16(v[i].f) == v[i].h, "%a -> %04x, want %04x", v[i].f,
                  tpa__f32_to_f16(v[i].f), v[i].h);
  ck_assert_uint_eq(tpa__f32_to_f16(NAN) & 0x7C00, 0x7C00);
  ck_assert_uint_ne(tpa__f32_to_f16(NAN) & 0x03FF, 0);
}
END_TEST

START_TEST(f16_round_trip_all) {
  /* Every non-NaN half survives widening then narrowing bit for bit, and
   * widening is monotonic over the positive halves. */
  float prev = -1.0f;
  for (uint32_t h = 0; h < 0x10000; h++) {
    float f = tpa__f16_to_f32((uint16_t)h);
    if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF))
      continue;
    ck_assert_msg(tpa__f32_to_f16(f) == h, "%04x -> %a -> %04x", h, f, tpa__f32_to_f16(f));
    if (h < 0x7C00) {
      ck_assert(f > prev || (h == 0 && f == 0));
      prev = f;
    }
  }
}
END_TEST

/* ---- file ---- */

START_TEST(read_and_map) {
  const char *p = tmp_path("hello.txt");
  put_file(p, "hello", 5);
  char *buf;
  size_t n;
  ck_assert_int_eq(tpa__file_read(p, 100, &buf, &n), TPA_OK);
  ck_assert_uint_eq(n, 5);
  ck_assert_str_eq(buf, "hello");
  free(buf);
  ck_assert_int_eq(tpa__file_read(p, 4, &buf, &n), TPA_ERR_IO); /* over the limit */
  ck_assert_ptr_null(buf);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), p));
  tpa__file_map m;
  ck_assert_int_eq(tpa__file_map_open(&m, p), TPA_OK);
  ck_assert_uint_eq(m.len, 5);
  ck_assert_int_eq(memcmp(m.data, "hello", 5), 0);
  tpa__file_map_close(&m);
  ck_assert_ptr_null(m.data);
  const char *e = tmp_path("empty");
  put_file(e, "", 0);
  ck_assert_int_eq(tpa__file_map_open(&m, e), TPA_OK);
  ck_assert_uint_eq(m.len, 0);
  tpa__file_map_close(&m);
}
END_TEST

START_TEST(missing_and_not_regular) {
  char *buf = (char *)1;
  const char *p = tmp_path("does-not-exist");
  ck_assert_int_eq(tpa__file_read(p, 100, &buf, NULL), TPA_ERR_NOT_FOUND);
  ck_assert_ptr_null(buf);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), p));
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "No such file"));
  tpa__file_map m;
  ck_assert_int_eq(tpa__file_map_open(&m, p), TPA_ERR_NOT_FOUND);
  make_root();
  ck_assert_int_eq(tpa__file_map_open(&m, tmp_root), TPA_ERR_IO); /* a directory */
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "not a regular file"));
  char *j = tpa__path_join("a/", "b");
  ck_assert_str_eq(j, "a/b");
  free(j);
  j = tpa__path_join("a", "b");
  ck_assert_str_eq(j, "a/b");
  free(j);
}
END_TEST

START_TEST(atomic_writes) {
  make_root();
  char dir[512];
  snprintf(dir, sizeof dir, "%s/atomic", tmp_root);
  ck_assert_int_eq(mkdir(dir, 0755), 0);
  char path[600];
  snprintf(path, sizeof path, "%s/out.bin", dir);
  put_file(path, "old", 3);
  /* an aborted write leaves the old file and no temporary */
  tpa__atomic_file af;
  ck_assert_int_eq(tpa__atomic_open(&af, path), TPA_OK);
  ck_assert_int_eq(tpa__atomic_write(&af, "partial", 7), TPA_OK);
  ck_assert_int_eq(count_entries(dir), 2);
  tpa__atomic_abort(&af);
  ck_assert_int_eq(count_entries(dir), 1);
  char *buf;
  size_t n;
  ck_assert_int_eq(tpa__file_read(path, 100, &buf, &n), TPA_OK);
  ck_assert_str_eq(buf, "old");
  free(buf);
  /* a committed write replaces it whole */
  ck_assert_int_eq(tpa__atomic_open(&af, path), TPA_OK);
  ck_assert_int_eq(tpa__atomic_write(&af, "new ", 4), TPA_OK);
  ck_assert_int_eq(tpa__atomic_write(&af, "contents", 8), TPA_OK);
  ck_assert_int_eq(tpa__atomic_commit(&af), TPA_OK);
  ck_assert_int_eq(count_entries(dir), 1);
  ck_assert_int_eq(tpa__file_read(path, 100, &buf, &n), TPA_OK);
  ck_assert_str_eq(buf, "new contents");
  free(buf);
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0644);
  /* a directory that does not exist: nothing is created */
  char bad[700];
  snprintf(bad, sizeof bad, "%s/nope/out.bin", dir);
  ck_assert_int_eq(tpa__atomic_open(&af, bad), TPA_ERR_NOT_FOUND);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), bad));
}
END_TEST

/* The public handle (tpa/file.h) over the same writer: a committed file
 * holds exactly what was written, an aborted one leaves the old file, the
 * temporary path names the file that exists while writing, and a write
 * that fails (a file-size limit, checked in a child) leaves the old file
 * and no temporary, with commit repeating the failure. */
START_TEST(output_file_public_api) {
  make_root();
  char dir[512];
  snprintf(dir, sizeof dir, "%s/output", tmp_root);
  ck_assert_int_eq(mkdir(dir, 0755), 0);
  char path[600];
  snprintf(path, sizeof path, "%s/out.txt", dir);
  put_file(path, "old", 3);
  tpa_output_file *f = NULL;
  ck_assert_int_eq(tpa_output_file_open(&f, path), TPA_OK);
  const char *tmp = tpa_output_file_temp_path(f);
  ck_assert_ptr_nonnull(tmp);
  ck_assert_int_eq(access(tmp, F_OK), 0);
  ck_assert_int_eq(tpa_output_file_write(f, "half", 4), TPA_OK);
  char tmp_copy[700];
  snprintf(tmp_copy, sizeof tmp_copy, "%s", tmp);
  tpa_output_file_abort(f);
  ck_assert_int_ne(access(tmp_copy, F_OK), 0);
  char *buf;
  size_t n;
  ck_assert_int_eq(tpa__file_read(path, 100, &buf, &n), TPA_OK);
  ck_assert_str_eq(buf, "old");
  free(buf);
  ck_assert_int_eq(tpa_output_file_open(&f, path), TPA_OK);
  ck_assert_int_eq(tpa_output_file_write(f, "line 1\n", 7), TPA_OK);
  ck_assert_int_eq(tpa_output_file_write(f, NULL, 0), TPA_OK);
  ck_assert_int_eq(tpa_output_file_write(f, "line 2\n", 7), TPA_OK);
  ck_assert_int_eq(tpa_output_file_commit(f), TPA_OK);
  ck_assert_int_eq(count_entries(dir), 1);
  ck_assert_int_eq(tpa__file_read(path, 100, &buf, &n), TPA_OK);
  ck_assert_str_eq(buf, "line 1\nline 2\n");
  free(buf);
  /* bad arguments */
  ck_assert_int_eq(tpa_output_file_open(NULL, path), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_output_file_open(&f, NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(f);
  ck_assert_int_eq(tpa_output_file_write(NULL, "x", 1), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_int_eq(tpa_output_file_commit(NULL), TPA_ERR_INVALID_ARGUMENT);
  ck_assert_ptr_null(tpa_output_file_temp_path(NULL));
  tpa_output_file_abort(NULL);
  /* a directory that does not exist */
  char bad[700];
  snprintf(bad, sizeof bad, "%s/nope/out.txt", dir);
  ck_assert_int_eq(tpa_output_file_open(&f, bad), TPA_ERR_NOT_FOUND);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), bad));
  /* a write past RLIMIT_FSIZE: the old file stays, no temporary */
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {.rlim_cur = 16, .rlim_max = 16};
    setrlimit(RLIMIT_FSIZE, &rl);
    tpa_output_file *g = NULL;
    if (tpa_output_file_open(&g, path) != TPA_OK)
      _exit(10);
    if (tpa_output_file_write(g, "0123456789abcdefghijklmnop", 26) != TPA_ERR_IO)
      _exit(11);
    if (!strstr(tpa_last_error(), path))
      _exit(12);
    if (tpa_output_file_temp_path(g) != NULL)
      _exit(13);
    if (tpa_output_file_write(g, "x", 1) != TPA_ERR_IO || tpa_output_file_commit(g) != TPA_ERR_IO)
      _exit(14);
    if (!strstr(tpa_last_error(), path))
      _exit(15);
    _exit(0);
  }
  int status = 0;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
  ck_assert_int_eq(count_entries(dir), 1);
  ck_assert_int_eq(tpa__file_read(path, 100, &buf, &n), TPA_OK);
  ck_assert_str_eq(buf, "line 1\nline 2\n");
  free(buf);
}
END_TEST

/* ---- json ---- */

START_TEST(json_errors_name_place) {
  const char *p = tmp_path("bad.json");
  put_file(p, "{\n  \"a\": 1,\n  \"b\": [1, 2,\n}\n", 28);
  json_t *root = (json_t *)1;
  ck_assert_int_eq(tpa__json_load_file(p, &root), TPA_ERR_JSON);
  ck_assert_ptr_null(root);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), p));
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "line 4"));
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "column"));
  put_file(p, "[1, 2]", 6);
  ck_assert_int_eq(tpa__json_load_file(p, &root), TPA_ERR_JSON);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "not a JSON object"));
  ck_assert_int_eq(tpa__json_load_file(tmp_path("none.json"), &root), TPA_ERR_NOT_FOUND);
}
END_TEST

START_TEST(json_typed_getters) {
  const char *text = "{\"i\": 3, \"r\": 0.5, \"b\": true, \"s\": \"x\", \"n\": null, \"o\": {}}";
  json_t *root;
  ck_assert_int_eq(tpa__json_parse(text, strlen(text), "t", TPA_ERR_JSON, false, &root), TPA_OK);
  int64_t i = 7;
  double r = 0;
  bool b = false, found;
  const char *s = NULL;
  const json_t *o = NULL;
  ck_assert_int_eq(tpa__json_get_int(root, "i", "f.json", TPA_ERR_CONFIG, &i, &found), TPA_OK);
  ck_assert(found && i == 3);
  ck_assert_int_eq(tpa__json_get_int(root, "n", "f.json", TPA_ERR_CONFIG, &i, &found), TPA_OK);
  ck_assert(!found && i == 3); /* null: default kept */
  ck_assert_int_eq(tpa__json_get_int(root, "zz", "f.json", TPA_ERR_CONFIG, &i, &found), TPA_OK);
  ck_assert(!found);
  ck_assert_int_eq(tpa__json_get_real(root, "i", "f.json", TPA_ERR_CONFIG, &r, NULL), TPA_OK);
  ck_assert(r == 3.0);
  ck_assert_int_eq(tpa__json_get_real(root, "r", "f.json", TPA_ERR_CONFIG, &r, NULL), TPA_OK);
  ck_assert(r == 0.5);
  ck_assert_int_eq(tpa__json_get_bool(root, "b", "f.json", TPA_ERR_CONFIG, &b, NULL), TPA_OK);
  ck_assert(b);
  ck_assert_int_eq(tpa__json_get_string(root, "s", "f.json", TPA_ERR_CONFIG, &s, NULL), TPA_OK);
  ck_assert_str_eq(s, "x");
  ck_assert_int_eq(tpa__json_get_typed(root, "o", "f.json", TPA_ERR_CONFIG, JSON_OBJECT, &o, NULL),
                   TPA_OK);
  ck_assert_ptr_nonnull(o);
  /* wrong types name key and file, with the caller's status */
  ck_assert_int_eq(tpa__json_get_int(root, "r", "f.json", TPA_ERR_CONFIG, &i, NULL),
                   TPA_ERR_CONFIG);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "\"r\""));
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "f.json"));
  ck_assert_int_eq(tpa__json_get_bool(root, "i", "f.json", TPA_ERR_HEADER, &b, NULL),
                   TPA_ERR_HEADER);
  ck_assert_int_eq(tpa__json_get_string(root, "i", "f.json", TPA_ERR_CONFIG, &s, NULL),
                   TPA_ERR_CONFIG);
  ck_assert_int_eq(tpa__json_get_typed(root, "s", "f.json", TPA_ERR_CONFIG, JSON_ARRAY, &o, NULL),
                   TPA_ERR_CONFIG);
  json_decref(root);
}
END_TEST

/* ---- safetensors reader on hand-built images ---- */

/* 8-byte length + header + @p data_len bytes of @p data (or zeros). */
static unsigned char *image(const char *header, uint64_t claimed, const void *data, size_t data_len,
                            size_t *len) {
  size_t hl = strlen(header);
  *len = 8 + hl + data_len;
  unsigned char *b = calloc(1, *len + 1);
  for (int i = 0; i < 8; i++)
    b[i] = (unsigned char)(claimed >> (8 * i));
  memcpy(b + 8, header, hl);
  if (data)
    memcpy(b + 8 + hl, data, data_len);
  return b;
}

static tpa_status parse_header(const char *header, size_t data_len) {
  size_t len;
  unsigned char *b = image(header, strlen(header), NULL, data_len, &len);
  tpa__st_file f;
  tpa_status st = tpa__st_parse(&f, b, len, "x.safetensors");
  if (st == TPA_OK)
    tpa__st_close(&f);
  else
    ck_assert_ptr_nonnull(strstr(tpa_last_error(), "x.safetensors"));
  free(b);
  return st;
}

START_TEST(reads_hand_built_file) {
  /* header of 72 bytes (8 + 72 = 80, 4-aligned data); a F32 [2] = {1, -2}
   * then a F16 [1,3] = {1, 65504, 2^-24} then an empty I64 [0]. */
  const char *hdr = "{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2],"
                    "\"data_offsets\":[0,8]},\"h\":{\"dtype\":\"F16\",\"shape\":[1,3],"
                    "\"data_offsets\":[8,14]},\"e\":{\"dtype\":\"I64\",\"shape\":[0],"
                    "\"data_offsets\":[14,14]}}   ";
  const unsigned char data[14] = {0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0, 0x00, 0x3C, 0xFF, 0x7B, 0x01, 0};
  size_t len;
  unsigned char *b = image(hdr, strlen(hdr), data, sizeof data, &len);
  tpa__st_file f;
  ck_assert_int_eq(tpa__st_parse(&f, b, len, "x"), TPA_OK);
  ck_assert_uint_eq(f.n, 3);
  const tpa__st_tensor *w = tpa__st_find(&f, "w"), *h = tpa__st_find(&f, "h");
  ck_assert_ptr_nonnull(w);
  ck_assert_ptr_nonnull(h);
  ck_assert_ptr_null(tpa__st_find(&f, "__metadata__"));
  ck_assert_ptr_null(tpa__st_find(&f, "zz"));
  ck_assert_int_eq(h->ndim, 2);
  ck_assert_uint_eq(h->shape[1], 3);
  ck_assert_uint_eq(h->numel, 3);
  const float *v;
  float *owned;
  ck_assert_int_eq(tpa__st_as_f32(&f, w, &v, &owned), TPA_OK);
  if (((uintptr_t)(b + 8 + strlen(hdr))) % 4 == 0)
    ck_assert_ptr_null(owned); /* aligned F32 is used in place */
  ck_assert(v[0] == 1.0f && v[1] == -2.0f);
  free(owned);
  ck_assert_int_eq(tpa__st_as_f32(&f, h, &v, &owned), TPA_OK);
  ck_assert_ptr_nonnull(owned);
  ck_assert(v[0] == 1.0f && v[1] == 65504.0f && v[2] == 0x1p-24f);
  free(owned);
  ck_assert_int_eq(tpa__st_as_f32(&f, tpa__st_find(&f, "e"), &v, &owned), TPA_ERR_TENSOR_DTYPE);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "\"e\""));
  tpa__st_close(&f);
  free(b);
}
END_TEST

START_TEST(unaligned_f32_is_copied) {
  const char *hdr = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
  const float data[2] = {3.5f, -0.25f};
  size_t len;
  unsigned char *b = image(hdr, strlen(hdr), data, sizeof data, &len);
  /* shift the image by one byte so the data cannot be 4-aligned */
  unsigned char *odd = malloc(len + 8);
  size_t shift = (4 - ((uintptr_t)(odd + 8 + strlen(hdr)) % 4) + 1) % 4;
  memcpy(odd + shift, b, len);
  tpa__st_file f;
  ck_assert_int_eq(tpa__st_parse(&f, odd + shift, len, "x"), TPA_OK);
  const float *v;
  float *owned;
  ck_assert_int_eq(tpa__st_as_f32(&f, tpa__st_find(&f, "w"), &v, &owned), TPA_OK);
  ck_assert_ptr_nonnull(owned);
  ck_assert_uint_eq((uintptr_t)v % 4, 0);
  ck_assert(v[0] == 3.5f && v[1] == -0.25f);
  free(owned);
  tpa__st_close(&f);
  free(odd);
  free(b);
}
END_TEST

START_TEST(rejects_bad_images) {
  const char *ok_entry = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
  char hdr[512];
  /* shorter than the length field */
  tpa__st_file f;
  ck_assert_int_eq(tpa__st_parse(&f, "\x10\0\0", 3, "x"), TPA_ERR_TRUNCATED);
  /* length past the end, zero, absurd */
  snprintf(hdr, sizeof hdr, "{%s}", ok_entry);
  size_t len;
  unsigned char *b = image(hdr, 4000, NULL, 8, &len);
  ck_assert_int_eq(tpa__st_parse(&f, b, len, "x"), TPA_ERR_HEADER);
  ck_assert_ptr_nonnull(strstr(tpa_last_error(), "past the end"));
  free(b);
  b = image(hdr, 0, NULL, 8, &len);
  ck_assert_int_eq(tpa__st_parse(&f, b, len, "x"), TPA_ERR_HEADER);
  free(b);
  b = image(hdr, (uint64_t)1 << 62, NULL, 8, &len);
  ck_assert_int_eq(tpa__st_parse(&f, b, len, "x"), TPA_ERR_HEADER);
  free(b);
  /* header content */
  ck_assert_int_eq(parse_header("not json", 0), TPA_ERR_HEADER);
  ck_assert_int_eq(parse_header("{\"a\": }", 0), TPA_ERR_HEADER);
  ck_assert_int_eq(parse_header("[1]", 0), TPA_ERR_HEADER);
  ck_assert_int_eq(parse_header("{\"a\": 1}", 0), TPA_ERR_HEADER);
  ck_assert_int_eq(parse_header("{\"__metadata__\": 3}", 0), TPA_ERR_HEADER);
  ck_assert_int_eq(parse_header("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8),
                   TPA_ERR_HEADER);
  ck_assert_int_eq(
      parse_header("{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8),
      TPA_ERR_TENSOR_DTYPE);
  ck_assert_int_eq(
      parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8),
      TPA_ERR_HEADER);
  ck_assert_int_eq(
      parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8),
      TPA_ERR_HEADER);
  ck_assert_int_eq(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],"
                                "\"data_offsets\":[0,4]}}",
                                4),
                   TPA_ERR_HEADER);
  /* shape product overflows 64 bits */
  ck_assert_int_eq(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
                                "\"data_offsets\":[0,8]}}",
                                8),
                   TPA_ERR_HEADER);
  ck_assert_int_eq(
      parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8),
      TPA_ERR_HEADER);
  /* offsets */
  ck_assert_int_eq(
      parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8),
      TPA_ERR_TENSOR_OFFSETS);
  ck_assert_int_eq(
      parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}", 12),
      TPA_ERR_TENSOR_OFFSETS); /* size != shape * 4 */
  ck_assert_int_eq(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                                12),
                   TPA_ERR_TENSOR_OFFSETS); /* overlap */
  ck_assert_int_eq(
      parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[100,108]}}", 8),
      TPA_ERR_TENSOR_OFFSETS); /* out of range */
  ck_assert_int_eq(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                                12),
                   TPA_ERR_TRUNCATED); /* packed layout, data cut short */
  ck_assert_int_eq(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                                16),
                   TPA_ERR_HEADER); /* duplicate name */
  /* gaps and trailing bytes are tolerated; empty tensors never overlap */
  ck_assert_int_eq(parse_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]},"
                                "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]}}",
                                20),
                   TPA_OK);
}
END_TEST

/* ---- writer ---- */

START_TEST(writer_round_trip) {
  const float a[6] = {1.0f, -2.5f, 65504.0f, 0x1p-24f, 0.1f, -0.0f};
  const float c[2] = {0.5f, 3.0f};
  const int64_t sa[2] = {2, 3}, sc[1] = {2}, se[2] = {0, 4};
  const unsigned char raw[16] = {1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0};
  const int64_t sr[1] = {2};
  tpa__st_out out[] = {
      {.name = "b16", .dtype = TPA__DT_BF16, .ndim = 1, .shape = sc, .f32 = c},
      {.name = "a", .dtype = TPA__DT_F32, .ndim = 2, .shape = sa, .f32 = a},
      {.name = "h", .dtype = TPA__DT_F16, .ndim = 2, .shape = sa, .f32 = a},
      {.name = "ids", .dtype = TPA__DT_I64, .ndim = 1, .shape = sr, .raw = raw},
      {.name = "empty", .dtype = TPA__DT_F32, .ndim = 2, .shape = se},
  };
  const char *mk[] = {"format"}, *mv[] = {"pt"};
  const char *path = tmp_path("w.safetensors");
  ck_assert_int_eq(tpa__st_write(path, out, 5, mk, mv, 1), TPA_OK);
  tpa__st_file f;
  ck_assert_int_eq(tpa__st_open(&f, path), TPA_OK);
  ck_assert_uint_eq(f.n, 5);
  /* header padded so data starts 8-aligned; every tensor aligned */
  uint64_t hl = 0;
  for (int i = 7; i >= 0; i--)
    hl = (hl << 8) | ((unsigned char *)f.map.data)[i];
  ck_assert_uint_eq((8 + hl) % 8, 0);
  for (size_t i = 0; i < f.n; i++)
    ck_assert_uint_eq(f.t[i].begin % tpa__dtype_size(f.t[i].dtype), 0);
  const float *v;
  float *owned;
  ck_assert_int_eq(tpa__st_as_f32(&f, tpa__st_find(&f, "a"), &v, &owned), TPA_OK);
  ck_assert_ptr_null(owned);
  ck_assert_int_eq(memcmp(v, a, sizeof a), 0);
  ck_assert_int_eq(tpa__st_as_f32(&f, tpa__st_find(&f, "h"), &v, &owned), TPA_OK);
  ck_assert(v[0] == 1.0f && v[1] == -2.5f && v[2] == 65504.0f && v[3] == 0x1p-24f);
  ck_assert_uint_eq(bits_of(v[4]), bits_of(tpa__f16_to_f32(0x2E66))); /* 0.1 in half */
  ck_assert(signbit(v[5]));
  free(owned);
  ck_assert_int_eq(tpa__st_as_f32(&f, tpa__st_find(&f, "b16"), &v, &owned), TPA_OK);
  ck_assert(v[0] == 0.5f && v[1] == 3.0f);
  free(owned);
  const tpa__st_tensor *ids = tpa__st_find(&f, "ids");
  ck_assert_int_eq(ids->dtype, TPA__DT_I64);
  ck_assert_int_eq(memcmp(ids->data, raw, 16), 0);
  ck_assert_uint_eq(tpa__st_find(&f, "empty")->numel, 0);
  tpa__st_close(&f);
  /* duplicate names and bad inputs are refused; no file is left behind */
  tpa__st_out dup[] = {out[1], out[1]};
  const char *p2 = tmp_path("dup.safetensors");
  ck_assert_int_eq(tpa__st_write(p2, dup, 2, NULL, NULL, 0), TPA_ERR_INVALID_ARGUMENT);
  ck_assert(access(p2, F_OK) != 0);
  tpa__st_out bad = {.name = "x", .dtype = TPA__DT_I32, .ndim = 1, .shape = sc, .f32 = c};
  ck_assert_int_eq(tpa__st_write(p2, &bad, 1, NULL, NULL, 0), TPA_ERR_INVALID_ARGUMENT);
  ck_assert(access(p2, F_OK) != 0);
}
END_TEST

/* Every prefix of a valid file is refused, and random byte corruptions
 * give a status (any) without reading outside the image: run under ASan
 * this catches any unchecked length. */
START_TEST(corruptions_never_crash) {
  const float a[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  const int64_t s1[2] = {3, 4}, s2[1] = {5};
  tpa__st_out out[] = {
      {.name = "w", .dtype = TPA__DT_F32, .ndim = 2, .shape = s1, .f32 = a},
      {.name = "h", .dtype = TPA__DT_F16, .ndim = 1, .shape = s2, .f32 = a},
  };
  const char *path = tmp_path("fuzz.safetensors");
  ck_assert_int_eq(tpa__st_write(path, out, 2, NULL, NULL, 0), TPA_OK);
  FILE *fp = fopen(path, "rb");
  ck_assert_ptr_nonnull(fp);
  unsigned char img[1024];
  size_t len = fread(img, 1, sizeof img, fp);
  fclose(fp);
  ck_assert_uint_gt(len, 60);
  tpa__st_file f;
  ck_assert_int_eq(tpa__st_parse(&f, img, len, "fuzz"), TPA_OK);
  tpa__st_close(&f);
  for (size_t n = 0; n < len; n++) {
    unsigned char *cut = malloc(n ? n : 1); /* exact size: ASan sees overreads */
    memcpy(cut, img, n);
    ck_assert_int_ne(tpa__st_parse(&f, cut, n, "fuzz"), TPA_OK);
    free(cut);
  }
  uint64_t x = 12345;
  int accepted = 0;
  for (int iter = 0; iter < 4000; iter++) {
    unsigned char *m = malloc(len);
    memcpy(m, img, len);
    for (int k = 0; k < 1 + iter % 3; k++) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      m[(x >> 33) % len] = (unsigned char)(x >> 20);
    }
    if (tpa__st_parse(&f, m, len, "fuzz") == TPA_OK) {
      accepted++;
      for (size_t i = 0; i < f.n; i++) {
        const float *v;
        float *owned;
        if (tpa__st_as_f32(&f, &f.t[i], &v, &owned) == TPA_OK && f.t[i].numel)
          x += (uint64_t)(v[f.t[i].numel - 1] != 0); /* touch the last element */
        free(owned);
      }
      tpa__st_close(&f);
    }
    free(m);
  }
  ck_assert_int_gt(accepted, 0); /* data-byte flips keep the file valid */
}
END_TEST

static void add_case(Suite *s, const char *name, const TTest *t) {
  TCase *tc = tcase_create(name);
  tcase_add_test(tc, t);
  suite_add_tcase(s, tc);
}

int main(void) {
  make_root(); /* before any fork, so every test shares one root */
  Suite *half = suite_create("half");
  add_case(half, "f16_known", f16_known_values);
  add_case(half, "bf16_known", bf16_known_values);
  add_case(half, "f16_rounding", f32_to_f16_rounding);
  add_case(half, "f16_round_trip", f16_round_trip_all);
  Suite *file = suite_create("file");
  add_case(file, "read_map", read_and_map);
  add_case(file, "missing", missing_and_not_regular);
  add_case(file, "atomic", atomic_writes);
  add_case(file, "output_file", output_file_public_api);
  Suite *json = suite_create("json");
  add_case(json, "errors", json_errors_name_place);
  add_case(json, "getters", json_typed_getters);
  Suite *st = suite_create("safetensors");
  add_case(st, "hand_built", reads_hand_built_file);
  add_case(st, "unaligned", unaligned_f32_is_copied);
  add_case(st, "bad_images", rejects_bad_images);
  add_case(st, "writer", writer_round_trip);
  add_case(st, "corruptions", corruptions_never_crash);
  SRunner *sr = srunner_create(half);
  srunner_add_suite(sr, file);
  srunner_add_suite(sr, json);
  srunner_add_suite(sr, st);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  char cmd[300];
  if (tmp_root[0] && strlen(tmp_root) < 250) {
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
    (void)!system(cmd);
  }
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
