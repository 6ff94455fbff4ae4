#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install the Debian packages libtpa builds and tests with. The names are
# the same on Debian 12 (oneDNN 2.6), Debian 13 (oneDNN 3.7) and Ubuntu
# 24.04 (oneDNN 3.1); libclang-rt-dev is the runtime of the default clang
# (its sanitizers), whatever its version. Skips apt entirely when
# everything is already there.
set -euo pipefail
pkgs=(gcc g++ clang clang-format meson ninja-build pkgconf binutils python3
      libdnnl-dev check libsubunit-dev libjansson-dev libutf8proc-dev libpcre2-dev zlib1g-dev doxygen
      abigail-tools libclang-rt-dev libomp-dev libopenmpi-dev openmpi-bin)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" > /tmp/libtpa-apt.log 2>&1 \
  || { cat /tmp/libtpa-apt.log; exit 1; }
