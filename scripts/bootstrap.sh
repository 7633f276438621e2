#!/usr/bin/env bash
# Installs the Debian packages ModelGate needs to build and test, when missing.
# Safe to run repeatedly; it only calls apt-get when something is absent.
set -euo pipefail

packages=(
    libprotobuf-c-dev protobuf-c-compiler protobuf-compiler   # protobuf-c runtime and generators
    libcurl4-openssl-dev                                      # upstream HTTP client
    golang-go golang-google-protobuf-dev protoc-gen-go        # Go client, offline
)

# Debian's own python3 needs python3-venv for the client tests' virtual environment.
if [ "$(command -v python3)" = /usr/bin/python3 ]; then packages+=(python3-venv); fi

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "bootstrap: installing ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

command -v swift >/dev/null 2>&1 || { echo "bootstrap: swift is not on PATH (install Swift 6.3)" >&2; exit 1; }
command -v python3 >/dev/null 2>&1 || { echo "bootstrap: python3 is missing" >&2; exit 1; }
