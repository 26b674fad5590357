#!/usr/bin/env bash
# Installs what CoopLedger needs and is missing: Debian packages (libzmq, protobuf-c, protoc) and the Python
# packages the interop tests use. Safe to run again; does nothing when all is there.
set -euo pipefail

# chromium and a CJK font: the wall chart's headless-browser test (Tests/CoopWebTests) and its screenshot.
apt_packages=(libzmq3-dev libprotobuf-c-dev libsodium-dev protobuf-c-compiler protobuf-compiler pkg-config python3 chromium
    fonts-wqy-microhei)
missing=()
for p in "${apt_packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    sudo_cmd=()
    [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
    echo "setup: error: the Swift toolchain (6.2 or later) is not on PATH; install it first" >&2
    exit 2
fi

if ! python3 -c 'import google.protobuf, zmq' >/dev/null 2>&1; then
    echo "setup: installing Python packages: protobuf pyzmq"
    if ! python3 -m pip --version >/dev/null 2>&1; then
        sudo_cmd=()
        [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
        DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq python3-pip >/dev/null
    fi
    python3 -m pip install --quiet --disable-pip-version-check protobuf pyzmq 2>/dev/null \
        || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages protobuf pyzmq
fi
