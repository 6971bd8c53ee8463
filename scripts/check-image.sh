#!/bin/sh
# Build the real images from the real Dockerfiles and run them, without a Docker engine:
#   1. lint: hadolint on both Dockerfiles, shellcheck on the scripts the images and this check run;
#   2. base image: pulled when a registry answers, else a local stand-in built from Debian's packages
#      (scripts/image/standin-base.sh), tagged with the base image's name; the output says which;
#   3. the service image (Dockerfile) built with buildah, the build host's pip settings passed in
#      (scripts/image/pip_passthrough.py), then run with podman as docker-compose.yml runs it: read-only
#      root, /tmp a tmpfs, uid 10001, all capabilities dropped, no-new-privileges, the port published on
#      127.0.0.1 only; checked from outside (/health and the time to it, a /score batch of math, format and
#      language items, /get_reward: scripts/image/probe.py) and inside (the image's own HEALTHCHECK, the
#      process uid, the root filesystem refusing writes and /tmp taking them, bubblewrap installed);
#   4. the trainer image (deploy/trainer.Dockerfile) built the same way; `vrewards train --help`, then a
#      two-step `vrewards train` in the service container's network namespace, as the compose file wires
#      the two, at http://rewards:8000;
#   5. every container started is stopped and removed; the images stay in local storage (layer cache).
# Without buildah, podman and a runtime it runs the lint and scripts/image/replay-install.sh instead, and
# fails saying so; scripts/image/install-tools.sh installs them on Debian (CI does).
#
# The last line starts with "image ok:" or "image FAILED:" and the reason.
# Usage: sh scripts/check-image.sh   (as root; from scratch about 8 minutes on 2 shared cores, half of it the
#        trainer image; about 1 minute again with the layer cache and the stand-in base kept)
# Env:   PYTHON (default python3), HADOLINT, SHELLCHECK, BUILDAH, PODMAN (the commands to use),
#        KEEP_TMP=1 (keep the scratch directory with the logs),
#        OCI_RUNTIME (default runc when installed: crun refuses hybrid cgroup hierarchies).
set -eu

repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"
hadolint="${HADOLINT:-hadolint}"
shellcheck="${SHELLCHECK:-shellcheck}"
buildah="${BUILDAH:-buildah}"
podman_bin="${PODMAN:-podman}"
service_image="localhost/vrewards:latest"
trainer_image="localhost/vrewards-trainer:latest"
run_id="$$"
service_name="vrewards-check-$run_id"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/vrewards-image.XXXXXX")"
log="$scratch/log"
started_containers=""
check_began="$(date +%s)"

fail() {
    echo "image FAILED: $*"
    exit 1
}

show_log() {
    echo "---- last lines of $1" >&2
    tail -n "${2:-40}" "$1" >&2
}

cleanup() {
    for container in $started_containers; do
        command "$podman_bin" ${runtime_flag:+"$runtime_flag"} rm --force --time 5 "$container" >/dev/null 2>&1 || true
    done
    if [ "${KEEP_TMP:-0}" = "1" ]; then
        echo "scratch directory kept: $scratch" >&2
    else
        rm -rf "$scratch"
    fi
}
runtime_flag=""
trap cleanup EXIT
trap 'exit 130' INT TERM

seconds_since() {
    echo $(($(date +%s) - $1))
}

# ------------------------------------------------------------------------------------------------ lint
echo "== lint"
"$hadolint" "$repo/Dockerfile" "$repo/deploy/trainer.Dockerfile" || fail "hadolint found problems in a Dockerfile"
scripts="$repo/scripts/install-service.sh $repo/scripts/check-image.sh $repo/scripts/image/standin-base.sh \
$repo/scripts/image/replay-install.sh $repo/scripts/image/install-tools.sh"
if command -v "$shellcheck" >/dev/null 2>&1; then
    # shellcheck disable=SC2086 # the list is split on purpose
    "$shellcheck" $scripts || fail "shellcheck found problems in the image scripts"
else
    echo "shellcheck not installed: checking syntax only"
    for script in $scripts; do sh -n "$script" || fail "$script does not parse"; done
fi

