/* SPDX-License-Identifier: Apache-2.0 */
/**
 * @file tpa/tpa.h
 * @brief Umbrella header: include this to use libtpa.
 *
 * References such as "docs/method.md section 5" in these headers point to
 * the description of what libtpa computes: docs/method.md in the source
 * tree, installed as DATADIR/doc/libtpa/method.md (Debian:
 * /usr/share/doc/libtpa-dev/method.md).
 */
#ifndef TPA_TPA_H
#define TPA_TPA_H

#include "tpa/common.h"
#include "tpa/model.h"
#include "tpa/tokenizer.h"
#include "tpa/data.h"
#include "tpa/infer.h"
#include "tpa/lora.h"
#include "tpa/train.h"
#include "tpa/importance.h"
#include "tpa/prune.h"
#include "tpa/quantize.h"
#include "tpa/dist.h"
#include "tpa/file.h"

#endif /* TPA_TPA_H */
