# SPDX-License-Identifier: Apache-2.0
"""Pure-ctypes Python binding of libtpa (libtpa.so.0).

The library is found through $LIBTPA_PATH, then ctypes.util.find_library,
then the source tree's build/lib. Errors raise TpaError carrying
tpa_status_str() and tpa_last_error(). Handles are context managers and are
freed exactly once (on close(), on leaving ``with``, or on garbage collection).
NumPy is optional: the *_array() methods need it, nothing else does.
"""
import ctypes
import os

from . import _capi
from ._capi import lib as _lib

from ._capi import (METRIC_ACCURACY, METRIC_F1, METRIC_MACRO_F1, METRIC_MATTHEWS,  # noqa: F401
                    METRIC_PEARSON, METRIC_SPEARMAN)

__all__ = ["TpaError", "version", "Model", "Dataset", "Importance", "PrunePlan",
           "LoraSet", "rank_schedule", "train_lora", "train_full", "metrics",
           "metric_from_name", "metrics_value", "task_from_name", "task_name",
           "METRIC_ACCURACY", "METRIC_F1", "METRIC_MATTHEWS", "METRIC_PEARSON",
           "METRIC_SPEARMAN", "METRIC_MACRO_F1"]


class TpaError(Exception):
    """A libtpa call failed: ``status`` (int), ``status_str`` and ``message``."""

    def __init__(self, status, message):
        self.status = int(status)
        self.status_str = _lib.tpa_status_str(self.status).decode()
        self.message = message
        super().__init__("%s: %s" % (self.status_str, message))


def _check(status):
    if status != 0:
        raise TpaError(status, _lib.tpa_last_error().decode(errors="replace"))


def _path(p):
    return os.fsencode(p)


def _params(cls, init, overrides):
    p = cls()
    init(ctypes.byref(p), ctypes.sizeof(p))
    for key, value in overrides.items():
        if value is None:
            continue
        if not any(f[0] == key for f in cls._fields_):
            raise TypeError("unknown option %r" % key)
        setattr(p, key, value)
    return p


def _str_array(names):
    """A NULL-free ``const char *const *`` of ``names`` (str or bytes); the
    returned array keeps the encoded strings alive."""
    enc = [n.encode() if isinstance(n, str) else bytes(n) for n in names]
    return (ctypes.c_char_p * max(len(enc), 1))(*enc), len(enc)


def _struct_dict(s):
    out = {}
    for name, _ in s._fields_:
        if name == "size":
            continue
        v = getattr(s, name)
        out[name] = _struct_dict(v) if isinstance(v, ctypes.Structure) else v
    return out


def _report(ptr, cls):
    """A copy of the report the library passed to a callback: the first
    ``min(size, sizeof)`` bytes, the rest 0, so that the fields an older
    library's shorter struct lacks (e.g. 0.3's ``dev_macro_f1``) read as 0
    instead of as whatever follows its struct in memory."""
    out = cls()
    size = ctypes.cast(ptr, ctypes.POINTER(ctypes.c_size_t))[0]
    ctypes.memmove(ctypes.byref(out), ptr, min(size, ctypes.sizeof(cls)))
    return out


def _metrics_dict(m, macro_f1):
    """A metrics dict: tpa_metrics' fields plus ``macro_f1`` (from
    tpa_metrics_extra, or an epoch report's ``dev_macro_f1``; 0 when it is
    not in ``present``)."""
    d = _struct_dict(m)
    d["macro_f1"] = macro_f1
    return d


def _epoch_dict(r):
    """An epoch report as a dict: its C fields, ``dev`` as a metrics dict
    whose ``macro_f1`` is the report's ``dev_macro_f1``."""
    d = _struct_dict(r)
    d["dev"] = _metrics_dict(r.dev, r.dev_macro_f1)
    return d


def _numpy():
    import numpy  # noqa: deferred, optional
    return numpy


def version():
    """The run-time library version string, e.g. '0.4.0'."""
    return _lib.tpa_version().decode()


def backend_version():
    """The oneDNN the library runs with, e.g. 'oneDNN 3.8.0, OpenMP'."""
    return _lib.tpa_backend_version().decode()


def task_from_name(name):
    t = ctypes.c_int()
    _check(_lib.tpa_task_from_name(name.encode(), ctypes.byref(t)))
    return t.value


