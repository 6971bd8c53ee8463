#!/bin/sh
# Without an image builder, the next best check of the service image (scripts/check-image.sh runs it then):
#   1. the image's install steps (scripts/install-service.sh deps, then project) into a fresh virtual
#      environment, from a copy of what the Dockerfile COPYs into the image;
#   2. a smoke test: `vrewards serve` from that environment, with HOME and TMPDIR in a scratch directory and
#      the working directory read-only, answers GET /health and POST /score on a free loopback port.
# It catches a broken dependency or install step, not a broken image.
#
# Usage: scripts/image/replay-install.sh   (about 1-3 minutes with a warm pip cache)
# Env:   PYTHON (default python3), KEEP_TMP=1 to keep the scratch directory.
set -eu

repo="$(cd "$(dirname "$0")/../.." && pwd)"
python="${PYTHON:-python3}"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/vrewards-image.XXXXXX")"
server_pid=""

cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    chmod -R u+w "$scratch" 2>/dev/null || true
    if [ "${KEEP_TMP:-0}" != "1" ]; then
        rm -rf "$scratch"
    fi
}
trap cleanup EXIT INT TERM

echo "== build context"
# What the Dockerfile COPYs, with what .dockerignore leaves out (caches, egg-info) left out here too.
context="$scratch/context"
mkdir -p "$context"
for needed in pyproject.toml README.md scripts/install-service.sh rewards app trainer_client; do
    if [ ! -e "$repo/$needed" ]; then
        echo "replay-install: $needed is missing, the image build would fail" >&2
        exit 1
    fi
done
(cd "$repo" && tar -cf - --exclude=__pycache__ --exclude='*.pyc' --exclude='*.egg-info' \
    pyproject.toml README.md scripts/install-service.sh rewards app trainer_client) | (cd "$context" && tar -xf -)

echo "== install into a fresh virtual environment"
"$python" -m venv "$scratch/venv"
venv_python="$scratch/venv/bin/python"
(cd "$context" && PIP_QUIET=1 PYTHON="$venv_python" sh scripts/install-service.sh deps .)
(cd "$context" && PIP_QUIET=1 PYTHON="$venv_python" sh scripts/install-service.sh project .)
if "$venv_python" -c "import torch" 2>/dev/null; then
    echo "replay-install: torch got installed into the service environment" >&2
    exit 1
fi

echo "== smoke test: vrewards serve answers /health"
port="$("$venv_python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
home="$scratch/home"
run_dir="$scratch/run"
mkdir -p "$home" "$run_dir"
chmod a-w "$run_dir"  # like the image: nothing may be written to the working directory
(
    cd "$run_dir"
    HOME="$home" TMPDIR="$home" PYTHONDONTWRITEBYTECODE=1 VREWARDS_WORKERS=1 \
        exec "$scratch/venv/bin/vrewards" serve --host 127.0.0.1 --port "$port"
) >"$scratch/server.log" 2>&1 &
server_pid=$!

if ! "$venv_python" - "$port" "$server_pid" <<'PY'
import json
import os
import sys
import time
import urllib.error
import urllib.request

port, pid = int(sys.argv[1]), int(sys.argv[2])
deadline = time.monotonic() + 90
while True:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("replay-install: the server exited before answering /health")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=3) as response:
            body = json.loads(response.read())
            if response.status == 200 and body.get("status") == "ok":
                print(f"/health: {body}")
                break
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
        pass
    if time.monotonic() > deadline:
        sys.exit("replay-install: /health did not answer 200 within 90 s")
    time.sleep(0.5)

request = urllib.request.Request(
    f"http://127.0.0.1:{port}/score",
    data=json.dumps({"items": [{"completion": "<think>2+2=4</think> \\boxed{4}", "answer": "4"}]}).encode(),
    headers={"Content-Type": "application/json"},
)
with urllib.request.urlopen(request, timeout=30) as response:
    result = json.loads(response.read())["results"][0]
if result["scores"].get("accuracy") != 1.0:
    sys.exit(f"replay-install: /score gave {result}")
print(f"/score: reward {result['reward']}")
PY
then
    echo "---- server log" >&2
    cat "$scratch/server.log" >&2
    exit 1
fi
kill "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=""
echo "replay-install: ok"
