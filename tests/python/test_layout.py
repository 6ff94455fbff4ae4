# SPDX-License-Identifier: Apache-2.0
"""The binding's ctypes structures have the C headers' layout.

The size-first protocol (docs/abi.md) makes a struct that is too short work
silently with defaults, so a field the binding forgot (or a wrong padding
assumption) would not fail any call: compare every field's offset and size,
and every struct's sizeof, with what the C compiler reports
(tests/python/layout.c, built as $TPA_PY_LAYOUT).
"""
import ctypes
import os
import subprocess
import unittest

from libtpa import _capi

STRUCTS = {
    "tpa_model_load_params": _capi.ModelLoadParams,
    "tpa_model_config": _capi.ModelConfig,
    "tpa_param_counts": _capi.ParamCounts,
    "tpa_dataset_params": _capi.DatasetParams,
    "tpa_metrics": _capi.Metrics,
    "tpa_metrics_extra": _capi.MetricsExtra,
    "tpa_table_params": _capi.TableParams,
    "tpa_predict_params": _capi.PredictParams,
    "tpa_importance_params": _capi.ImportanceParams,
    "tpa_prune_params": _capi.PruneParams,
    "tpa_rank_schedule_params": _capi.RankScheduleParams,
    "tpa_lora_params": _capi.LoraParams,
    "tpa_epoch_report": _capi.EpochReport,
    "tpa_step_report": _capi.StepReport,
    "tpa_train_params": _capi.TrainParams,
    "tpa_train_result": _capi.TrainResult,
    "tpa_quantize_params": _capi.QuantizeParams,
    "tpa_heatmap_params": _capi.HeatmapParams,
}


def c_layout():
    exe = os.environ.get("TPA_PY_LAYOUT")
    if not exe or not os.path.exists(exe):
        raise unittest.SkipTest("TPA_PY_LAYOUT (the built tests/python/layout.c) not set")
    # Under tools/sanitize.sh this process has the shared ASan runtime
    # preloaded; the helper is linked with its own (static) runtime, which
    # aborts next to the preloaded one. It loads no libtpa: drop the preload.
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    out = subprocess.run([exe], check=True, stdout=subprocess.PIPE, universal_newlines=True,
                         env=env)
    sizes, fields, enums = {}, {}, {}
    for line in out.stdout.splitlines():
        parts = line.split()
        name = parts[0]
        if name.startswith("enum."):
            enums[name[5:]] = int(parts[1])
        elif "." in name:
            struct, field = name.split(".", 1)
            fields.setdefault(struct, []).append((field, int(parts[1]), int(parts[2])))
        else:
            sizes[name] = int(parts[1])
    return sizes, fields, enums


class TestLayout(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sizes, cls.fields, cls.enums = c_layout()

    def test_every_struct_is_compared(self):
        self.assertEqual(sorted(self.sizes), sorted(STRUCTS))

    def test_structs_match_the_headers(self):
        for cname, cls in STRUCTS.items():
            with self.subTest(struct=cname):
                py_fields = [(name, getattr(cls, name).offset, getattr(cls, name).size)
                             for name, _ in cls._fields_]
                self.assertEqual(py_fields, self.fields[cname])
                self.assertEqual(ctypes.sizeof(cls), self.sizes[cname])
                self.assertEqual(ctypes.alignment(cls),
                                 max(ctypes.alignment(t) for _, t in cls._fields_))

    def test_enums_are_ints(self):
        for name, size in self.enums.items():
            with self.subTest(enum=name):
                self.assertEqual(size, ctypes.sizeof(_capi.c_int))


class TestSymbols(unittest.TestCase):
    def test_every_declared_function_is_in_the_library(self):
        # The binding tolerates an older library (_capi.MISSING); the one
        # built with it must have every function.
        self.assertEqual(_capi.MISSING, [])


class TestSizeProtocol(unittest.TestCase):
    """The library accepts every binding struct at its full size."""

    def test_init_keeps_size(self):
        for cls, init in ((_capi.TableParams, _capi.lib.tpa_table_params_init),
                          (_capi.TrainParams, _capi.lib.tpa_train_params_init),
                          (_capi.ImportanceParams, _capi.lib.tpa_importance_params_init)):
            with self.subTest(struct=cls.__name__):
                p = cls()
                init(ctypes.byref(p), ctypes.sizeof(p))
                self.assertEqual(p.size, ctypes.sizeof(cls))

    def test_metrics_is_frozen(self):
        # tpa_metrics is embedded in tpa_epoch_report: it keeps its 0.1
        # layout (72 bytes on LP64) and metrics added later go to
        # tpa_metrics_extra; the report's own fields follow it.
        self.assertEqual([n for n, _ in _capi.Metrics._fields_],
                         ["size", "present", "accuracy", "f1", "matthews", "pearson",
                          "spearman", "main", "count"])
        self.assertEqual(_capi.EpochReport._fields_[-1][0], "dev_macro_f1")
        if ctypes.sizeof(ctypes.c_void_p) == 8:
            self.assertEqual(ctypes.sizeof(_capi.Metrics), 72)
            self.assertEqual(_capi.EpochReport.dev.offset, 32)
            self.assertEqual(_capi.EpochReport.best.offset, 112)

    def test_report_from_an_older_library(self):
        # A 0.3 library passes a tpa_epoch_report that ends after `best`:
        # the binding copies `size` bytes and the newer field reads 0, not
        # the bytes that follow the library's struct.
        import libtpa
        old = _capi.EpochReport.dev_macro_f1.offset
        buf = _capi.EpochReport(size=old, epoch=2, step=7, best=True, dev_macro_f1=123.0)
        buf.dev.present = _capi.METRIC_ACCURACY
        buf.dev.accuracy = 0.5
        r = libtpa._report(ctypes.pointer(buf), _capi.EpochReport)
        self.assertEqual((r.epoch, r.step, r.best, r.dev.accuracy), (2, 7, True, 0.5))
        self.assertEqual(r.dev_macro_f1, 0.0)
        d = libtpa._epoch_dict(r)
        self.assertEqual(d["dev_macro_f1"], 0.0)
        self.assertEqual(d["dev"]["macro_f1"], 0.0)
        self.assertEqual(d["dev"]["accuracy"], 0.5)
        # A newer library's longer report: the binding's fields, no more.
        buf.size = ctypes.sizeof(_capi.EpochReport) + 64
        r = libtpa._report(ctypes.pointer(buf), _capi.EpochReport)
        self.assertEqual(r.dev_macro_f1, 123.0)

    def test_train_params_defaults(self):
        p = _capi.TrainParams()
        _capi.lib.tpa_train_params_init(ctypes.byref(p), ctypes.sizeof(p))
        self.assertEqual((p.epochs, p.batch_size, p.seed), (3, 32, 42))
        self.assertTrue(p.shuffle)
        self.assertTrue(p.keep_best)
        self.assertEqual(p.metric, 0)
        self.assertIsNone(p.dist)


if __name__ == "__main__":
    unittest.main()
