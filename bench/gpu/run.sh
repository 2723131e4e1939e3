#!/bin/sh
# The GPU check, run from an unpacked pack (bench/gpu/pack.ts) on a machine without network:
# installs nothing, brings its own Deno, onnxruntime-node library and Vulkan loader.
#
#   ./run.sh [--providers webgpu,cuda] [--out DIR] [--budget-s 420] [--batch 64]
#
# Writes DIR/results.json and DIR/gpu.md (default DIR: ./results) and prints the table.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE"
export DENO_DIR="$HERE/.deno-dir" DENO_NO_UPDATE_CHECK=1 ONNXRUNTIME_NODE_INSTALL=skip

# WebGPU (Dawn over Vulkan) needs libvulkan.so.1; unpack the carried Debian package if the
# machine has none (into the pack, not into /).
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then
  if ls vulkan/*.deb >/dev/null 2>&1; then
    mkdir -p vulkan/root
    for f in vulkan/*.deb; do
      if command -v dpkg >/dev/null 2>&1; then
        dpkg -x "$f" vulkan/root
      else
        (mkdir -p vulkan/x && cd vulkan/x && ar x "../../$f" && tar -xf data.tar.* -C ../root)
      fi
    done
    LD_LIBRARY_PATH="$HERE/vulkan/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export LD_LIBRARY_PATH
    echo "run.sh: using the carried Vulkan loader (vulkan/*.deb)" >&2
  else
    echo "run.sh: no Vulkan loader here and none carried: webgpu will be unavailable" >&2
  fi
fi
# NVIDIA's Vulkan driver description, where containers put it.
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] &&
  ! ls /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json >/dev/null 2>&1; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
# CUDA provider files, when the pack carries them (cuda/*.so): next to onnxruntime's library.
if ls cuda/*.so >/dev/null 2>&1; then
  cp cuda/*.so node_modules/onnxruntime-node/bin/napi-v6/linux/x64/
fi

exec ./deno run -A --cached-only --node-modules-dir=manual check.js --pack "$HERE" "$@"