def task_name(task):
    return _lib.tpa_task_name(task).decode()


def metric_from_name(name):
    """The METRIC_* bit of a metric name: accuracy, f1, macro_f1, matthews
    (or mcc), pearson, spearman (``tpa_metric_from_name``)."""
    bit = ctypes.c_uint32()
    _check(_lib.tpa_metric_from_name(name.encode(), ctypes.byref(bit)))
    return bit.value


def _metric_bit(metric):
    return metric_from_name(metric) if isinstance(metric, str) else int(metric)


_TABLE_FORMATS = {"auto": _capi.TABLE_AUTO, "csv": _capi.TABLE_CSV, "tsv": _capi.TABLE_TSV,
                  "jsonl": _capi.TABLE_JSONL, "ndjson": _capi.TABLE_JSONL}
_ROLES = {"text": _capi.ROLE_TEXT, "text_pair": _capi.ROLE_TEXT_PAIR,
          "label": _capi.ROLE_LABEL}


class _Handle:
    _free = None

    def __init__(self, ptr):
        self._ptr = ptr

    @property
    def ptr(self):
        if not self._ptr:
            raise ValueError("%s is closed" % type(self).__name__)
        return self._ptr

    @property
    def closed(self):
        return not self._ptr

    def close(self):
        """Free the C handle; idempotent."""
        ptr, self._ptr = getattr(self, "_ptr", None), None
        if ptr:
            type(self)._free(ptr)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class Dataset(_Handle):
    """Examples: a GLUE task file (Dataset.load(path, task='sst2')) or your
    own CSV, TSV or JSON Lines table (Dataset.load_table(path, ...))."""
    _free = _lib.tpa_dataset_free

    @classmethod
    def load(cls, path, task="sst2", max_rows=0):
        t = task_from_name(task) if isinstance(task, str) else int(task)
        p = _params(_capi.DatasetParams, _lib.tpa_dataset_params_init, {"max_rows": max_rows})
        out = ctypes.c_void_p()
        _check(_lib.tpa_dataset_load(ctypes.byref(out), t, _path(path), ctypes.byref(p)))
        return cls(out.value)

    @classmethod
    def load_table(cls, path, format=None, text_column=None, text_pair_column=None,
                   label_column=None, labels=None, regression=False, require_labels=False,
                   max_rows=0):
        """Read a CSV, TSV or JSON Lines file (``tpa_dataset_load_table``).

        ``format``: None or "auto" (from the name: .csv, .tsv, .jsonl or
        .ndjson, each maybe .gz), "csv", "tsv", "jsonl". Columns are header
        names (JSON keys) or 1-based numbers as strings; None picks the
        library's defaults, "" (text_pair_column, label_column) means none.
        ``labels``: class names in id order, else the file's distinct
        labels (integers in numeric order, else strings in byte order).
        ``regression``: labels are numbers, one output. ``require_labels``:
        a file without the label column is an error."""
        if format is None:
            fmt = _capi.TABLE_AUTO
        elif isinstance(format, str):
            if format.lower() not in _TABLE_FORMATS:
                raise ValueError("unknown table format %r (auto, csv, tsv, jsonl)" % format)
            fmt = _TABLE_FORMATS[format.lower()]
        else:
            fmt = int(format)
        p = _params(_capi.TableParams, _lib.tpa_table_params_init,
                    {"format": fmt, "regression": bool(regression),
                     "require_labels": bool(require_labels), "max_rows": max_rows})
        keep = []
        for field, value in (("text_column", text_column),
                             ("text_pair_column", text_pair_column),
                             ("label_column", label_column)):
            if value is not None:
                b = value.encode() if isinstance(value, str) else bytes(value)
                keep.append(b)
                setattr(p, field, b)
        if labels is not None:
            if isinstance(labels, (str, bytes)):
                raise TypeError("labels must be a sequence of names, not a string")
            arr, n = _str_array(labels)
            keep.append(arr)
            p.labels = ctypes.cast(arr, ctypes.POINTER(ctypes.c_char_p))
            p.num_labels = n
        out = ctypes.c_void_p()
        _check(_lib.tpa_dataset_load_table(ctypes.byref(out), _path(path), ctypes.byref(p)))
        del keep
        return cls(out.value)

    def __len__(self):
        return _lib.tpa_dataset_size(self.ptr)

    @property
    def task(self):
        """The GLUE task (an int), or None for a table dataset."""
        t = _lib.tpa_dataset_task(self.ptr)
        return None if t == _capi.TASK_COUNT else t

    @property
    def num_labels(self):
        """Outputs the labels need: the number of classes, 1 for regression
        (0 for an unlabeled table read without ``labels``)."""
        return _lib.tpa_dataset_num_labels(self.ptr)

    def label_name(self, i):
        """Name of class ``i``; None out of range or for regression."""
        s = _lib.tpa_dataset_label_name(self.ptr, i)
        return s.decode() if s is not None else None

    @property
    def label_names(self):
        """Class names in id order; [] for regression or without classes."""
        names = [self.label_name(i) for i in range(self.num_labels)]
        return [] if any(n is None for n in names) else names

    @property
    def has_labels(self):
        """False for a file without labels (then every label() is NaN)."""
        return bool(_lib.tpa_dataset_has_labels(self.ptr))

    def column(self, role):
        """Header name of the column that held ``role`` ("text", "text_pair"
        or "label"); None when unused or for a GLUE dataset."""
        r = _ROLES[role] if isinstance(role, str) else int(role)
        s = _lib.tpa_dataset_column(self.ptr, r)
        return s.decode() if s is not None else None

    @property
    def columns(self):
        """{"text": ..., "text_pair": ..., "label": ...}: column names or None."""
        return {name: self.column(role) for name, role in _ROLES.items()}

    def split(self, fraction, seed=42):
        """Stratified, seeded hold-out (``tpa_dataset_split``): returns
        ``(kept, held_out)``, two new datasets in file order, ``held_out``
        with about ``fraction`` of every class."""
        kept, held = ctypes.c_void_p(), ctypes.c_void_p()
        _check(_lib.tpa_dataset_split(self.ptr, float(fraction), int(seed), ctypes.byref(kept),
                                      ctypes.byref(held)))
        return type(self)(kept.value), type(self)(held.value)

    def metrics(self, logits, labels=None):
        """Metrics of ``logits`` (list of lists, num_labels wide) against
        ``labels`` (default: this dataset's), for this dataset's classes
        (``tpa_dataset_metrics``); a dict like ``metrics()``."""
        if labels is None:
            labels = self.labels()
        ptr = self.ptr
        return _metrics_call(lambda *a: _lib.tpa_dataset_metrics(ptr, *a),
                             self.num_labels, logits, labels)

    def label(self, i):
        return _lib.tpa_dataset_label(self.ptr, i)

    def labels(self):
        return [_lib.tpa_dataset_label(self.ptr, i) for i in range(len(self))]

    def text(self, i):
        a = _lib.tpa_dataset_text_a(self.ptr, i)
        b = _lib.tpa_dataset_text_b(self.ptr, i)
        return (a.decode() if a else None, b.decode() if b else None)


