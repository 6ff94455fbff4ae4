#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build the Debian packages (debian/, docs/packaging.md) from a clean copy
# of HEAD, check them with lintian, install them, build and run an example
# against the installed libtpa-dev, run the installed tpa, and remove the
# packages again (also on failure).
#   tools/ci-deb.sh           package build without the test suite (nocheck)
#   tools/ci-deb.sh --check   run the test suite in the package build too
#                             (needs ../shared/data beside this tree)
# Needs root or sudo (apt-get, dpkg). Uncommitted changes are not built.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
check=0
case "${1:-}" in
  "") ;;
  --check) check=1 ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
pkgs=(libtpa0 libtpa-dev tpa)
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
for p in "${pkgs[@]}"; do
  if installed "$p"; then
    echo "ci-deb: $p is already installed; remove it first (apt-get purge ${pkgs[*]})" >&2
    exit 1
  fi
done

tmp=$(mktemp -d)
did_install=0
trap 'echo "ci-deb: failed at line $LINENO" >&2' ERR
cleanup() {
  if [ "$did_install" = 1 ]; then
    echo "== removing ${pkgs[*]}"
    $SUDO apt-get purge -y -qq "${pkgs[@]}" > "$tmp/purge.log" 2>&1 || cat "$tmp/purge.log"
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

if [ "$check" = 1 ]; then
  profiles=() build_options="parallel=$(nproc)"
else
  profiles=(-Pnocheck) build_options="nocheck parallel=$(nproc)"
fi

echo "== packaging tools and Build-Depends"
tools=(build-essential dpkg-dev debhelper lintian)
need=0
for p in "${tools[@]}"; do installed "$p" || need=1; done
if [ "$need" = 0 ]; then
  dpkg-checkbuilddeps "${profiles[@]}" debian/control 2> /dev/null || need=1
fi
if [ "$need" = 1 ]; then
  { $SUDO apt-get update -qq \
      && $SUDO apt-get install -y -qq --no-install-recommends "${tools[@]}" \
      && $SUDO apt-get build-dep -y -qq --no-install-recommends "${profiles[@]}" ./
  } > "$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log"; exit 1; }
fi

echo "== debian/libtpa0.symbols against lib/libtpa.map (tools/gen-symbols.sh)"
tools/gen-symbols.sh --check

echo "== dpkg-buildpackage -b in a clean copy of HEAD (DEB_BUILD_OPTIONS=$build_options)"
src=$tmp/libtpa
mkdir "$src"
git archive --format=tar HEAD | tar -x -C "$src"
if [ "$check" = 1 ]; then
  # The tests read ../shared/data beside the source tree.
  [ -d "$repo/../shared/data" ] || { echo "ci-deb: --check needs $repo/../shared/data" >&2; exit 1; }
  ln -s "$(cd "$repo/../shared" && pwd)" "$tmp/shared"
  # Run as root, the nothing-lost test runs tpa as nobody: it must reach
  # the build tree (mktemp -d makes a 0700 directory).
  chmod 755 "$tmp"
fi
if ! (cd "$src" && DEB_BUILD_OPTIONS=$build_options dpkg-buildpackage -us -uc -b "${profiles[@]}") \
     > "$tmp/build.log" 2>&1; then
  cp "$tmp/build.log" /tmp/libtpa-deb-build.log
  tail -n 100 "$tmp/build.log"
  echo "ci-deb: build failed; whole log in /tmp/libtpa-deb-build.log" >&2
  exit 1
fi
grep -E '^dpkg-deb: building' "$tmp/build.log"
if [ "$check" = 1 ]; then
  grep -E '^(Ok|Fail|Skipped|Timeout): ' "$tmp/build.log" \
    || { echo "ci-deb: no test summary in the build log" >&2; exit 1; }
fi
debs=()
for p in "${pkgs[@]}"; do
  f=$(echo "$tmp/${p}"_*.deb)
  [ -f "$f" ] || { echo "ci-deb: no $p package built" >&2; exit 1; }
  debs+=("$f")
done

echo "== lintian (errors fail, warnings are listed)"
# TMPDIR: lintian leaves mldbm-* files in its temporary directory.
TMPDIR=$tmp lintian --fail-on error --tag-display-limit 0 "$tmp"/libtpa_*.changes

echo "== install ${pkgs[*]}"
did_install=1
$SUDO apt-get install -y -qq --no-install-recommends "${debs[@]}" > "$tmp/install.log" 2>&1 \
  || { cat "$tmp/install.log"; exit 1; }

echo "== examples/predict.c against the installed libtpa-dev (pkg-config)"
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -Werror "$src/examples/predict.c" $(pkg-config --cflags --libs libtpa) \
   -o "$tmp/predict"
ldd "$tmp/predict" | grep -E 'libtpa\.so\.0 => /(usr/)?lib/'
"$tmp/predict" "$src/tests/fixtures/tiny" sst2 "$src/examples/data/sst2-sample.tsv"
# Static, from the installed libtpa.a: the -dev package's dependencies
# must cover Libs.private and Requires.private.
static_libs=$(pkg-config --static --libs libtpa \
  | sed 's/\(^\| \)-ltpa\( \|$\)/\1-Wl,-Bstatic -ltpa -Wl,-Bdynamic\2/')
# shellcheck disable=SC2046,SC2086
cc -std=c99 -Wall -Wextra -Werror "$src/examples/predict.c" $(pkg-config --cflags libtpa) \
   $static_libs -o "$tmp/predict-static"
if ldd "$tmp/predict-static" | grep -q 'libtpa\.so'; then
  echo "ci-deb: predict-static still needs libtpa.so" >&2
  exit 1
fi
"$tmp/predict-static" "$src/tests/fixtures/tiny" sst2 "$src/examples/data/sst2-sample.tsv"

echo "== the installed tpa"
# Without the source tree, so that tpa run can only find the installed
# default model and task (/usr/share/libtpa/default).
rm -rf "$src"
if readelf -d /usr/bin/tpa | grep -E 'R(UN)?PATH'; then
  echo "ci-deb: /usr/bin/tpa has an rpath" >&2
  exit 1
fi
tpa --version
tpa run --out "$tmp/run" > "$tmp/run.log" 2>&1 || { cat "$tmp/run.log"; exit 1; }
if [ ! -f "$tmp/run/report.md" ] || [ ! -f "$tmp/run/model/config.json" ]; then
  cat "$tmp/run.log"
  echo "ci-deb: tpa run wrote no report.md or model/" >&2
  exit 1
fi
# shellcheck disable=SC2016  # the backquotes are report.md's markdown
grep -F 'Model `/usr/share/libtpa/default/model`' "$tmp/run/report.md" > /dev/null \
  || { head -n 5 "$tmp/run/report.md"; echo "ci-deb: tpa run did not use the installed default" >&2; exit 1; }
tail -n 1 "$tmp/run.log"
dpkg -L tpa | grep -qx /usr/share/man/man1/tpa.1.gz \
  || { echo "ci-deb: tpa ships no /usr/share/man/man1/tpa.1.gz" >&2; exit 1; }
if command -v man > /dev/null && [ -f /usr/share/man/man1/tpa.1.gz ]; then man -w tpa; fi
echo "ci-deb: OK in ${SECONDS}s"
