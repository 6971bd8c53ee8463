#!/bin/sh
# Install the reward service (no torch) with the Python in $PYTHON (default: python3).
#
# This is the exact install the Dockerfile runs, split in two steps so that the image caches the
# dependency layer separately from the project:
#
#   install-service.sh deps    [PROJECT_DIR]   dependencies listed in pyproject.toml only
#   install-service.sh project [PROJECT_DIR]   the project itself, without touching the dependencies
#   install-service.sh all     [PROJECT_DIR]   both (what CI runs in a clean virtual environment)
#
# VREWARDS_EXTRAS (e.g. "train") adds optional dependency groups from pyproject.toml; the service
# image leaves it empty. pip's cache is used unless PIP_NO_CACHE_DIR is set (the image sets it).
set -eu

step="${1:-all}"
root="${2:-.}"
python="${PYTHON:-python3}"
extras="${VREWARDS_EXTRAS:-}"

if [ ! -f "$root/pyproject.toml" ]; then
    echo "install-service.sh: no pyproject.toml in $root" >&2
    exit 2
fi

install_deps() {
    # Read the dependency list with tomllib (Python 3.11+) so pyproject.toml stays the only source.
    requirements="$(mktemp)"
    "$python" - "$root/pyproject.toml" "$extras" > "$requirements" <<'PY'
import sys
import tomllib

with open(sys.argv[1], "rb") as handle:
    project = tomllib.load(handle)["project"]
wanted = list(project["dependencies"])
for extra in filter(None, sys.argv[2].split(",")):
    wanted += project["optional-dependencies"][extra.strip()]
print("\n".join(wanted))
PY
    "$python" -m pip install --disable-pip-version-check --requirement "$requirements"
    rm -f "$requirements"
}

install_project() {
    # A regular (non-editable) install: the sources can be deleted afterwards.
    "$python" -m pip install --disable-pip-version-check --no-deps "$root"
    # Check that the console script and the service import; fails the build early if not.
    "$python" -c "import app.main, rewards; print('vrewards installed')"
}

case "$step" in
    deps) install_deps ;;
    project) install_project ;;
    all)
        install_deps
        install_project
        ;;
    *)
        echo "usage: install-service.sh [deps|project|all] [PROJECT_DIR]" >&2
        exit 2
        ;;
esac