class Model(_Handle):
    """A BERT sequence classifier: Model.load(dir, seed=None, num_labels=None)."""
    _free = _lib.tpa_model_free

    @classmethod
    def load(cls, path, **options):
        p = _params(_capi.ModelLoadParams, _lib.tpa_model_load_params_init, options)
        out = ctypes.c_void_p()
        _check(_lib.tpa_model_load(ctypes.byref(out), _path(path), ctypes.byref(p)))
        return cls(out.value)

    def config(self):
        c = _capi.ModelConfig(size=ctypes.sizeof(_capi.ModelConfig))
        _check(_lib.tpa_model_get_config(self.ptr, ctypes.byref(c)))
        d = _struct_dict(c)
        d["model_type"] = d["model_type"].decode() if d["model_type"] else None
        return d

    def layer_ffn_width(self, layer):
        """Intermediate neurons of a layer (they differ after --ffn-global)."""
        return _lib.tpa_model_layer_ffn_width(self.ptr, layer)

    def lora_module(self, name):
        """The LoRA module (0 query, 1 key, 2 value, 3 attention output)
        that PEFT's target_modules entry ``name`` picks in this model's
        family ("query", "q_lin", "attention.output.dense", ...)."""
        k = ctypes.c_int()
        _check(_lib.tpa_lora_module_from_name(self.ptr, name.encode(), ctypes.byref(k)))
        return k.value

    def lora_modules(self, name):
        """Every LoRA module (0-3 the attention's, 4 intermediate, 5 the
        feed-forward's output) that PEFT's target_modules entry ``name``
        picks in this model's family, as a sorted list: "output.dense"
        gives [3, 5] in BERT, "lin1" [4] in DistilBERT."""
        m = ctypes.c_uint32()
        _check(_lib.tpa_lora_module_mask(self.ptr, name.encode(), ctypes.byref(m)))
        return [k for k in range(_capi.LORA_ALL_MODULES) if m.value >> k & 1]

    def param_counts(self):
        c = _capi.ParamCounts(size=ctypes.sizeof(_capi.ParamCounts))
        _check(_lib.tpa_model_param_counts(self.ptr, ctypes.byref(c)))
        return _struct_dict(c)

    def heads(self, layer):
        """The original indices of the heads kept in ``layer``."""
        cap = max(self.config()["num_heads"], 1)
        buf = (ctypes.c_int32 * cap)()
        n = ctypes.c_size_t()
        _check(_lib.tpa_model_layer_heads(self.ptr, layer, buf, cap, ctypes.byref(n)))
        return list(buf[:n.value])

    def num_heads(self, layer):
        return _lib.tpa_model_layer_num_heads(self.ptr, layer)

    def label_name(self, i):
        s = _lib.tpa_model_label_name(self.ptr, i)
        return s.decode() if s else None

    def label_names(self):
        """Class names in id order (config.json's id2label)."""
        return [self.label_name(i) for i in range(self.config()["num_labels"])]

    def set_label_names(self, names):
        """Name the classes, e.g. ``model.set_label_names(train.label_names)``;
        ``save`` writes them as id2label and label2id."""
        arr, n = _str_array(names)
        _check(_lib.tpa_model_set_label_names(self.ptr, arr, n))

    def quantize(self, calibration=None, max_examples=0, max_seq_length=None):
        """Quantize in place to int8 (docs/quantization.md): activation
        scales per token, or with ``calibration`` (a Dataset) one static
        scale per layer measured on its first ``max_examples`` (0: all)."""
        p = _params(_capi.QuantizeParams, _lib.tpa_quantize_params_init,
                    {"max_examples": max_examples, "max_seq_length": max_seq_length})
        if calibration is not None:
            p.mode = _capi.QUANT_STATIC
            p.calibration = calibration.ptr
        _check(_lib.tpa_model_quantize(self.ptr, ctypes.byref(p)))

    @property
    def quant_mode(self):
        """"f32", "int8-dynamic" or "int8-static"."""
        return {_capi.QUANT_DYNAMIC: "int8-dynamic",
                _capi.QUANT_STATIC: "int8-static"}.get(_lib.tpa_model_quant_mode(self.ptr), "f32")

    def save(self, path):
        _check(_lib.tpa_model_save(self.ptr, _path(path)))

    def save_dense(self, path):
        _check(_lib.tpa_model_save_dense(self.ptr, _path(path)))

    def predict(self, dataset, adapter=None, max_seq_length=None, batch_size=None):
        """Logits, one list of num_labels floats per example."""
        p = _params(_capi.PredictParams, _lib.tpa_predict_params_init,
                    {"max_seq_length": max_seq_length, "batch_size": batch_size})
        if adapter is not None:
            p.adapter = adapter.ptr
        k = self.config()["num_labels"]
        n = len(dataset)
        buf = (ctypes.c_float * max(n * k, 1))()
        _check(_lib.tpa_model_predict(self.ptr, dataset.ptr, ctypes.byref(p), buf, n * k))
        return [list(buf[i * k:(i + 1) * k]) for i in range(n)]

    def prune(self, plan):
        _check(_lib.tpa_model_prune(self.ptr, plan.ptr))

    def merge(self, lora):
        lora.merge(self)


