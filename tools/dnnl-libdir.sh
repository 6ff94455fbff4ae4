#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# usage: dnnl-libdir.sh LIBDIR LINKDIR
# Prints the directory to link oneDNN from (meson.build runs this for
# -Ddnnl_dir). Normally that is LIBDIR itself. Some ways of copying a
# prefix (file-only copies, some archive tools) turn the symbolic links
# libdnnl.so -> libdnnl.so.3 -> libdnnl.so.3.8 into small text files that
# hold the link target; neither the linker nor the loader can use those.
# Then LINKDIR (in the build tree) gets real links to the library file and
# is printed instead.
set -eu
libdir=$1
linkdir=$2

is_elf() { [ "$(head -c 4 "$1" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; }

# The file a stub names, followed through further stubs (at most 8).
resolve() {
  f=$1
  n=0
  while [ -f "$libdir/$f" ] && ! [ -L "$libdir/$f" ] && ! is_elf "$libdir/$f" &&
    [ "$(wc -c < "$libdir/$f")" -lt 256 ]; do
    f=$(tr -d '\n' < "$libdir/$f")
    case $f in */*) echo "dnnl-libdir.sh: $libdir: link stub names $f" >&2; exit 1 ;; esac
    n=$((n + 1))
    [ $n -le 8 ] || { echo "dnnl-libdir.sh: $libdir/$1: link stubs loop" >&2; exit 1; }
  done
  [ -f "$libdir/$f" ] || { echo "dnnl-libdir.sh: $libdir/$1 names $f, which is missing" >&2; exit 1; }
  echo "$f"
}

if [ "$(resolve libdnnl.so)" = libdnnl.so ]; then
  echo "$libdir"
  exit 0
fi
mkdir -p "$linkdir"
for path in "$libdir"/libdnnl.so*; do
  name=${path##*/}
  ln -sfn "$libdir/$(resolve "$name")" "$linkdir/$name"
done
echo "$linkdir"
