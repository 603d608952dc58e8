#!/bin/sh
# Install the Python that pyovms was built for, with pip, and expose it as `ovms-python`.
#
#   Ubuntu: apt python3-pip (24.04's python3 is the 3.12 OVMS embeds)
#   UBI:    microdnf (or dnf) pythonX.Y pythonX.Y-pip (UBI 9's python3 is 3.9, OVMS 2026
#           embeds 3.12: the python3.12 packages, not python3)
# No package caches are left. Fails, naming the interpreter, if it is not there afterwards.
#   usage: install_python.sh ubuntu|redhat
#   env: OVMS_ROOT (/ovms), BIN_DIR (/usr/local/bin), VAR_DIR (/var) - for tests on a fake layout
set -eu
base_os="${1:?usage: install_python.sh ubuntu|redhat}"
here="$(cd "$(dirname "$0")" && pwd)"
bin_dir="${BIN_DIR:-/usr/local/bin}"
var_dir="${VAR_DIR:-/var}"
case "$base_os" in ubuntu|redhat) ;; *) echo "BASE_OS must be ubuntu or redhat, not '$base_os'" >&2; exit 1 ;; esac

py="$(sh "$here/python_for_pyovms.sh" "$base_os")"
echo "pyovms is built for $py"
case "$base_os" in
    ubuntu)
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-pip
        apt-get clean
        rm -rf "$var_dir"/lib/apt/lists/* ;;
    redhat)
        if [ "$py" = "python3" ] || [ "$py" = "python3.9" ]; then pkgs="python3 python3-pip"
        else pkgs="$py $py-pip"; fi
        if command -v microdnf >/dev/null 2>&1; then
            microdnf install -y --nodocs --setopt=install_weak_deps=0 $pkgs
            microdnf clean all
        else
            dnf install -y --nodocs --setopt=install_weak_deps=False $pkgs
            dnf clean all
        fi
        rm -rf "$var_dir"/cache/dnf "$var_dir"/cache/yum ;;
esac
command -v "$py" >/dev/null 2>&1 || { echo "$py (the Python pyovms is built for) is not installed" >&2; exit 1; }
mkdir -p "$bin_dir"
ln -sf "$(command -v "$py")" "$bin_dir/ovms-python"
"$bin_dir/ovms-python" -m pip --version