def _progress(fn):
    if fn is None:
        return _capi.PROGRESS_FN()

    def cb(_user, stage, done, total):
        keep_going = fn(stage.decode(), done, total)
        return True if keep_going is None else bool(keep_going)
    return _capi.PROGRESS_FN(cb)


class Importance(_Handle):
    """Head and block importance: Importance.compute(model, dataset, samples=...);
    with ffn=True also every feed-forward neuron's (ffn_raw(), ffn_normalized())."""
    _free = _lib.tpa_importance_free

    @classmethod
    def compute(cls, model, dataset, progress=None, **options):
        p = _params(_capi.ImportanceParams, _lib.tpa_importance_params_init, options)
        cb = _progress(progress)
        p.progress = cb
        out = ctypes.c_void_p()
        _check(_lib.tpa_importance_compute(ctypes.byref(out), model.ptr, dataset.ptr,
                                           ctypes.byref(p)))
        return cls(out.value)

    @classmethod
    def load(cls, path):
        out = ctypes.c_void_p()
        _check(_lib.tpa_importance_load(ctypes.byref(out), _path(path)))
        return cls(out.value)

    def save(self, path):
        _check(_lib.tpa_importance_save(self.ptr, _path(path)))

    def heatmap(self, png_path):
        """The picture as a PNG, without a task name or plan (see write_png)."""
        _check(_lib.tpa_importance_write_heatmap(self.ptr, _path(png_path)))

    def _picture(self, fn, path, task, plan):
        p = _params(_capi.HeatmapParams, _lib.tpa_heatmap_params_init, {})
        if task is not None:
            p.task = task.encode()
        if plan is not None:
            p.plan = plan.ptr
        _check(fn(self.ptr, _path(path), ctypes.byref(p)))

    def write_svg(self, path, task=None, plan=None):
        """The picture as SVG: scores per layer and head, block importance,
        legend; ``task`` names the title, ``plan`` (a PrunePlan) marks the
        heads it removes (since 0.8.0)."""
        self._picture(_lib.tpa_importance_write_svg, path, task, plan)

    def write_png(self, path, task=None, plan=None):
        """The same picture as write_svg, as a PNG (since 0.8.0)."""
        self._picture(_lib.tpa_importance_write_png, path, task, plan)

    @property
    def num_layers(self):
        return _lib.tpa_importance_num_layers(self.ptr)

    @property
    def num_heads(self):
        return _lib.tpa_importance_num_heads(self.ptr)

    @property
    def examples(self):
        return _lib.tpa_importance_examples(self.ptr)

    @property
    def tokens(self):
        return _lib.tpa_importance_tokens(self.ptr)

    def has_head(self, layer, head):
        return _lib.tpa_importance_has_head(self.ptr, layer, head)

    def _table(self, fn):
        return [[fn(self.ptr, l, h) for h in range(self.num_heads)]
                for l in range(self.num_layers)]

    def raw(self):
        """[layer][head] raw scores (nested lists)."""
        return self._table(_lib.tpa_importance_raw)

    def normalized(self):
        """[layer][head] per-layer normalised scores (nested lists)."""
        return self._table(_lib.tpa_importance_normalized)

    def blocks(self):
        """Per-layer block importance (list)."""
        return [_lib.tpa_importance_block(self.ptr, l) for l in range(self.num_layers)]

    @property
    def has_ffn(self):
        return _lib.tpa_importance_has_ffn(self.ptr)

    def _ffn(self, fn):
        return [[fn(self.ptr, l, j) for j in range(_lib.tpa_importance_ffn_width(self.ptr, l))]
                for l in range(self.num_layers)]

    def ffn_raw(self):
        """[layer][neuron] raw neuron scores; [] per layer without them."""
        return self._ffn(_lib.tpa_importance_ffn_raw)

    def ffn_normalized(self):
        """[layer][neuron] per-layer normalised neuron scores."""
        return self._ffn(_lib.tpa_importance_ffn_normalized)

    def raw_array(self):
        return _numpy().array(self.raw(), dtype="float64")

    def normalized_array(self):
        return _numpy().array(self.normalized(), dtype="float64")

    def blocks_array(self):
        return _numpy().array(self.blocks(), dtype="float64")


