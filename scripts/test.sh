#!/usr/bin/env bash
# Install everything into ./.venv (CPU torch unless a torch is already there) and run the checks and tests.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}

# System packages the tests use: Chromium and its driver for the pages' browser tests. Installed when we
# are root with apt (CI, containers); elsewhere the browser tests skip unless VREWARDS_REQUIRE_BROWSER=1.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
  export VREWARDS_REQUIRE_BROWSER=1
fi
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
# shellcheck disable=SC1091
. "$VENV/bin/activate"

python -m pip install -q --upgrade pip
# The CPU build of torch first, so the extras below do not pull a multi-GB CUDA build; GPU users keep theirs.
python -c "import torch" 2>/dev/null || python -m pip install -q "torch==2.13.0"
python -m pip install -q -e '.[train,dev,integrations]'
# The trainers whose reward-calling code tests/integrations runs; their own dependencies (DeepSpeed, vLLM, Ray)
# are not needed by that code, so they are left out.
python -m pip install -q --no-deps "openrlhf==0.11.2" "verl==0.9.1"

echo "== ruff"; ruff check . && ruff format --check .
echo "== mypy"; mypy
echo "== image install script + hadolint"; bash scripts/check-image.sh
# The code reward's sandbox (Debian's bubblewrap); its tests skip, saying why, where it cannot run.
if ! command -v bwrap >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else SUDO=none; fi
    if [ "$SUDO" != none ]; then
        $SUDO apt-get update -qq && $SUDO apt-get install -y -qq bubblewrap || echo "could not install bubblewrap"
    fi
fi
echo "== pytest"; python -m pytest -q -p no:cacheprovider "$@"