# ------------------------------------------------------------------------------------------- builder
missing=""
for tool in "$buildah" "$podman_bin"; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -z "${OCI_RUNTIME:-}" ] && command -v runc >/dev/null 2>&1; then
    OCI_RUNTIME=runc
fi
if [ -n "${OCI_RUNTIME:-}" ]; then
    runtime_flag="--runtime=$OCI_RUNTIME"
elif ! command -v crun >/dev/null 2>&1; then
    missing="$missing runc"
fi
if [ -n "$missing" ]; then
    echo "== no image builder:$missing not installed; replaying the image's install steps instead"
    if sh "$repo/scripts/image/replay-install.sh"; then
        fail "no image builder here (${missing# } not installed): only the lint and the install replay ran" \
            "and passed; install them (scripts/image/install-tools.sh on Debian) to build and run the images"
    fi
    fail "no image builder here (${missing# } not installed), and the install replay failed (above)"
fi
if [ "$(id -u)" != "0" ]; then
    fail "buildah and podman are installed, but this check runs them as root and this is uid $(id -u)"
fi
podman() {
    command "$podman_bin" ${runtime_flag:+"$runtime_flag"} "$@"
}
# podman's default rlimits (1048576 open files and processes) can be above the hard limits of a host whose
# root lacks CAP_SYS_RESOURCE (as in our VMs), so ask for what the host allows.
nofile="$("$python" -c 'import resource; print(min(resource.getrlimit(resource.RLIMIT_NOFILE)[1] % 2**63, 65536))')"
limits="--ulimit nofile=$nofile:$nofile --ulimit nproc=4096:4096"

# -------------------------------------------------------------------------------------------- base
base_ref="$(sed -n 's/^FROM[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p' "$repo/Dockerfile" | head -n 1)"
trainer_base="$(sed -n 's/^FROM[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p' "$repo/deploy/trainer.Dockerfile" | head -n 1)"
[ "$base_ref" = "$trainer_base" ] || fail "the two Dockerfiles start FROM different images ($base_ref, $trainer_base)"
case "$base_ref" in
    */*/*) full_base="$base_ref" ;;
    */*) full_base="docker.io/$base_ref" ;;
    *) full_base="docker.io/library/$base_ref" ;;
esac
echo "== base image $full_base"
began="$(date +%s)"
if timeout 120 podman pull --quiet "$full_base" >"$log.pull" 2>&1; then
    base_note="base $full_base pulled"
    echo "pulled from the registry"
else
    echo "cannot pull it ($(tail -n 1 "$log.pull" | cut -c1-160))"
    echo "USING A LOCAL STAND-IN for $full_base, built from Debian's packages (scripts/image/standin-base.sh)"
    BUILDAH="$buildah" sh "$repo/scripts/image/standin-base.sh" "$full_base" || fail "could not build a stand-in for $full_base"
    base_note="base: a local stand-in for $full_base (no registry)"
fi
echo "base ready in $(seconds_since "$began") s"

# ------------------------------------------------------------------------------------------- build
# The build host's pip settings, under a directory mounted over the build's /tmp (HOME=/tmp there).
build_tmp="$scratch/build-tmp"
mkdir -p "$build_tmp"
chmod 1777 "$build_tmp"
"$python" -m pip config list >"$scratch/pip-config" 2>/dev/null || true
"$python" "$repo/scripts/image/pip_passthrough.py" "$build_tmp" <"$scratch/pip-config" >"$scratch/pip-mounts" \
    || fail "could not read the build host's pip settings"
set -- --volume "$build_tmp:/tmp"
while IFS= read -r mount; do
    set -- "$@" --volume "$mount"
done <"$scratch/pip-mounts"
echo "pip settings passed to the builds: $(grep -c . "$scratch/pip-mounts" || true) host paths mounted read-only"
sed 's/^/    /' "$build_tmp/.config/pip/pip.conf"

image_id() {
    podman image inspect --format '{{.Id}}' "$1" 2>/dev/null || true
}