class PrunePlan(_Handle):
    """Heads (and neurons) to remove: PrunePlan.create(imp, num_heads=-1 |
    threshold=x, ffn_keep=f)."""
    _free = _lib.tpa_prune_plan_free

    @classmethod
    def create(cls, importance, num_heads=None, threshold=None, allow_empty_layers=None,
               ffn_keep=None, ffn_global=None):
        opts = {"num_heads": num_heads, "allow_empty_layers": allow_empty_layers,
                "ffn_keep": ffn_keep, "ffn_global": ffn_global}
        if threshold is not None:
            opts.update(use_threshold=True, threshold=threshold)
        p = _params(_capi.PruneParams, _lib.tpa_prune_params_init, opts)
        out = ctypes.c_void_p()
        _check(_lib.tpa_prune_plan_create(ctypes.byref(out), importance.ptr, ctypes.byref(p)))
        return cls(out.value)

    @classmethod
    def load(cls, path):
        out = ctypes.c_void_p()
        _check(_lib.tpa_prune_plan_load(ctypes.byref(out), _path(path)))
        return cls(out.value)

    def save(self, path):
        _check(_lib.tpa_prune_plan_save(self.ptr, _path(path)))

    @property
    def num_layers(self):
        return _lib.tpa_prune_plan_num_layers(self.ptr)

    @property
    def num_pruned(self):
        return _lib.tpa_prune_plan_num_pruned(self.ptr)

    def removes(self, layer, head):
        return _lib.tpa_prune_plan_removes(self.ptr, layer, head)

    @property
    def num_pruned_neurons(self):
        return _lib.tpa_prune_plan_num_pruned_neurons(self.ptr)

    def ffn_width(self, layer):
        """Neurons of the layer as planned (0: the plan has no neurons)."""
        return _lib.tpa_prune_plan_ffn_width(self.ptr, layer)

    def removes_neuron(self, layer, neuron):
        return _lib.tpa_prune_plan_removes_neuron(self.ptr, layer, neuron)


