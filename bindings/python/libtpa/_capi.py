# SPDX-License-Identifier: Apache-2.0
"""Low-level ctypes declarations of libtpa's public C API (include/tpa/*.h).

Structures mirror the C field order exactly; every params struct is filled
by the library's own ``*_params_init`` function, which also sets ``size``.
"""
import ctypes
import ctypes.util
import os

c_int32 = ctypes.c_int32
c_int64 = ctypes.c_int64
c_uint32 = ctypes.c_uint32
c_uint64 = ctypes.c_uint64
c_size_t = ctypes.c_size_t
c_double = ctypes.c_double
c_float = ctypes.c_float
c_bool = ctypes.c_bool
c_char_p = ctypes.c_char_p
c_void_p = ctypes.c_void_p
c_int = ctypes.c_int  # C enums (tpa_status, tpa_task, tpa_lora_module, ...)
POINTER = ctypes.POINTER

LORA_MODULES = 4
LORA_ALL_MODULES = 6  # the attention's four, then intermediate and FFN output
TASK_COUNT = 9  # tpa_dataset_task() of a table dataset (no GLUE task)

# tpa_metrics::present bits (TPA_METRIC_*)
METRIC_ACCURACY = 1 << 0
METRIC_F1 = 1 << 1
METRIC_MATTHEWS = 1 << 2
METRIC_PEARSON = 1 << 3
METRIC_SPEARMAN = 1 << 4
METRIC_MACRO_F1 = 1 << 5  # since 0.4.0

# enum tpa_table_format (since 0.4.0)
TABLE_AUTO = 0
TABLE_CSV = 1
TABLE_TSV = 2
TABLE_JSONL = 3

# enum tpa_dataset_role (since 0.4.0)
ROLE_TEXT = 0
ROLE_TEXT_PAIR = 1
ROLE_LABEL = 2

LOG_FN = ctypes.CFUNCTYPE(None, c_void_p, c_int, c_char_p)
PROGRESS_FN = ctypes.CFUNCTYPE(c_bool, c_void_p, c_char_p, c_uint64, c_uint64)


class ModelLoadParams(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("seed", c_uint64), ("num_labels", c_int32),
                ("log", LOG_FN), ("user", c_void_p)]


class ModelConfig(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("hidden_size", c_int32), ("num_layers", c_int32),
                ("num_heads", c_int32), ("head_dim", c_int32),
                ("intermediate_size", c_int32), ("vocab_size", c_int32),
                ("max_position_embeddings", c_int32), ("type_vocab_size", c_int32),
                ("num_labels", c_int32), ("layer_norm_eps", c_double),
                ("hidden_dropout_prob", c_double),
                ("attention_probs_dropout_prob", c_double), ("do_lower_case", c_bool),
                ("regression", c_bool), ("model_type", c_char_p),
                ("embedding_size", c_int32), ("max_sequence_length", c_int32)]


class ParamCounts(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("total", c_uint64), ("embeddings", c_uint64),
                ("encoder", c_uint64), ("head", c_uint64), ("pooler", c_uint64),
                ("classifier", c_uint64)]


class DatasetParams(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("max_rows", c_size_t)]


class Metrics(ctypes.Structure):
    # Frozen at its 0.1 layout: it is embedded in EpochReport, so it never
    # grows; later metrics live in MetricsExtra.
    _fields_ = [("size", c_size_t), ("present", c_uint32), ("accuracy", c_double),
                ("f1", c_double), ("matthews", c_double), ("pearson", c_double),
                ("spearman", c_double), ("main", c_double), ("count", c_uint64)]


class MetricsExtra(ctypes.Structure):  # since 0.4.0
    _fields_ = [("size", c_size_t), ("macro_f1", c_double)]


class TableParams(ctypes.Structure):  # since 0.4.0
    _fields_ = [("size", c_size_t), ("format", c_int), ("text_column", c_char_p),
                ("text_pair_column", c_char_p), ("label_column", c_char_p),
                ("labels", POINTER(c_char_p)), ("num_labels", c_int32),
                ("regression", c_bool), ("require_labels", c_bool), ("max_rows", c_size_t)]


class PredictParams(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("max_seq_length", c_int32), ("batch_size", c_int32),
                ("progress", PROGRESS_FN), ("user", c_void_p), ("adapter", c_void_p)]


