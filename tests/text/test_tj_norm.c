/* SPDX-License-Identifier: Apache-2.0 */
/* tokenizer.json norm components against HF's tokenizers. */
#include "tj_tests.h"

Suite *tj_norm_suite(void) {
  return suite_create("tj_norm");
}
