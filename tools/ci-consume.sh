#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install libtpa into a temporary root and build + run an example against
# it through pkg-config only, as a user of the installed library would.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
meson install -C "$build" --destdir "$root" --quiet
pcdir=$(dirname "$(find "$root" -name libtpa.pc | head -n1)")
export PKG_CONFIG_PATH=$pcdir
prefix=$(pkg-config --variable=prefix libtpa)
# Point the .pc's prefix at the temporary root it was installed under.
pc() { pkg-config --define-variable=prefix="$root$prefix" "$@" libtpa; }
cflags=$(pc --cflags)
libs=$(pc --libs)
# shellcheck disable=SC2086
cc -std=c99 -Wall -Wextra -Werror examples/predict.c $cflags $libs -o "$root/predict"
libdir=$(pc --variable=libdir)
LD_LIBRARY_PATH=$libdir "$root/predict" tests/fixtures/tiny sst2 examples/data/sst2-sample.tsv
# Static: what a user does with the .pc and the installed libtpa.a. The
# linker prefers libtpa.so, so ask for the archive around -ltpa only; the
# dependencies (Libs.private, Requires.private) stay shared.
static_libs=$(pc --static --libs | sed 's/\(^\| \)-ltpa\( \|$\)/\1-Wl,-Bstatic -ltpa -Wl,-Bdynamic\2/')
[ -f "$libdir/libtpa.a" ] || { echo "libtpa.a not installed in $libdir" >&2; exit 1; }
# shellcheck disable=SC2086
cc -std=c99 -Wall -Wextra -Werror examples/predict.c $cflags $static_libs -o "$root/predict-static"
if ldd "$root/predict-static" | grep -q 'libtpa\.so'; then
  echo "predict-static still needs libtpa.so" >&2
  exit 1
fi
"$root/predict-static" tests/fixtures/tiny sst2 examples/data/sst2-sample.tsv
# The staged pipeline on the installed default model and task, then
# inference with the merged model it exported.
default=$root$prefix/share/libtpa/default
[ -f "$default/model/config.json" ] || { echo "default model not installed in $default" >&2; exit 1; }
for ex in pipeline infer_merged; do
  # shellcheck disable=SC2086
  cc -std=c99 -Wall -Wextra -Werror examples/$ex.c $cflags $libs -o "$root/$ex"
done
LD_LIBRARY_PATH=$libdir "$root/pipeline" "$default/model" "$default/task" "$root/pipeline-out"
LD_LIBRARY_PATH=$libdir "$root/infer_merged" "$root/pipeline-out/model" sst2 "$default/task/dev.tsv"
# The same dev file read as a table of one's own (no task), labelled by class id.
# shellcheck disable=SC2086
cc -std=c99 -Wall -Wextra -Werror examples/classify_table.c $cflags $libs -lm -o "$root/classify_table"
LD_LIBRARY_PATH=$libdir "$root/classify_table" "$root/pipeline-out/model" "$default/task/dev.tsv" \
  | tail -n 1 | grep -q '^accuracy '
# The same pipeline from a C++ program written against the installed headers.
# shellcheck disable=SC2086
c++ -std=c++17 -Wall -Wextra -Werror -pedantic examples/pipeline.cpp $cflags $libs -o "$root/pipeline-cxx"
LD_LIBRARY_PATH=$libdir "$root/pipeline-cxx" "$default/model" "$default/task" "$root/pipeline-cxx-out"
echo "installed-consumer examples: OK"
