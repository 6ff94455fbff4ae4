#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install the Debian packages libtpa builds and tests with (Debian 12).
# Skips apt entirely when everything is already there.
set -euo pipefail
pkgs=(gcc g++ clang clang-format meson ninja-build pkg-config binutils python3
      libdnnl-dev check libsubunit-dev libjansson-dev libutf8proc-dev zlib1g-dev doxygen abigail-tools libclang-rt-14-dev libomp-dev libopenmpi-dev openmpi-bin)
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
