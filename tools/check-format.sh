#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fail if any tracked C file differs from what .clang-format makes of it.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
while IFS= read -r f; do
  if ! clang-format --dry-run --Werror "$f" > /dev/null 2>&1; then echo "needs clang-format: $f"; bad=1; fi
done < <(git ls-files '*.c' '*.h')
exit $bad
