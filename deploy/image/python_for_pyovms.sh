#!/bin/sh
# Print the Python interpreter (e.g. "python3.12") that OVMS's pyovms.so was built for.
#
# pyovms.so carries no ABI tag in its file name, so ask what it links: its libpython3.X
# (NEEDED), else the cpython-3XY tag of the openvino bundled next to it, else the
# libpython the image installs (OVMS's release images install libpython3.12 on Ubuntu 24.04,
# python3.12-libs on UBI 9 since 2026.0), else the OS default.
#   usage: python_for_pyovms.sh ubuntu|redhat      env: OVMS_ROOT (default /ovms), LIB_DIRS
set -eu
base_os="${1:?usage: python_for_pyovms.sh ubuntu|redhat}"
root="${OVMS_ROOT:-/ovms}"
lib_dirs="${LIB_DIRS:-/usr/lib64 /usr/lib /usr/lib/x86_64-linux-gnu}"

found=""
for so in "$root"/lib/python/pyovms*.so; do
    [ -f "$so" ] || continue
    found="$(grep -ao 'libpython3\.[0-9][0-9]*' "$so" | head -n 1 | sed 's/^lib//')"
    [ -n "$found" ] && { echo "$found"; exit 0; }
done
for ext in "$root"/lib/python/openvino/_pyopenvino.cpython-3*.so \
           "$root"/lib/python/openvino/*/_pyopenvino.cpython-3*.so; do
    [ -f "$ext" ] || continue
    minor="$(echo "$ext" | sed -E 's/.*cpython-3([0-9]+).*/\1/')"
    echo "python3.$minor"; exit 0
done
for dir in $lib_dirs; do
    for lib in "$dir"/libpython3.*.so.1.0; do
        [ -f "$lib" ] || continue
        echo "$lib" | sed -E 's/.*lib(python3\.[0-9]+)\.so\.1\.0$/\1/'; exit 0
    done
done
case "$base_os" in
    redhat) echo "python3.12" ;;  # UBI 9's python3 is 3.9; OVMS 2026 embeds 3.12
    *) echo "python3" ;;
esac
