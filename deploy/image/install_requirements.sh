#!/bin/sh
# pip-install the servable's pinned requirements into `ovms-python`: torch from the CPU index
# (the default index's torch==X is a CUDA build with GBs of nvidia wheels), the distro's own
# packages left alone (--ignore-installed), then torchvision removed (optimum-intel pulls it;
# it breaks CPU torch: "operator torchvision::nms does not exist") and pip's cache dropped.
# The openvino, openvino-tokenizers and openvino-genai pins install too, but inside OVMS the
# copies bundled in /ovms/lib/python come first on PYTHONPATH: check_image.py checks those.
#   usage: install_requirements.sh requirements.txt
#   env: PYTHON (ovms-python), TORCH_INDEX_URL, CACHE_DIR (/root/.cache)
set -eu
req="${1:?usage: install_requirements.sh requirements.txt}"
py="${PYTHON:-ovms-python}"
index="${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sed -n 's/^torch==\([0-9][0-9.]*\)[[:space:]]*$/torch==\1+cpu/p' "$req" > "$work/cpu-torch.txt"
export PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
"$py" -m pip install --no-cache-dir --ignore-installed --extra-index-url "$index" \
    -r "$req" -c "$work/cpu-torch.txt"
"$py" -m pip uninstall -y torchvision || true
rm -rf "${CACHE_DIR:-/root/.cache}"
