#!/usr/bin/env bash
# Install everything into ./.venv (CPU torch unless a torch is already there) and run the checks and tests.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

# System packages, from Debian's archive when we are root with apt (CI, containers): bubblewrap (the code
# reward's sandbox), Chromium and its driver (the pages' browser tests), and the image builder and runtime
# (buildah, podman, runc, debootstrap). Elsewhere the sandbox and browser tests skip, saying why, and the
# image check says what is missing.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  missing=""
  for tool in bwrap:bubblewrap chromium:chromium chromedriver:chromium-driver; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || missing="$missing ${tool##*:}"
  done
  if [ -n "$missing" ]; then
    apt-get update -qq
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  fi
  export VREWARDS_REQUIRE_BROWSER=1 VREWARDS_REQUIRE_SANDBOX=1
  sh scripts/image/install-tools.sh
fi

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
echo "== image: build and run both images (buildah, podman)"
if command -v buildah >/dev/null 2>&1 && command -v podman >/dev/null 2>&1; then
  sh scripts/check-image.sh
else
  # Lint and install replay still run; without a builder the check cannot pass, and says why.
  sh scripts/check-image.sh || echo "(the image was not built here: no builder; CI builds and runs it)"
fi
echo "== pytest"; python -m pytest -q -p no:cacheprovider "$@"
