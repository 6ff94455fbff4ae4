/* SPDX-License-Identifier: Apache-2.0 */
/* tokenizer.json model components against HF's tokenizers. */
#include "tj_tests.h"

Suite *tj_model_suite(void) {
  return suite_create("tj_model");
}