build() {  # build IMAGE DOCKERFILE LOG, with the volume flags in "$@" of the caller
    image="$1"
    dockerfile="$2"
    build_log="$3"
    shift 3
    previous="$(image_id "$image")"
    "$buildah" bud --format docker --isolation chroot --layers --force-rm --pull=false "$@" \
        -f "$repo/$dockerfile" -t "$image" "$repo" >"$build_log" 2>&1 || return 1
    # The image this tag named before, now untagged: remove it unless something still uses it.
    if [ -n "$previous" ] && [ "$previous" != "$(image_id "$image")" ]; then
        podman rmi "$previous" >/dev/null 2>&1 || true
    fi
}

size_mb() {
    podman image inspect --format '{{.Size}}' "$1" | awk '{printf "%.0f", $1 / 1000000}'
}

echo "== build the service image from Dockerfile"
began="$(date +%s)"
build "$service_image" Dockerfile "$log.service-build" "$@" || {
    show_log "$log.service-build"
    fail "buildah could not build Dockerfile"
}
service_mb="$(size_mb "$service_image")"
echo "built $service_image in $(seconds_since "$began") s: $service_mb MB"

# shellcheck disable=SC2086 # $limits holds several flags
left_in_tmp="$(podman run --rm --network none --no-healthcheck $limits "$service_image" sh -c 'ls -A /tmp' 2>"$log.tmp-check")" \
    || { show_log "$log.tmp-check"; fail "the service image cannot run a shell command"; }
[ -z "$left_in_tmp" ] || fail "the build left files in the image's /tmp: $left_in_tmp"
image_user="$(podman image inspect --format '{{.Config.User}}' "$service_image")"
[ "$image_user" = "10001:10001" ] || fail "the service image's USER is '$image_user', not 10001:10001"
healthcheck="$(podman image inspect --format '{{.Config.Healthcheck.Test}}' "$service_image")"
case "$healthcheck" in
    "[CMD "*) echo "HEALTHCHECK in the image: $healthcheck" ;;
    *) fail "the service image has no HEALTHCHECK ($healthcheck)" ;;
esac

# --------------------------------------------------------------------------------------------- run
port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

echo "== run the service image: read-only root, tmpfs /tmp, uid 10001, 127.0.0.1:$port -> 8000"
run_flags="--read-only --tmpfs /tmp --user 10001:10001 --cap-drop ALL --security-opt no-new-privileges \
--add-host rewards:127.0.0.1 $limits --publish 127.0.0.1:$port:8000 --env VREWARDS_WORKERS=2"
echo "podman run --detach --name $service_name $run_flags $service_image"
started_at="$(date +%s.%N)"
# shellcheck disable=SC2086 # $run_flags holds several flags
podman run --detach --name "$service_name" $run_flags "$service_image" >"$log.run" 2>&1 || {
    show_log "$log.run"
    fail "podman could not start the service image"
}
started_containers="$service_name"

if ! "$python" "$repo/scripts/image/probe.py" wait-healthy "$port" "$started_at" | tee "$log.health"; then
    podman logs "$service_name" >"$log.service" 2>&1 || true
    show_log "$log.service"
    fail "the service container never answered /health on 127.0.0.1:$port"
fi
published="$(podman port "$service_name" 8000/tcp)"
[ "$published" = "127.0.0.1:$port" ] || fail "port 8000 is published on '$published', not on 127.0.0.1:$port only"
startup_s="$(sed -n 's/.* after \([0-9.]*\) s$/\1/p' "$log.health")"
"$python" "$repo/scripts/image/probe.py" score "$port" || fail "/score from outside the container"
"$python" "$repo/scripts/image/probe.py" get-reward "$port" || fail "/get_reward from outside the container"

echo "== inside the service container"
podman healthcheck run "$service_name" >"$log.healthcheck" 2>&1 || {
    show_log "$log.healthcheck"
    fail "the image's HEALTHCHECK command failed inside the container"
}
echo "HEALTHCHECK command: healthy"
[ "$(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$service_name")" = "true" ] \
    || fail "the service container's root filesystem is not read-only"
inside="$(podman exec "$service_name" python -c '
import os
def writes(path):
    try:
        with open(path, "w") as handle:
            handle.write("x")
    except OSError:
        return "refused"
    os.unlink(path)
    return "allowed"
