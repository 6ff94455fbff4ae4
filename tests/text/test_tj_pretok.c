/* SPDX-License-Identifier: Apache-2.0 */
/* tokenizer.json pretok components against HF's tokenizers. */
#include "tj_tests.h"

Suite *tj_pretok_suite(void) {
  return suite_create("tj_pretok");
}
