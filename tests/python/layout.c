/* SPDX-License-Identifier: Apache-2.0 */
/* Prints the layout of every public struct as the C compiler sees it, for
 * test_layout.py to compare with the ctypes structures of the binding
 * (bindings/python/libtpa/_capi.py): one line "struct sizeof" per struct,
 * then "struct.field offset sizeof" per field in declaration order. A field
 * appended to a header must be added here and in _capi.py. */
#include <stddef.h>
#include <stdio.h>

#include "tpa/tpa.h"

#define STRUCT(t) printf("%s %zu\n", #t, sizeof(t))
#define FIELD(t, f) printf("%s.%s %zu %zu\n", #t, #f, offsetof(t, f), sizeof(((t *)0)->f))

int main(void) {
  STRUCT(tpa_model_load_params);
  FIELD(tpa_model_load_params, size);
  FIELD(tpa_model_load_params, seed);
  FIELD(tpa_model_load_params, num_labels);
  FIELD(tpa_model_load_params, log);
  FIELD(tpa_model_load_params, user);

  STRUCT(tpa_model_config);
  FIELD(tpa_model_config, size);
  FIELD(tpa_model_config, hidden_size);
  FIELD(tpa_model_config, num_layers);
  FIELD(tpa_model_config, num_heads);
  FIELD(tpa_model_config, head_dim);
  FIELD(tpa_model_config, intermediate_size);
  FIELD(tpa_model_config, vocab_size);
  FIELD(tpa_model_config, max_position_embeddings);
  FIELD(tpa_model_config, type_vocab_size);
  FIELD(tpa_model_config, num_labels);
  FIELD(tpa_model_config, layer_norm_eps);
  FIELD(tpa_model_config, hidden_dropout_prob);
  FIELD(tpa_model_config, attention_probs_dropout_prob);
  FIELD(tpa_model_config, do_lower_case);
  FIELD(tpa_model_config, regression);
  FIELD(tpa_model_config, model_type);
  FIELD(tpa_model_config, embedding_size);
  FIELD(tpa_model_config, max_sequence_length);

  STRUCT(tpa_param_counts);
  FIELD(tpa_param_counts, size);
  FIELD(tpa_param_counts, total);
  FIELD(tpa_param_counts, embeddings);
  FIELD(tpa_param_counts, encoder);
  FIELD(tpa_param_counts, head);
  FIELD(tpa_param_counts, pooler);
  FIELD(tpa_param_counts, classifier);

  STRUCT(tpa_dataset_params);
  FIELD(tpa_dataset_params, size);
  FIELD(tpa_dataset_params, max_rows);

  STRUCT(tpa_metrics);
  FIELD(tpa_metrics, size);
  FIELD(tpa_metrics, present);
  FIELD(tpa_metrics, accuracy);
  FIELD(tpa_metrics, f1);
  FIELD(tpa_metrics, matthews);
  FIELD(tpa_metrics, pearson);
  FIELD(tpa_metrics, spearman);
  FIELD(tpa_metrics, main);
  FIELD(tpa_metrics, count);

  STRUCT(tpa_metrics_extra);
  FIELD(tpa_metrics_extra, size);
  FIELD(tpa_metrics_extra, macro_f1);

  STRUCT(tpa_table_params);
  FIELD(tpa_table_params, size);
  FIELD(tpa_table_params, format);
  FIELD(tpa_table_params, text_column);
  FIELD(tpa_table_params, text_pair_column);
  FIELD(tpa_table_params, label_column);
  FIELD(tpa_table_params, labels);
  FIELD(tpa_table_params, num_labels);
  FIELD(tpa_table_params, regression);
  FIELD(tpa_table_params, require_labels);
  FIELD(tpa_table_params, max_rows);

  STRUCT(tpa_predict_params);
  FIELD(tpa_predict_params, size);
  FIELD(tpa_predict_params, max_seq_length);
  FIELD(tpa_predict_params, batch_size);
  FIELD(tpa_predict_params, progress);
  FIELD(tpa_predict_params, user);
  FIELD(tpa_predict_params, adapter);

  STRUCT(tpa_importance_params);
  FIELD(tpa_importance_params, size);
  FIELD(tpa_importance_params, samples);
  FIELD(tpa_importance_params, batch_size);
  FIELD(tpa_importance_params, max_seq_length);
  FIELD(tpa_importance_params, progress);
  FIELD(tpa_importance_params, user);
  FIELD(tpa_importance_params, dist);
  FIELD(tpa_importance_params, ffn);

  STRUCT(tpa_prune_params);
  FIELD(tpa_prune_params, size);
  FIELD(tpa_prune_params, num_heads);
  FIELD(tpa_prune_params, use_threshold);
  FIELD(tpa_prune_params, threshold);
  FIELD(tpa_prune_params, allow_empty_layers);
  FIELD(tpa_prune_params, ffn_keep);
  FIELD(tpa_prune_params, ffn_global);

  STRUCT(tpa_rank_schedule_params);
  FIELD(tpa_rank_schedule_params, size);
  FIELD(tpa_rank_schedule_params, top_k);
  FIELD(tpa_rank_schedule_params, r_high);
  FIELD(tpa_rank_schedule_params, r_low);

  STRUCT(tpa_lora_params);
  FIELD(tpa_lora_params, size);
  FIELD(tpa_lora_params, rank);
  FIELD(tpa_lora_params, alpha);
  FIELD(tpa_lora_params, ranks);
  FIELD(tpa_lora_params, alphas);
  FIELD(tpa_lora_params, seed);
  FIELD(tpa_lora_params, ffn_ranks);
  FIELD(tpa_lora_params, ffn_alphas);

  STRUCT(tpa_epoch_report);
  FIELD(tpa_epoch_report, size);
  FIELD(tpa_epoch_report, epoch);
  FIELD(tpa_epoch_report, step);
  FIELD(tpa_epoch_report, train_loss);
  FIELD(tpa_epoch_report, dev);
  FIELD(tpa_epoch_report, seconds);
  FIELD(tpa_epoch_report, best);
  FIELD(tpa_epoch_report, dev_macro_f1);

  STRUCT(tpa_step_report);
  FIELD(tpa_step_report, size);
  FIELD(tpa_step_report, step);
  FIELD(tpa_step_report, total_steps);
  FIELD(tpa_step_report, epoch);
  FIELD(tpa_step_report, examples);
  FIELD(tpa_step_report, loss);
  FIELD(tpa_step_report, learning_rate);
  FIELD(tpa_step_report, grad_norm);

  STRUCT(tpa_train_params);
  FIELD(tpa_train_params, size);
  FIELD(tpa_train_params, epochs);
  FIELD(tpa_train_params, max_steps);
  FIELD(tpa_train_params, batch_size);
  FIELD(tpa_train_params, learning_rate);
  FIELD(tpa_train_params, weight_decay);
  FIELD(tpa_train_params, warmup_ratio);
  FIELD(tpa_train_params, max_grad_norm);
  FIELD(tpa_train_params, hidden_dropout);
  FIELD(tpa_train_params, attention_dropout);
  FIELD(tpa_train_params, seed);
  FIELD(tpa_train_params, shuffle);
  FIELD(tpa_train_params, max_seq_length);
  FIELD(tpa_train_params, checkpoint_dir);
  FIELD(tpa_train_params, save_every);
  FIELD(tpa_train_params, resume);
  FIELD(tpa_train_params, keep_best);
  FIELD(tpa_train_params, progress);
  FIELD(tpa_train_params, on_epoch);
  FIELD(tpa_train_params, log);
  FIELD(tpa_train_params, user);
  FIELD(tpa_train_params, on_step);
  FIELD(tpa_train_params, dist);
  FIELD(tpa_train_params, metric);

  STRUCT(tpa_train_result);
  FIELD(tpa_train_result, size);
  FIELD(tpa_train_result, epochs);
  FIELD(tpa_train_result, steps);
  FIELD(tpa_train_result, best_epoch);
  FIELD(tpa_train_result, best_metric);
  FIELD(tpa_train_result, final_train_loss);
  FIELD(tpa_train_result, seconds);
  FIELD(tpa_train_result, trainable_params);
  FIELD(tpa_train_result, examples);
  FIELD(tpa_train_result, tokens);
  FIELD(tpa_train_result, run_examples);
  FIELD(tpa_train_result, run_tokens);
  FIELD(tpa_train_result, run_seconds);
  FIELD(tpa_train_result, resumed_step);

  STRUCT(tpa_heatmap_params);
  FIELD(tpa_heatmap_params, size);
  FIELD(tpa_heatmap_params, task);
  FIELD(tpa_heatmap_params, plan);

  /* Enums the binding passes as c_int. */
  STRUCT(tpa_quantize_params);
  FIELD(tpa_quantize_params, size);
  FIELD(tpa_quantize_params, mode);
  FIELD(tpa_quantize_params, calibration);
  FIELD(tpa_quantize_params, max_examples);
  FIELD(tpa_quantize_params, max_seq_length);
  FIELD(tpa_quantize_params, log);
  FIELD(tpa_quantize_params, user);

  printf("enum.tpa_quant_mode %zu\n", sizeof(tpa_quant_mode));
  printf("enum.tpa_table_format %zu\n", sizeof(tpa_table_format));
  printf("enum.tpa_dataset_role %zu\n", sizeof(tpa_dataset_role));
  printf("enum.tpa_task %zu\n", sizeof(tpa_task));
  return 0;
}
