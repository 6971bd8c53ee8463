#!/bin/sh
# Build a local stand-in for an official Python base image (python:X.Y-slim-<debian suite>) from Debian's
# packages, for machines that cannot pull from a registry, and tag it with the base image's name.
#
#   scripts/image/standin-base.sh docker.io/library/python:3.11-slim-bookworm
#
# What it keeps of the real image, which is all the Dockerfiles rely on: Debian <suite> with apt and its
# sources, CA certificates, the same Python minor version, `python`, `python3` and `pip` in /usr/local/bin,
# site-packages in /usr/local/lib/pythonX.Y, groupadd/useradd, PATH and LANG. Python itself is Debian's
# (from /usr/bin, with /usr/local a virtual environment over it) instead of one built from source.
# The image is labelled org.vrewards.stand-in=<hash of this script>; an image of that name and label in
# local storage is reused instead of built again. Needs root, debootstrap and buildah.
# Env: DEBIAN_MIRROR (default http://deb.debian.org/debian), BUILDAH (default buildah).
set -eu
buildah="${BUILDAH:-buildah}"

base_ref="${1:?usage: standin-base.sh IMAGE_REF (e.g. docker.io/library/python:3.11-slim-bookworm)}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
here="$(cd "$(dirname "$0")" && pwd)"
stamp="$(sha256sum "$here/standin-base.sh" | cut -c1-16)"

# python:3.11-slim-bookworm -> Python 3.11, Debian bookworm (the suite defaults to bookworm).
tag="${base_ref##*:}"
minor="$(printf '%s' "$tag" | sed -n 's/^\([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p')"
suite="$(printf '%s' "$tag" | sed -n 's/.*-slim-\([a-z][a-z]*\)$/\1/p')"
suite="${suite:-bookworm}"
if [ -z "$minor" ]; then
    echo "standin-base.sh: cannot read a Python version from the tag of $base_ref" >&2
    exit 2
fi

label="$("$buildah" inspect --type image --format '{{index .Docker.Config.Labels "org.vrewards.stand-in"}}' "$base_ref" 2>/dev/null || true)"
if [ "$label" = "$stamp" ]; then
    echo "stand-in for $base_ref: reusing the one in local storage (built by this same script)"
    exit 0
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/vrewards-standin.XXXXXX")"
trap 'rm -rf "$work"' EXIT INT TERM
rootfs="$work/rootfs"

echo "stand-in for $base_ref: debootstrap $suite (minbase) with python3, python3-venv, ca-certificates"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 20 "$work/debootstrap.log" >&2
    echo "standin-base.sh: debootstrap failed" >&2
    exit 1
}

have="$(chroot "$rootfs" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [ "$have" != "$minor" ]; then
    echo "standin-base.sh: Debian $suite has Python $have, $base_ref needs $minor" >&2
    exit 1
fi

# /usr/local as a virtual environment: python, pip and console scripts in /usr/local/bin, packages in
# /usr/local/lib/pythonX.Y/site-packages, and Debian's own Python left untouched (PEP 668).
chroot "$rootfs" sh -eu -c '
    python3 -m venv /usr/local
    rm -f /usr/local/bin/activate /usr/local/bin/activate.* /usr/local/bin/Activate.ps1
    apt-get clean
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log /var/log/apt/*
'

tar -C "$rootfs" --numeric-owner -cf "$work/rootfs.tar" .
cat >"$work/Containerfile" <<EOF
FROM scratch
ADD rootfs.tar /
LABEL org.vrewards.stand-in="$stamp" \\
      org.opencontainers.image.description="Local stand-in for $base_ref: Debian $suite packages, Python $minor"
ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \\
    LANG=C.UTF-8
CMD ["python3"]
EOF
"$buildah" bud --quiet --format docker --isolation chroot -f "$work/Containerfile" -t "$base_ref" "$work" >/dev/null
echo "stand-in for $base_ref built: Python $have from Debian $suite"
