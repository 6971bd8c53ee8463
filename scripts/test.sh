#!/usr/bin/env bash
# Install everything into ./.venv (CPU torch unless a torch is already there) and run the checks and tests.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
# shellcheck disable=SC1091
. "$VENV/bin/activate"

python -m pip install -q --upgrade pip
# The CPU build of torch first, so the extras below do not pull a multi-GB CUDA build; GPU users keep theirs.
python -c "import torch" 2>/dev/null || python -m pip install -q "torch==2.13.0"
python -m pip install -q -e '.[train,dev]'

echo "== ruff"; ruff check . && ruff format --check .
echo "== mypy"; mypy
echo "== image: build and run both images (buildah, podman)"
# As root on Debian (CI), install the builder first; elsewhere check-image.sh says what is missing and fails.
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then sh scripts/image/install-tools.sh; fi
sh scripts/check-image.sh
echo "== pytest"; python -m pytest -q -p no:cacheprovider "$@"
