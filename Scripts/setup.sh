#!/usr/bin/env bash
# Installs what a fresh machine lacks for building and testing dqc. Idempotent: does nothing
# when everything is present. Debian packages only; needs root (or sudo) for apt-get.
#
# The CUDA toolkit (nvcc, to compile the CUDA back end's generated launch code in the tests) is
# Debian's `nvidia-cuda-toolkit`, in the `contrib`/`non-free` components: they are added to the
# Debian apt source when missing. DQC_SKIP_CUDA=1 skips it (the CUDA compile tests then skip).
set -euo pipefail

packages=(pkg-config libprotobuf-c-dev libopenblas-dev)
[ "${DQC_SKIP_CUDA:-0}" = "1" ] || command -v nvcc >/dev/null || packages+=(nvidia-cuda-toolkit)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  if [[ " ${missing[*]} " == *" nvidia-cuda-toolkit "* ]]; then
    sources=/etc/apt/sources.list.d/debian.sources
    if [ -f "$sources" ] && ! grep -q "non-free" "$sources"; then
      "${sudo_cmd[@]}" sed -i 's/^Components: main$/Components: main contrib non-free non-free-firmware/' "$sources"
    elif [ -f /etc/apt/sources.list ] && ! grep -q "non-free" /etc/apt/sources.list; then
      "${sudo_cmd[@]}" sed -i -E 's/^(deb .*debian[^ ]* [a-z-]+) main$/\1 main contrib non-free non-free-firmware/' /etc/apt/sources.list
    fi
  fi
  "${sudo_cmd[@]}" apt-get update -qq
  plain=()
  for p in "${missing[@]}"; do [ "$p" = nvidia-cuda-toolkit ] || plain+=("$p"); done
  [ ${#plain[@]} -eq 0 ] || DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${plain[@]}"
  if [ ${#plain[@]} -lt ${#missing[@]} ]; then
    # The toolkit alone (its recommends would add drivers and GUIs).
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends nvidia-cuda-toolkit
  fi
fi

command -v swift >/dev/null || { echo "setup: swift is not on PATH (Swift 6 toolchain required)" >&2; exit 1; }