def rank_schedule(importance, top_k=None, r_high=None, r_low=None):
    """layers * 4 LoRA ranks (block-major, query/key/value/output)."""
    p = _params(_capi.RankScheduleParams, _lib.tpa_rank_schedule_params_init,
                {"top_k": top_k, "r_high": r_high, "r_low": r_low})
    cap = importance.num_layers * _capi.LORA_MODULES
    buf = (ctypes.c_int32 * cap)()
    _check(_lib.tpa_rank_schedule(importance.ptr, ctypes.byref(p), buf, cap))
    return list(buf)


class LoraSet(_Handle):
    """LoRA adapters: LoraSet.create(model, rank=8 | ranks=[...], alphas=[...],
    ffn_ranks=[...], ffn_alphas=[...])."""
    _free = _lib.tpa_lora_set_free

    @classmethod
    def create(cls, model, ranks=None, alphas=None, ffn_ranks=None, ffn_alphas=None, **options):
        p = _params(_capi.LoraParams, _lib.tpa_lora_params_init, options)
        keep = []  # the buffers must outlive the call
        for field, values, ctype in (("ranks", ranks, ctypes.c_int32),
                                     ("alphas", alphas, ctypes.c_float),
                                     ("ffn_ranks", ffn_ranks, ctypes.c_int32),
                                     ("ffn_alphas", ffn_alphas, ctypes.c_float)):
            if values is not None:
                buf = (ctype * len(values))(*values)
                keep.append(buf)
                setattr(p, field, ctypes.cast(buf, ctypes.POINTER(ctype)))
        out = ctypes.c_void_p()
        _check(_lib.tpa_lora_set_create(ctypes.byref(out), model.ptr, ctypes.byref(p)))
        return cls(out.value)

    @classmethod
    def load(cls, model, path):
        out = ctypes.c_void_p()
        _check(_lib.tpa_lora_set_load(ctypes.byref(out), model.ptr, _path(path)))
        return cls(out.value)

    def save(self, path):
        _check(_lib.tpa_lora_set_save(self.ptr, _path(path)))

    def rank(self, layer, module):
        return _lib.tpa_lora_set_rank(self.ptr, layer, module)

    def alpha(self, layer, module):
        return _lib.tpa_lora_set_alpha(self.ptr, layer, module)

    @property
    def num_params(self):
        return _lib.tpa_lora_set_num_params(self.ptr)

    def merge(self, model):
        """Fold the adapters into ``model``'s weights."""
        _check(_lib.tpa_lora_set_merge(self.ptr, model.ptr))


