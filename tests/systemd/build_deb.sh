#!/usr/bin/env bash
# Builds the Debian package the container tests install, as a user would
# (`cpack -G DEB` in the build directory), into OUT_DIR, replacing what an
# earlier run left there. CTest runs it as the fixture systemd_deb.
# Usage: build_deb.sh BUILD_DIR OUT_DIR
set -euo pipefail
build=$(cd "${1:?build dir}" && pwd)
out=${2:?output dir}
rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
(cd "$build" && cpack -G DEB -B "$out/cpack" >"$out/cpack.log" 2>&1) ||
  { cat "$out/cpack.log" >&2; echo "FAIL: cpack -G DEB" >&2; exit 1; }
deb=$(ls "$out"/cpack/rtdemo_*.deb)
mv "$deb" "$out/"
rm -rf "$out/cpack"
echo "ok: $out/$(basename "$deb")"