uid = [line.split()[1] for line in open("/proc/1/status") if line.startswith("Uid:")][0]
root, tmp = writes("/usr/local/probe"), writes("/tmp/probe")
print(f"uid={uid} root={root} tmp={tmp}")
')" || fail "could not run python inside the service container"
echo "service process and files: $inside"
[ "$inside" = "uid=10001 root=refused tmp=allowed" ] \
    || fail "inside the container: $inside (want uid=10001 root=refused tmp=allowed)"
# Only that the code-execution reward's sandbox is installed; whether it can start in here is its own check.
bwrap_version="$(podman exec "$service_name" bwrap --version 2>&1)" \
    || fail "bubblewrap is not usable in the service image: $bwrap_version"
echo "sandbox tool in the image: $bwrap_version"

# -------------------------------------------------------------------------------------------- trainer
echo "== build the trainer image from deploy/trainer.Dockerfile"
began="$(date +%s)"
build "$trainer_image" deploy/trainer.Dockerfile "$log.trainer-build" "$@" || {
    show_log "$log.trainer-build"
    fail "buildah could not build deploy/trainer.Dockerfile"
}
trainer_mb="$(size_mb "$trainer_image")"
echo "built $trainer_image in $(seconds_since "$began") s: $trainer_mb MB"
# shellcheck disable=SC2086 # $limits holds several flags
podman run --rm --network none $limits "$trainer_image" python -c 'import torch; print("torch", torch.__version__)' \
    || fail "torch does not import in the trainer image"
# shellcheck disable=SC2086 # $limits holds several flags
podman run --rm --network none --read-only --tmpfs /tmp $limits "$trainer_image" vrewards train --help \
    >"$log.train-help" 2>&1 || {
    show_log "$log.train-help"
    fail "vrewards train --help failed in the trainer image"
}
grep -q -- "--reward-url" "$log.train-help" || fail "vrewards train --help did not print the trainer's options"
echo "vrewards train --help: ok"

echo "== two GRPO steps in the trainer image against the service container (shared network namespace)"
runs="$scratch/runs"
mkdir -p "$runs"
chown 10001:10001 "$runs"
began="$(date +%s)"
# The trainer joins the service container's network namespace, and with it its /etc/hosts, where
# `rewards` (the compose service name) is 127.0.0.1: the URL is the one docker-compose.yml gives it.
# shellcheck disable=SC2086 # $limits holds several flags
podman run --rm --name "vrewards-check-trainer-$run_id" --network "container:$service_name" \
    --read-only --tmpfs /tmp $limits --volume "$runs:/runs" \
    "$trainer_image" vrewards train --reward-url http://rewards:8000 --run-dir /runs/grpo \
    --model tiny --steps 2 --prompts-per-step 2 --num-generations 4 --max-completion-len 24 \
    --eval-every 0 --threads 2 >"$log.train" 2>&1 || {
    show_log "$log.train"
    fail "vrewards train in the trainer image did not finish two steps against the service container"
}
steps="$("$python" -c '
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
print(len({row["step"] for row in rows if row.get("reward_mean") is not None}))
' "$runs/grpo/metrics.jsonl" 2>/dev/null || echo 0)"
[ "$steps" -ge 2 ] || {
    show_log "$log.train"
    fail "the trainer wrote $steps step rows to metrics.jsonl, expected 2"
}
echo "vrewards train: 2 steps against http://rewards:8000 in $(seconds_since "$began") s"

# ------------------------------------------------------------------------------------------ clean up
echo "== stop and remove the service container"
podman stop --time 10 "$service_name" >/dev/null 2>&1 || fail "podman could not stop the service container"
podman rm "$service_name" >/dev/null 2>&1 || fail "podman could not remove the service container"
started_containers=""
if podman container exists "$service_name"; then
    fail "the service container is still there after podman rm"
fi

echo "image ok: service image $service_mb MB, healthy $startup_s s after start; /health, /score," \
    "/get_reward, HEALTHCHECK, uid 10001, read-only root; trainer image $trainer_mb MB ran 2 GRPO steps" \
    "against it; $base_note; $(seconds_since "$check_began") s"
