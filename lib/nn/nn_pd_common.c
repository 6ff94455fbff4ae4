/* SPDX-License-Identifier: Apache-2.0 */
/* What nn_pd_v2.c and nn_pd_v3.c share: calls whose form is the same in
 * oneDNN 2.x and 3.x. */
#include "nn/nn_pd.h"

dnnl_status_t tpa__pd_user_scratch_attr(dnnl_primitive_attr_t *attr) {
  dnnl_status_t st = dnnl_primitive_attr_create(attr);
  if (st == dnnl_success)
    st = dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user);
  return st;
}
