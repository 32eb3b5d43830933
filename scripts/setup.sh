#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: a virtual environment with the project and its
# test tools, the Debian packages the tests need (with --test), and the web assets from
# npm, copied into the package (stations/web/static/vendor: package data, so a wheel built
# afterwards carries them). Each step is skipped when it is already done.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
WANT_TEST=0
for arg in "$@"; do [[ "$arg" == "--test" ]] && WANT_TEST=1; done

apt_install() {  # install Debian packages that are missing
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  echo "setup: installing Debian packages: ${missing[*]}"
  local SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if [[ ! -x .venv/bin/python ]]; then
  echo "setup: creating .venv"
  $PY -m venv .venv
fi
stamp=.venv/.stations-installed
want=$(cat setup.cfg pyproject.toml | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || "$(cat $stamp)" != "$want" ]]; then
  echo "setup: installing the project and its dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[test,planning]'
  echo "$want" > $stamp
fi

if [[ -f package.json ]]; then
  if [[ ! -d node_modules || package.json -nt node_modules || package-lock.json -nt node_modules ]]; then
    command -v npm >/dev/null || apt_install nodejs npm
    echo "setup: installing web assets from npm"
    npm ci --silent --no-audit --no-fund 2>/dev/null || npm install --silent --no-audit --no-fund
    touch node_modules
  fi
  .venv/bin/python scripts/vendor_assets.py
fi

if [[ $WANT_TEST -eq 1 && -f scripts/test-packages.txt ]]; then
  mapfile -t pkgs < <(grep -v '^#' scripts/test-packages.txt | grep -v '^$')
  apt_install "${pkgs[@]}"
fi