class ImportanceParams(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("samples", c_size_t), ("batch_size", c_int32),
                ("max_seq_length", c_int32), ("progress", PROGRESS_FN), ("user", c_void_p),
                ("dist", c_void_p),  # dist: since 0.2.0
                ("ffn", c_bool)]  # ffn: since 0.6.0


class HeatmapParams(ctypes.Structure):  # since 0.8.0
    _fields_ = [("size", c_size_t), ("task", c_char_p), ("plan", c_void_p)]


class PruneParams(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("num_heads", c_int32), ("use_threshold", c_bool),
                ("threshold", c_double), ("allow_empty_layers", c_bool),
                ("ffn_keep", c_double), ("ffn_global", c_double)]  # since 0.6.0


class QuantizeParams(ctypes.Structure):  # since 0.7.0
    _fields_ = [("size", c_size_t), ("mode", ctypes.c_int), ("calibration", c_void_p),
                ("max_examples", c_size_t), ("max_seq_length", c_int32), ("log", LOG_FN),
                ("user", c_void_p)]


QUANT_NONE, QUANT_DYNAMIC, QUANT_STATIC = 0, 1, 2


class RankScheduleParams(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("top_k", c_int32), ("r_high", c_int32),
                ("r_low", c_int32)]


class LoraParams(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("rank", c_int32), ("alpha", c_float),
                ("ranks", POINTER(c_int32)), ("alphas", POINTER(c_float)),
                ("seed", c_uint64),
                ("ffn_ranks", POINTER(c_int32)), ("ffn_alphas", POINTER(c_float))]  # 0.6.0


class EpochReport(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("epoch", c_int32), ("step", c_int64),
                ("train_loss", c_double), ("dev", Metrics), ("seconds", c_double),
                ("best", c_bool),
                ("dev_macro_f1", c_double)]  # since 0.4.0


class StepReport(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("step", c_int64), ("total_steps", c_int64),
                ("epoch", c_int32), ("examples", c_int32), ("loss", c_double),
                ("learning_rate", c_double), ("grad_norm", c_double)]


EPOCH_FN = ctypes.CFUNCTYPE(None, c_void_p, POINTER(EpochReport))
STEP_FN = ctypes.CFUNCTYPE(None, c_void_p, POINTER(StepReport))


class TrainParams(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("epochs", c_int32), ("max_steps", c_int64),
                ("batch_size", c_int32), ("learning_rate", c_double),
                ("weight_decay", c_double), ("warmup_ratio", c_double),
                ("max_grad_norm", c_double), ("hidden_dropout", c_double),
                ("attention_dropout", c_double), ("seed", c_uint64), ("shuffle", c_bool),
                ("max_seq_length", c_int32), ("checkpoint_dir", c_char_p),
                ("save_every", c_int64), ("resume", c_bool), ("keep_best", c_bool),
                ("progress", PROGRESS_FN), ("on_epoch", EPOCH_FN), ("log", LOG_FN),
                ("user", c_void_p), ("on_step", STEP_FN),
                ("dist", c_void_p),      # since 0.2.0
                ("metric", c_uint32)]    # since 0.4.0


class TrainResult(ctypes.Structure):
    _fields_ = [("size", c_size_t), ("epochs", c_int32), ("steps", c_int64),
                ("best_epoch", c_int32), ("best_metric", c_double),
                ("final_train_loss", c_double), ("seconds", c_double),
                ("trainable_params", c_uint64), ("examples", c_uint64),
                ("tokens", c_uint64),
                # since 0.8.0 (an older library leaves them 0)
                ("run_examples", c_uint64), ("run_tokens", c_uint64),
                ("run_seconds", c_double), ("resumed_step", c_int64)]


def _find_library():
    env = os.environ.get("LIBTPA_PATH")
    if env:
        return env
    found = ctypes.util.find_library("tpa")
    if found:
        return found
    here = os.path.dirname(os.path.abspath(__file__))
    tree = os.path.normpath(os.path.join(here, "..", "..", "..", "build", "lib", "libtpa.so.0"))
    if os.path.exists(tree):
        return tree
    return "libtpa.so.0"


