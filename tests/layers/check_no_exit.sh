#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# usage: check_no_exit.sh SOURCE_ROOT
# A library never ends the process: no C file of lib/ calls exit, _exit,
# _Exit, quick_exit, abort, assert, raise or MPI_Abort. Failures go back
# to the caller as a status (docs/design.md); only the `tpa` command
# decides to end a job. Prints "N passed, N failed".
set -u
cd "$1" || exit 2
# Comment lines (starting with /*, * or //) are prose, not calls.
found=$(grep -Hn -E '\<(exit|_exit|_Exit|quick_exit|abort|assert|raise|MPI_Abort)[[:space:]]*\(' \
  lib/*/*.c lib/*/*.h | grep -v -E '^[^:]+:[0-9]+:[[:space:]]*(/\*|\*|//)')
if [ -z "$found" ]; then
  echo "ok   nothing in lib/ ends the process"
  echo "1 passed, 0 failed"
  exit 0
fi
echo "FAIL lib/ ends the process here:"
echo "$found" | sed 's/^/     /'
echo "0 passed, 1 failed"
exit 1