def _train_params(options, on_epoch, on_step, progress):
    keep = []
    ckpt = options.pop("checkpoint_dir", None)
    if options.get("metric") is not None:
        options["metric"] = _metric_bit(options["metric"])
    p = _params(_capi.TrainParams, _lib.tpa_train_params_init, options)
    if ckpt is not None:
        b = _path(ckpt)
        keep.append(b)
        p.checkpoint_dir = b
    if on_epoch is not None:
        def ecb(_user, r):
            on_epoch(_epoch_dict(_report(r, _capi.EpochReport)))
        cb = _capi.EPOCH_FN(ecb)
        keep.append(cb)
        p.on_epoch = cb
    if on_step is not None:
        def scb(_user, r):
            on_step(_struct_dict(_report(r, _capi.StepReport)))
        cb = _capi.STEP_FN(scb)
        keep.append(cb)
        p.on_step = cb
    if progress is not None:
        cb = _progress(progress)
        keep.append(cb)
        p.progress = cb
    return p, keep


def train_lora(model, lora, train, dev=None, on_epoch=None, on_step=None, progress=None,
               **options):
    """Train ``lora`` on ``train`` (model frozen); returns the result as a dict.
    ``on_epoch(report_dict)`` is called after each epoch's evaluation."""
    p, keep = _train_params(options, on_epoch, on_step, progress)
    r = _capi.TrainResult(size=ctypes.sizeof(_capi.TrainResult))
    _check(_lib.tpa_train_lora(model.ptr, lora.ptr, train.ptr, dev.ptr if dev else None,
                               ctypes.byref(p), ctypes.byref(r)))
    del keep
    return _struct_dict(r)


def train_full(model, train, dev=None, on_epoch=None, on_step=None, progress=None, **options):
    """Fine-tune all of ``model``'s weights; returns the result as a dict."""
    p, keep = _train_params(options, on_epoch, on_step, progress)
    r = _capi.TrainResult(size=ctypes.sizeof(_capi.TrainResult))
    _check(_lib.tpa_train_full(model.ptr, train.ptr, dev.ptr if dev else None,
                               ctypes.byref(p), ctypes.byref(r)))
    del keep
    return _struct_dict(r)


def _metrics_call(fn, width, logits, labels):
    n = len(labels)
    if len(logits) != n or any(len(row) != width for row in logits):
        # The C function reads n * width values: never let it read past them.
        raise ValueError("logits must be %d rows of %d values (one per label)" % (n, width))
    flat = [float(x) for row in logits for x in row]
    lbuf = (ctypes.c_float * max(len(flat), 1))(*flat)
    ybuf = (ctypes.c_float * max(n, 1))(*labels)
    m = _capi.Metrics(size=ctypes.sizeof(_capi.Metrics))
    x = _capi.MetricsExtra(size=ctypes.sizeof(_capi.MetricsExtra))
    _check(fn(lbuf, ybuf, n, ctypes.byref(m), ctypes.byref(x)))
    return _metrics_dict(m, x.macro_f1)


def metrics(task, logits, labels):
    """GLUE metrics of ``logits`` (list of lists) against ``labels``; a dict.
    Only the metrics whose METRIC_* bit is in ``present`` are set (a GLUE
    task has no macro-F1: ``macro_f1`` is 0)."""
    t = task_from_name(task) if isinstance(task, str) else int(task)
    return _metrics_call(lambda l, y, n, m, _x: _lib.tpa_metrics_compute(t, l, y, n, m),
                         _lib.tpa_task_num_labels(t), logits, labels)


def metrics_value(result, metric):
    """The value of ``metric`` (a name or METRIC_* bit) in a metrics dict
    (``metrics()``, ``Dataset.metrics()``, an epoch report's ``dev``); NaN
    when it is not in ``result["present"]`` (``tpa_metrics_value``)."""
    m = _capi.Metrics(size=ctypes.sizeof(_capi.Metrics))
    for name, _ in _capi.Metrics._fields_:
        if name != "size" and name in result:
            setattr(m, name, result[name])
    x = _capi.MetricsExtra(size=ctypes.sizeof(_capi.MetricsExtra),
                           macro_f1=result.get("macro_f1", 0.0))
    return _lib.tpa_metrics_value(ctypes.byref(m), ctypes.byref(x), _metric_bit(metric))
