# SPDX-License-Identifier: Apache-2.0
"""Your own data through the binding (libtpa 0.4): CSV, TSV and JSON Lines
tables, label names and order, unlabeled files, stratified splits, metrics
for a dataset's classes, training by a chosen metric, and label names in
saved models. Standard library only; every file is written by the test.

Env: as test_binding.py (LIBTPA_PATH, PYTHONPATH, TPA_SOURCE_ROOT).
"""
import ctypes
import gzip
import json
import math
import os
import random
import shutil
import tempfile
import unittest

import libtpa
from libtpa import _capi

ROOT = os.environ.get("TPA_SOURCE_ROOT",
                      os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT = os.path.join(ROOT, "share", "default")
MODEL = os.path.join(DEFAULT, "model")
TRAIN = os.path.join(DEFAULT, "task", "train.tsv")
DEV = os.path.join(DEFAULT, "task", "dev.tsv")

INVALID_ARGUMENT = 1  # TPA_ERR_INVALID_ARGUMENT
DATA = 14  # TPA_ERR_DATA


def write(path, text, mode="w"):
    with open(path, mode, encoding="utf-8", newline="") as f:
        f.write(text)
    return path


def write_jsonl(path, rows):
    return write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def byte_order(names):
    return sorted(set(names), key=lambda s: s.encode("utf-8"))


def one_hot(preds, k):
    return [[1.0 if j == p else 0.0 for j in range(k)] for p in preds]


# Reference metrics, written from the definitions (scikit-learn's).
def ref_accuracy(gold, pred):
    return sum(g == p for g, p in zip(gold, pred)) / len(gold)


def ref_f1(gold, pred, c):
    tp = sum(g == c and p == c for g, p in zip(gold, pred))
    fp = sum(g != c and p == c for g, p in zip(gold, pred))
    fn = sum(g == c and p != c for g, p in zip(gold, pred))
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


def ref_macro_f1(gold, pred):
    """f1_score(average="macro"): the mean over the labels present in gold
    or predictions (sklearn's unique_labels(y_true, y_pred))."""
    classes = sorted(set(gold) | set(pred))
    return sum(ref_f1(gold, pred, c) for c in classes) / len(classes)


def ref_mcc(gold, pred, k):
    """matthews_corrcoef, multi-class: with C the confusion matrix,
    t_k = sum_i C[k][i] (true counts), p_k = sum_i C[i][k] (predicted),
    c = trace(C), s = n:
    (c s - sum_k p_k t_k) / sqrt((s^2 - sum_k p_k^2) (s^2 - sum_k t_k^2)),
    0 when a factor of the denominator is 0."""
    s = len(gold)
    c = sum(g == p for g, p in zip(gold, pred))
    t = [sum(g == j for g in gold) for j in range(k)]
    p = [sum(q == j for q in pred) for j in range(k)]
    cov_pp = s * s - sum(x * x for x in p)
    cov_tt = s * s - sum(x * x for x in t)
    if cov_pp == 0 or cov_tt == 0:
        return 0.0
    return (c * s - sum(a * b for a, b in zip(p, t))) / math.sqrt(cov_pp * cov_tt)


class TempDir(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="tpa-py-tables-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)


class TestLoadTable(TempDir):
    def test_csv_string_labels_in_byte_order(self):
        # Quoted fields with commas, doubled quotes and a newline; a BOM.
        rows = [("a fine film, really", "apple"), ('he said "wow"', "Zebra"),
                ("line one\nline two", "éclair"), ("plain", "apple"),
                ("another one", "Zebra"), ("last", "éclair"), ("more", "banana")]
        body = "\ufefftext,label\r\n" + "".join(
            '"%s",%s\r\n' % (t.replace('"', '""'), l) for t, l in rows)
        p = write(self.path("data.csv"), body)
        with libtpa.Dataset.load_table(p) as d:
            self.assertEqual(len(d), len(rows))
            names = byte_order(l for _, l in rows)
            self.assertEqual(names, ["Zebra", "apple", "banana", "éclair"])
            self.assertEqual(d.label_names, names)
            self.assertEqual(d.num_labels, 4)
            self.assertTrue(d.has_labels)
            self.assertIsNone(d.task)
            self.assertEqual(d.columns, {"text": "text", "text_pair": None, "label": "label"})
            self.assertEqual(d.column("label"), "label")
            for i, (text, label) in enumerate(rows):
                self.assertEqual(d.text(i), (text, None))
                self.assertEqual(d.label(i), float(names.index(label)))
                self.assertEqual(d.label_name(int(d.label(i))), label)
            self.assertIsNone(d.label_name(4))
            self.assertIsNone(d.label_name(-1))

    def test_jsonl_integer_labels_in_numeric_order(self):
        # Byte order would be "-1", "10", "2"; integers sort as numbers.
        rows = [{"sentence1": "a", "sentence2": "b", "label": 10},
                {"sentence1": "c", "sentence2": "d", "label": 2},
                {"sentence1": "e", "sentence2": "f", "label": -1},
                {"sentence1": "g", "sentence2": "h", "label": "2"},
                {"sentence1": "i", "sentence2": "j", "label": 10}]
        p = write_jsonl(self.path("pairs.jsonl"), rows)
        with libtpa.Dataset.load_table(p) as d:
            self.assertEqual(d.label_names, ["-1", "2", "10"])
            self.assertEqual(d.labels(), [2.0, 1.0, 0.0, 1.0, 2.0])
            self.assertEqual(d.columns,
                             {"text": "sentence1", "text_pair": "sentence2", "label": "label"})
            self.assertEqual(d.text(0), ("a", "b"))

    def test_gzip_tsv_and_named_columns(self):
        text = "id\treview\tstars\n1\tgood\t5\n2\tbad\t1\n3\tfine\t3\n4\tgreat\t5\n"
        p = self.path("r.tsv.gz")
        with gzip.open(p, "wt", encoding="utf-8") as f:
            f.write(text)
        with libtpa.Dataset.load_table(p, text_column="review", label_column="stars") as d:
            self.assertEqual(d.label_names, ["1", "3", "5"])
            self.assertEqual(d.labels(), [2.0, 0.0, 1.0, 2.0])
            self.assertEqual(d.columns, {"text": "review", "text_pair": None, "label": "stars"})
        # Columns by 1-based number.
        with libtpa.Dataset.load_table(p, text_column="2", label_column="3") as d:
            self.assertEqual(d.columns["text"], "review")
            self.assertEqual(d.label_names, ["1", "3", "5"])

    def test_given_labels(self):
        p = write(self.path("d.csv"), "text,label\nx,pos\ny,neg\nz,pos\n")
        with libtpa.Dataset.load_table(p, labels=["pos", "neg"]) as d:
            self.assertEqual(d.label_names, ["pos", "neg"])
            self.assertEqual(d.labels(), [0.0, 1.0, 0.0])
        # Names that are not integers: an integer label is the class id.
        q = write(self.path("ids.csv"), "text,label\nx,1\ny,0\n")
        with libtpa.Dataset.load_table(q, labels=["neg", "pos"]) as d:
            self.assertEqual(d.labels(), [1.0, 0.0])
            self.assertEqual(d.label_names, ["neg", "pos"])
        with self.assertRaises(libtpa.TpaError) as cm:
            libtpa.Dataset.load_table(p, labels=["pos", "other"])
        self.assertEqual(cm.exception.status, DATA)
        self.assertIn("neg", cm.exception.message)
        with self.assertRaises(TypeError):
            libtpa.Dataset.load_table(p, labels="pos")

    def test_regression(self):
        p = write(self.path("r.csv"), "text,label\na,0.5\nb,-2\nc,3.25\n")
        with libtpa.Dataset.load_table(p, regression=True) as d:
            self.assertEqual(d.num_labels, 1)
            self.assertEqual(d.label_names, [])
            self.assertIsNone(d.label_name(0))
            self.assertEqual(d.labels(), [0.5, -2.0, 3.25])

    def test_format_and_max_rows(self):
        p = write(self.path("data.txt"), "text,label\na,x\nb,y\nc,x\nd,y\n")
        with self.assertRaises(libtpa.TpaError) as cm:
            libtpa.Dataset.load_table(p)
        self.assertEqual(cm.exception.status, INVALID_ARGUMENT)
        with libtpa.Dataset.load_table(p, format="csv", max_rows=2) as d:
            self.assertEqual(len(d), 2)
        with self.assertRaises(ValueError):
            libtpa.Dataset.load_table(p, format="xml")

    def test_errors(self):
        one = write(self.path("one.csv"), "text,label\na,x\nb,x\n")
        with self.assertRaises(libtpa.TpaError) as cm:
            libtpa.Dataset.load_table(one)
        self.assertEqual(cm.exception.status, DATA)  # a single class
        self.assertIn("one.csv", cm.exception.message)
        bad = write(self.path("bad.csv"), "text,label\na,x\nb,y,z\n")
        with self.assertRaises(libtpa.TpaError) as cm:
            libtpa.Dataset.load_table(bad)
        self.assertEqual(cm.exception.status, DATA)
        self.assertIn("bad.csv:3", cm.exception.message)
        with self.assertRaises(libtpa.TpaError) as cm:
            libtpa.Dataset.load_table(one, label_column="nope")
        self.assertIn("nope", cm.exception.message)
        with self.assertRaises(libtpa.TpaError) as cm:
            libtpa.Dataset.load_table(self.path("missing.csv"))
        self.assertEqual(cm.exception.status, 4)  # TPA_ERR_NOT_FOUND


class TestUnlabeled(TempDir):
    def test_file_without_label_column(self):
        p = write(self.path("u.csv"), "text\nfirst\nsecond\nthird\n")
        with libtpa.Dataset.load_table(p) as d:
            self.assertEqual(len(d), 3)
            self.assertFalse(d.has_labels)
            self.assertEqual(d.num_labels, 0)
            self.assertEqual(d.label_names, [])
            self.assertTrue(all(math.isnan(x) for x in d.labels()))
            self.assertEqual(d.columns, {"text": "text", "text_pair": None, "label": None})
            with self.assertRaises(libtpa.TpaError) as cm:
                d.split(0.5, 1)
            self.assertEqual(cm.exception.status, INVALID_ARGUMENT)
            # An unlabeled dataset fits any model.
            with libtpa.Model.load(MODEL) as m:
                logits = m.predict(d)
            self.assertEqual([len(r) for r in logits], [2, 2, 2])
        with libtpa.Dataset.load_table(p, labels=["neg", "pos"]) as d:
            self.assertFalse(d.has_labels)
            self.assertEqual(d.num_labels, 2)
            self.assertEqual(d.label_names, ["neg", "pos"])
        with self.assertRaises(libtpa.TpaError) as cm:
            libtpa.Dataset.load_table(p, require_labels=True)
        self.assertEqual(cm.exception.status, DATA)

    def test_jsonl_without_labels_and_ignored_label_column(self):
        p = write_jsonl(self.path("u.jsonl"), [{"text": "a", "label": "x"},
                                               {"text": "b", "label": "y"}])
        with libtpa.Dataset.load_table(p, label_column="") as d:
            self.assertFalse(d.has_labels)
            self.assertIsNone(d.columns["label"])
        q = write_jsonl(self.path("v.jsonl"), [{"text": "a"}, {"text": "b"}])
        with libtpa.Dataset.load_table(q) as d:
            self.assertFalse(d.has_labels)
            self.assertEqual(len(d), 2)


class TestSplit(TempDir):
    COUNTS = {"a": 12, "b": 31, "c": 7, "d": 1}  # no ties at x.5 for 0.2

    def make(self):
        rnd = random.Random(7)
        labels = [l for l, n in self.COUNTS.items() for _ in range(n)]
        rnd.shuffle(labels)
        rows = [{"text": "example %d" % i, "label": l} for i, l in enumerate(labels)]
        return write_jsonl(self.path("s.jsonl"), rows), labels

    @staticmethod
    def texts(d):
        return [d.text(i)[0] for i in range(len(d))]

    def test_sizes_and_stratification(self):
        p, labels = self.make()
        with libtpa.Dataset.load_table(p) as d:
            kept, held = d.split(0.2, 5)
            with kept, held:
                # round(0.2 * m) of each class, at most m - 1: 2, 6, 1, 0.
                want = {l: min(int(math.floor(0.2 * n + 0.5)), n - 1)
                        for l, n in self.COUNTS.items()}
                self.assertEqual(len(held), sum(want.values()))
                self.assertEqual(len(kept) + len(held), len(d))
                for part in (kept, held):
                    self.assertEqual(part.label_names, d.label_names)
                    self.assertTrue(part.has_labels)
                    self.assertEqual(part.columns, d.columns)
                for l in self.COUNTS:
                    c = float(d.label_names.index(l))
                    self.assertEqual(held.labels().count(c), want[l], l)
                    self.assertEqual(kept.labels().count(c), self.COUNTS[l] - want[l], l)
                # Both parts in file order, together the whole set.
                order = {t: i for i, t in enumerate(self.texts(d))}
                for part in (kept, held):
                    idx = [order[t] for t in self.texts(part)]
                    self.assertEqual(idx, sorted(idx))
                self.assertEqual(sorted(self.texts(kept) + self.texts(held)),
                                 sorted(self.texts(d)))
                # Texts keep their labels.
                for part in (kept, held):
                    for i, t in enumerate(self.texts(part)):
                        self.assertEqual(part.label(i), d.label(order[t]))
                first = self.texts(held)
            # Seeded: the same seed, the same split; the parts outlive d.
            k2, h2 = d.split(0.2, 5)
        with k2, h2:
            self.assertEqual(self.texts(h2), first)
            self.assertEqual(h2.label_names, sorted(self.COUNTS))

    def test_seed_changes_the_split(self):
        p, _ = self.make()
        with libtpa.Dataset.load_table(p) as d:
            splits = set()
            for seed in range(4):
                kept, held = d.split(0.2, seed)
                splits.add(tuple(self.texts(held)))
                kept.close()
                held.close()
            self.assertGreater(len(splits), 1)

    def test_bad_fraction(self):
        p, _ = self.make()
        with libtpa.Dataset.load_table(p) as d:
            for f in (0.0, 1.0, -0.5, 2.0, float("nan")):
                with self.assertRaises(libtpa.TpaError) as cm:
                    d.split(f, 1)
                self.assertEqual(cm.exception.status, INVALID_ARGUMENT)


class TestMetrics(TempDir):
    def dataset(self, k):
        rows = [{"text": "t%d" % i, "label": "c%d" % (i % k)} for i in range(2 * k)]
        return libtpa.Dataset.load_table(write_jsonl(self.path("m%d.jsonl" % k), rows))

    def test_hand_computed(self):
        # Four classes; class 3 is in neither gold nor predictions.
        gold = [0, 0, 0, 1, 1, 2, 2, 2, 2, 0]
        pred = [0, 1, 0, 1, 2, 2, 2, 0, 2, 0]
        # Hits 7 of 10. Gold counts t = (4, 2, 4), predicted p = (4, 2, 4),
        # true positives (3, 1, 3): F1 = 2 TP / (t + p) = 0.75, 0.5, 0.75.
        # Macro-F1 over the 3 classes present = 2/3 (with class 3: 0.5).
        # MCC = (7 * 10 - (16 + 4 + 16)) / sqrt((100 - 36) (100 - 36)) = 34/64.
        with self.dataset(4) as d:
            m = d.metrics(one_hot(pred, 4), [float(g) for g in gold])
        self.assertEqual(m["count"], 10)
        self.assertAlmostEqual(m["accuracy"], 0.7, places=12)
        self.assertAlmostEqual(m["macro_f1"], 2 / 3, places=12)
        self.assertAlmostEqual(m["matthews"], 34 / 64, places=12)
        self.assertAlmostEqual(m["main"], 0.7, places=12)
        self.assertEqual(m["present"], libtpa.METRIC_ACCURACY | libtpa.METRIC_MACRO_F1
                         | libtpa.METRIC_MATTHEWS)
        self.assertEqual(libtpa.metrics_value(m, "macro_f1"), m["macro_f1"])
        self.assertEqual(libtpa.metrics_value(m, libtpa.METRIC_MATTHEWS), m["matthews"])
        self.assertTrue(math.isnan(libtpa.metrics_value(m, "f1")))  # not for 4 classes

    def test_binary_adds_f1_of_class_1(self):
        gold = [0, 1, 1, 0, 1, 0, 0, 1]
        pred = [0, 1, 0, 0, 1, 1, 0, 1]
        with self.dataset(2) as d:
            m = d.metrics(one_hot(pred, 2), [float(g) for g in gold])
        self.assertTrue(m["present"] & libtpa.METRIC_F1)
        # TP 3, FP 1, FN 1: F1 = 6/8; both classes: (0.75 + 0.75) / 2.
        self.assertAlmostEqual(m["f1"], 0.75, places=12)
        self.assertAlmostEqual(m["macro_f1"], 0.75, places=12)
        self.assertAlmostEqual(m["accuracy"], 0.75, places=12)
        self.assertAlmostEqual(m["matthews"], 0.5, places=12)

    def test_against_reference(self):
        rnd = random.Random(11)
        for k in (2, 3, 5, 7):
            with self.dataset(k) as d:
                for trial in range(5):
                    n = rnd.randint(1, 60)
                    # Some classes never occur: draw from a subset.
                    used = rnd.sample(range(k), rnd.randint(1, k))
                    gold = [rnd.choice(used) for _ in range(n)]
                    pred = [g if rnd.random() < 0.6 else rnd.choice(used) for g in gold]
                    # Ties between logits go to the first maximum.
                    logits = [[rnd.choice((0.0, 0.5)) for _ in range(k)] for _ in pred]
                    for row, p in zip(logits, pred):
                        row[p] = 1.0
                    m = d.metrics(logits, [float(g) for g in gold])
                    with self.subTest(k=k, trial=trial):
                        self.assertAlmostEqual(m["accuracy"], ref_accuracy(gold, pred), places=12)
                        self.assertAlmostEqual(m["macro_f1"], ref_macro_f1(gold, pred), places=12)
                        self.assertAlmostEqual(m["matthews"], ref_mcc(gold, pred, k), places=12)
                        if k == 2:
                            self.assertAlmostEqual(m["f1"], ref_f1(gold, pred, 1), places=12)

    def test_defaults_to_the_dataset_labels(self):
        with self.dataset(3) as d:
            gold = [int(x) for x in d.labels()]
            m = d.metrics(one_hot(gold, 3))
        self.assertEqual(m["accuracy"], 1.0)
        self.assertEqual(m["macro_f1"], 1.0)
        self.assertEqual(m["matthews"], 1.0)

    def test_regression(self):
        p = write(self.path("r.csv"), "text,label\na,1\nb,2\nc,3\nd,4\n")
        with libtpa.Dataset.load_table(p, regression=True) as d:
            m = d.metrics([[1.0], [3.0], [2.0], [4.0]])
        self.assertEqual(m["present"], libtpa.METRIC_PEARSON | libtpa.METRIC_SPEARMAN)
        self.assertAlmostEqual(m["pearson"], 0.8, places=6)
        self.assertAlmostEqual(m["spearman"], 0.8, places=6)
        self.assertAlmostEqual(m["main"], m["pearson"], places=12)

    def test_glue_dataset_scores_as_its_task(self):
        with libtpa.Dataset.load(DEV, "sst2", max_rows=20) as d:
            self.assertEqual(d.num_labels, 2)
            self.assertEqual(d.label_names, ["0", "1"])
            self.assertEqual(d.columns, {"text": None, "text_pair": None, "label": None})
            self.assertTrue(d.has_labels)
            labels = d.labels()
            logits = one_hot([int(x) for x in labels], 2)
            self.assertEqual(d.metrics(logits), libtpa.metrics("sst2", logits, labels))

    def test_bad_labels(self):
        with self.dataset(3) as d:
            with self.assertRaises(libtpa.TpaError) as cm:
                d.metrics([[1, 0, 0]], [3.0])
            self.assertEqual(cm.exception.status, INVALID_ARGUMENT)
            # Rows of another width, or another count, never reach C.
            with self.assertRaises(ValueError):
                d.metrics([[1, 0]], [0.0])
            with self.assertRaises(ValueError):
                d.metrics([[1, 0, 0]], [0.0, 1.0])
        with self.assertRaises(ValueError):
            libtpa.metrics("mnli", [[1, 0]], [0.0])

    def test_metric_from_name(self):
        self.assertEqual(libtpa.metric_from_name("accuracy"), libtpa.METRIC_ACCURACY)
        self.assertEqual(libtpa.metric_from_name("f1"), libtpa.METRIC_F1)
        self.assertEqual(libtpa.metric_from_name("macro_f1"), libtpa.METRIC_MACRO_F1)
        self.assertEqual(libtpa.METRIC_MACRO_F1, 1 << 5)
        self.assertEqual(libtpa.metric_from_name("matthews"), libtpa.METRIC_MATTHEWS)
        self.assertEqual(libtpa.metric_from_name("mcc"), libtpa.METRIC_MATTHEWS)
        self.assertEqual(libtpa.metric_from_name("pearson"), libtpa.METRIC_PEARSON)
        self.assertEqual(libtpa.metric_from_name("spearman"), libtpa.METRIC_SPEARMAN)
        for bad in ("MCC", "auc", ""):
            with self.assertRaises(libtpa.TpaError) as cm:
                libtpa.metric_from_name(bad)
            self.assertEqual(cm.exception.status, INVALID_ARGUMENT)

    def test_glue_metrics_have_macro_f1_field(self):
        m = libtpa.metrics("sst2", [[1, 0], [0, 1]], [0.0, 1.0])
        self.assertIn("macro_f1", m)
        self.assertEqual(m["macro_f1"], 0.0)
        self.assertFalse(m["present"] & libtpa.METRIC_MACRO_F1)
        self.assertTrue(math.isnan(libtpa.metrics_value(m, "macro_f1")))


class TestMetricsExtraCApi(TempDir):
    """tpa_dataset_metrics and tpa_metrics_value through _capi: macro-F1
    lives in tpa_metrics_extra, which may be NULL and is size-first."""

    def call(self, d, pred, gold, extra):
        k = d.num_labels
        flat = [float(x) for row in one_hot(pred, k) for x in row]
        lbuf = (ctypes.c_float * len(flat))(*flat)
        ybuf = (ctypes.c_float * len(gold))(*[float(g) for g in gold])
        m = _capi.Metrics(size=ctypes.sizeof(_capi.Metrics))
        st = _capi.lib.tpa_dataset_metrics(d.ptr, lbuf, ybuf, len(gold), ctypes.byref(m),
                                           extra)
        return st, m

    def dataset(self):
        rows = [{"text": "t%d" % i, "label": "c%d" % (i % 3)} for i in range(6)]
        return libtpa.Dataset.load_table(write_jsonl(self.path("x.jsonl"), rows))

    def test_extra(self):
        gold = [0, 0, 0, 1, 1, 2, 2, 2, 2, 0]
        pred = [0, 1, 0, 1, 2, 2, 2, 0, 2, 0]
        value = _capi.lib.tpa_metrics_value
        with self.dataset() as d:
            x = _capi.MetricsExtra(size=ctypes.sizeof(_capi.MetricsExtra))
            st, m = self.call(d, pred, gold, ctypes.byref(x))
            self.assertEqual(st, 0)
            self.assertTrue(m.present & _capi.METRIC_MACRO_F1)
            self.assertAlmostEqual(x.macro_f1, ref_macro_f1(gold, pred), places=12)
            self.assertEqual(x.size, ctypes.sizeof(_capi.MetricsExtra))
            self.assertEqual(value(ctypes.byref(m), ctypes.byref(x), _capi.METRIC_MACRO_F1),
                             x.macro_f1)
            self.assertEqual(value(ctypes.byref(m), None, _capi.METRIC_ACCURACY), m.accuracy)
            # Without extra: the same tpa_metrics, macro-F1 unreadable.
            st, m2 = self.call(d, pred, gold, None)
            self.assertEqual(st, 0)
            self.assertEqual(bytes(m2), bytes(m))
            self.assertTrue(math.isnan(value(ctypes.byref(m), None, _capi.METRIC_MACRO_F1)))
            # An extra that ends before macro_f1 (an older caller's): only
            # `size` bytes are written, and tpa_metrics_value reads NaN.
            short = _capi.MetricsExtra(size=ctypes.sizeof(ctypes.c_size_t), macro_f1=-7.0)
            st, _ = self.call(d, pred, gold, ctypes.byref(short))
            self.assertEqual(st, 0)
            self.assertEqual(short.macro_f1, -7.0)
            self.assertTrue(math.isnan(value(ctypes.byref(m), ctypes.byref(short),
                                             _capi.METRIC_MACRO_F1)))
            # A size below sizeof(size_t) is refused before any work.
            bad = _capi.MetricsExtra(size=1)
            st, _ = self.call(d, pred, gold, ctypes.byref(bad))
            self.assertEqual(st, INVALID_ARGUMENT)
            self.assertIn("extra", _capi.lib.tpa_last_error().decode())


class TestTrainMetric(TempDir):
    def test_best_epoch_by_macro_f1(self):
        with libtpa.Model.load(MODEL) as m, \
                libtpa.Dataset.load_table(TRAIN, max_rows=64) as train, \
                libtpa.Dataset.load_table(DEV, max_rows=48) as dev:
            self.assertEqual(train.label_names, ["0", "1"])
            self.assertEqual(train.columns["text"], "sentence")
            epochs = []
            with libtpa.LoraSet.create(m, rank=2) as lora:
                r = libtpa.train_lora(m, lora, train, dev, epochs=2, metric="macro_f1",
                                      on_epoch=epochs.append)
            self.assertEqual([e["epoch"] for e in epochs], [1, 2])
            for e in epochs:
                self.assertEqual(e["dev"]["count"], 48)
                self.assertTrue(e["dev"]["present"] & libtpa.METRIC_MACRO_F1)
                # tpa_epoch_report.dev_macro_f1, also as the dev dict's macro_f1.
                self.assertEqual(e["dev"]["macro_f1"], e["dev_macro_f1"])
                self.assertGreater(e["dev_macro_f1"], 0.0)
                self.assertEqual(e["dev"]["main"], e["dev_macro_f1"])
                self.assertEqual(libtpa.metrics_value(e["dev"], "macro_f1"),
                                 e["dev_macro_f1"])
            best = max(e["dev_macro_f1"] for e in epochs)
            self.assertEqual(r["best_metric"], best)
            with libtpa.LoraSet.create(m, rank=2) as lora:
                with self.assertRaises(libtpa.TpaError) as cm:
                    libtpa.train_lora(m, lora, train, dev, epochs=1,
                                      metric=libtpa.METRIC_PEARSON)
                self.assertEqual(cm.exception.status, INVALID_ARGUMENT)


    def test_resume_reports_dev_macro_f1(self):
        # A resumed run first reports the checkpoint's finished epochs, with
        # their dev_macro_f1 read back from the checkpoint's history.
        ckpt = self.path("ckpt")
        with libtpa.Model.load(MODEL) as m, \
                libtpa.Dataset.load_table(TRAIN, max_rows=32) as train, \
                libtpa.Dataset.load_table(DEV, max_rows=24) as dev:
            first, again = [], []
            opts = dict(epochs=2, batch_size=16, metric="macro_f1", checkpoint_dir=ckpt)
            # Two steps an epoch: cancel in the second epoch, after the
            # first one's checkpoint.
            with libtpa.LoraSet.create(m, rank=2) as lora:
                with self.assertRaises(libtpa.TpaError):
                    libtpa.train_lora(m, lora, train, dev, on_epoch=first.append,
                                      progress=lambda stage, done, total: done < 3, **opts)
            self.assertEqual([e["epoch"] for e in first], [1])
            with libtpa.LoraSet.create(m, rank=2) as lora:
                libtpa.train_lora(m, lora, train, dev, resume=True, on_epoch=again.append,
                                  **opts)
        self.assertEqual([e["epoch"] for e in again], [1, 2])
        self.assertEqual(again[0]["dev_macro_f1"], first[0]["dev_macro_f1"])
        self.assertEqual(again[0]["dev"]["macro_f1"], first[0]["dev"]["macro_f1"])
        self.assertGreater(again[1]["dev_macro_f1"], 0.0)


class TestModelLabelNames(TempDir):
    def read_config(self, d):
        with open(os.path.join(d, "config.json"), encoding="utf-8") as f:
            return json.load(f)

    def test_set_label_names_and_save(self):
        p = write_jsonl(self.path("t.jsonl"), [{"text": "x", "label": l}
                                               for l in ("pos", "neg", "éclair", "neg")])
        with libtpa.Dataset.load_table(p) as d, libtpa.Model.load(MODEL, num_labels=3) as m:
            names = d.label_names
            self.assertEqual(names, ["neg", "pos", "éclair"])
            self.assertEqual(m.label_names(), ["LABEL_0", "LABEL_1", "LABEL_2"])
            m.set_label_names(names)
            self.assertEqual(m.label_names(), names)
            out = self.path("named")
            m.save(out)
        cfg = self.read_config(out)
        self.assertEqual(cfg["id2label"], {"0": "neg", "1": "pos", "2": "éclair"})
        self.assertEqual(cfg["label2id"], {"neg": 0, "pos": 1, "éclair": 2})
        self.assertEqual(cfg["problem_type"], "single_label_classification")
        with libtpa.Model.load(out) as m2:
            self.assertEqual(m2.config()["num_labels"], 3)
            self.assertEqual(m2.label_names(), names)

    def test_regression_problem_type(self):
        with libtpa.Model.load(MODEL, num_labels=1) as m:
            m.set_label_names(["score"])
            out = self.path("reg")
            m.save(out)
        cfg = self.read_config(out)
        self.assertEqual(cfg["problem_type"], "regression")
        self.assertEqual(cfg["id2label"], {"0": "score"})

    def test_bad_names(self):
        with libtpa.Model.load(MODEL) as m:
            for names in (["only"], ["a", "b", "c"], ["a", "a"], ["a", ""]):
                with self.assertRaises(libtpa.TpaError) as cm:
                    m.set_label_names(names)
                self.assertEqual(cm.exception.status, INVALID_ARGUMENT, names)
            self.assertEqual(m.label_names(), ["LABEL_0", "LABEL_1"])


if __name__ == "__main__":
    unittest.main()