VP = c_void_p
S = c_int  # tpa_status
_SIGNATURES = {
    # common.h
    "tpa_status_str": (c_char_p, [c_int]),
    "tpa_last_error": (c_char_p, []),
    "tpa_version": (c_char_p, []),
    "tpa_version_number": (c_uint32, []),
    "tpa_backend_version": (c_char_p, []),
    # model.h
    "tpa_model_load_params_init": (None, [POINTER(ModelLoadParams), c_size_t]),
    "tpa_model_load": (S, [POINTER(VP), c_char_p, POINTER(ModelLoadParams)]),
    "tpa_model_free": (None, [VP]),
    "tpa_model_get_config": (S, [VP, POINTER(ModelConfig)]),
    "tpa_model_layer_num_heads": (c_int32, [VP, c_int32]),
    "tpa_model_layer_heads": (S, [VP, c_int32, POINTER(c_int32), c_size_t, POINTER(c_size_t)]),
    "tpa_model_param_counts": (S, [VP, POINTER(ParamCounts)]),
    "tpa_model_label_name": (c_char_p, [VP, c_int32]),
    "tpa_model_save": (S, [VP, c_char_p]),
    "tpa_model_save_dense": (S, [VP, c_char_p]),
    "tpa_model_tokenizer": (VP, [VP]),
    "tpa_model_set_label_names": (S, [VP, POINTER(c_char_p), c_int32]),  # 0.4.0
    # data.h
    "tpa_task_from_name": (S, [c_char_p, POINTER(c_int)]),
    "tpa_task_name": (c_char_p, [c_int]),
    "tpa_task_num_labels": (c_int32, [c_int]),
    "tpa_task_is_pair": (c_bool, [c_int]),
    "tpa_task_label_name": (c_char_p, [c_int, c_int32]),
    "tpa_dataset_params_init": (None, [POINTER(DatasetParams), c_size_t]),
    "tpa_dataset_load": (S, [POINTER(VP), c_int, c_char_p, POINTER(DatasetParams)]),
    "tpa_dataset_free": (None, [VP]),
    "tpa_dataset_size": (c_size_t, [VP]),
    "tpa_dataset_task": (c_int, [VP]),
    "tpa_dataset_text_a": (c_char_p, [VP, c_size_t]),
    "tpa_dataset_text_b": (c_char_p, [VP, c_size_t]),
    "tpa_dataset_label": (c_float, [VP, c_size_t]),
    "tpa_metrics_compute": (S, [c_int, POINTER(c_float), POINTER(c_float), c_size_t,
                                POINTER(Metrics)]),
    # data.h, since 0.4.0
    "tpa_table_params_init": (None, [POINTER(TableParams), c_size_t]),
    "tpa_dataset_load_table": (S, [POINTER(VP), c_char_p, POINTER(TableParams)]),
    "tpa_dataset_num_labels": (c_int32, [VP]),
    "tpa_dataset_label_name": (c_char_p, [VP, c_int32]),
    "tpa_dataset_has_labels": (c_bool, [VP]),
    "tpa_dataset_column": (c_char_p, [VP, c_int]),
    "tpa_dataset_split": (S, [VP, c_double, c_uint64, POINTER(VP), POINTER(VP)]),
    "tpa_dataset_metrics": (S, [VP, POINTER(c_float), POINTER(c_float), c_size_t,
                                POINTER(Metrics), POINTER(MetricsExtra)]),
    "tpa_metric_from_name": (S, [c_char_p, POINTER(c_uint32)]),
    "tpa_metrics_value": (c_double, [POINTER(Metrics), POINTER(MetricsExtra), c_uint32]),
    # infer.h
    "tpa_predict_params_init": (None, [POINTER(PredictParams), c_size_t]),
    "tpa_model_predict": (S, [VP, VP, POINTER(PredictParams), POINTER(c_float), c_size_t]),
    # importance.h
    "tpa_importance_params_init": (None, [POINTER(ImportanceParams), c_size_t]),
    "tpa_importance_compute": (S, [POINTER(VP), VP, VP, POINTER(ImportanceParams)]),
    "tpa_importance_free": (None, [VP]),
    "tpa_importance_num_layers": (c_int32, [VP]),
    "tpa_importance_num_heads": (c_int32, [VP]),
    "tpa_importance_examples": (c_uint64, [VP]),
    "tpa_importance_tokens": (c_uint64, [VP]),
    "tpa_importance_has_head": (c_bool, [VP, c_int32, c_int32]),
    "tpa_importance_raw": (c_double, [VP, c_int32, c_int32]),
    "tpa_importance_normalized": (c_double, [VP, c_int32, c_int32]),
    "tpa_importance_block": (c_double, [VP, c_int32]),
    "tpa_importance_has_ffn": (c_bool, [VP]),
    "tpa_importance_ffn_width": (c_int32, [VP, c_int32]),
    "tpa_importance_ffn_raw": (c_double, [VP, c_int32, c_int32]),
    "tpa_importance_ffn_normalized": (c_double, [VP, c_int32, c_int32]),
    "tpa_importance_save": (S, [VP, c_char_p]),
    "tpa_importance_load": (S, [POINTER(VP), c_char_p]),
    "tpa_importance_write_heatmap": (S, [VP, c_char_p]),
    "tpa_heatmap_params_init": (None, [POINTER(HeatmapParams), c_size_t]),  # 0.8.0
    "tpa_importance_write_svg": (S, [VP, c_char_p, POINTER(HeatmapParams)]),
    "tpa_importance_write_png": (S, [VP, c_char_p, POINTER(HeatmapParams)]),
    # prune.h
    "tpa_prune_params_init": (None, [POINTER(PruneParams), c_size_t]),
    "tpa_prune_plan_create": (S, [POINTER(VP), VP, POINTER(PruneParams)]),
    "tpa_prune_plan_free": (None, [VP]),
    "tpa_prune_plan_num_layers": (c_int32, [VP]),
    "tpa_prune_plan_num_pruned": (c_int32, [VP]),
    "tpa_prune_plan_removes": (c_bool, [VP, c_int32, c_int32]),
    "tpa_prune_plan_num_pruned_neurons": (c_int64, [VP]),
    "tpa_model_layer_ffn_width": (c_int32, [VP, c_int32]),
    "tpa_prune_plan_ffn_width": (c_int32, [VP, c_int32]),
    "tpa_prune_plan_removes_neuron": (c_bool, [VP, c_int32, c_int32]),
    "tpa_prune_plan_save": (S, [VP, c_char_p]),
    "tpa_prune_plan_load": (S, [POINTER(VP), c_char_p]),
    "tpa_model_prune": (S, [VP, VP]),
    # quantize.h (0.7.0)
    "tpa_quantize_params_init": (None, [POINTER(QuantizeParams), c_size_t]),
    "tpa_model_quantize": (S, [VP, POINTER(QuantizeParams)]),
    "tpa_model_quant_mode": (ctypes.c_int, [VP]),
    "tpa_rank_schedule_params_init": (None, [POINTER(RankScheduleParams), c_size_t]),
    "tpa_rank_schedule": (S, [VP, POINTER(RankScheduleParams), POINTER(c_int32), c_size_t]),
    # lora.h
    "tpa_lora_params_init": (None, [POINTER(LoraParams), c_size_t]),
    "tpa_lora_set_create": (S, [POINTER(VP), VP, POINTER(LoraParams)]),
    "tpa_lora_set_free": (None, [VP]),
    "tpa_lora_set_rank": (c_int32, [VP, c_int32, c_int]),
    "tpa_lora_set_alpha": (c_float, [VP, c_int32, c_int]),
    "tpa_lora_module_from_name": (c_int, [VP, c_char_p, ctypes.POINTER(c_int)]),
    "tpa_lora_module_mask": (c_int, [VP, c_char_p, ctypes.POINTER(ctypes.c_uint32)]),
    "tpa_lora_set_num_params": (c_uint64, [VP]),
    "tpa_lora_set_save": (S, [VP, c_char_p]),
    "tpa_lora_set_load": (S, [POINTER(VP), VP, c_char_p]),
    "tpa_lora_set_merge": (S, [VP, VP]),
    # train.h
    "tpa_train_params_init": (None, [POINTER(TrainParams), c_size_t]),
    "tpa_train_lora": (S, [VP, VP, VP, VP, POINTER(TrainParams), POINTER(TrainResult)]),
    "tpa_train_full": (S, [VP, VP, VP, POINTER(TrainParams), POINTER(TrainResult)]),
}

lib = ctypes.CDLL(_find_library())

#: Functions of _SIGNATURES the loaded library lacks (an older libtpa: the
#: 0.4 functions are absent from 0.3). Calling one raises NotImplementedError;
#: everything else keeps working.
MISSING = []


def _missing(name):
    def call(*_args):
        raise NotImplementedError("%s is not in this libtpa (%s); it needs a newer one"
                                  % (name, lib.tpa_version().decode()))
    return call


for _name, (_res, _args) in _SIGNATURES.items():
    try:
        _fn = getattr(lib, _name)
    except AttributeError:
        MISSING.append(_name)
        setattr(lib, _name, _missing(_name))
        continue
    _fn.restype = _res
    _fn.argtypes = _args
