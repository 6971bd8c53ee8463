#!/bin/sh
# Install what scripts/check-image.sh builds and runs the images with, from Debian's packages (needs root):
# buildah (builds from the Dockerfiles without a daemon), podman (runs them), runc (podman's runtime here:
# crun refuses hybrid cgroup hierarchies), netavark and iptables (the published loopback port), debootstrap
# (the stand-in base image where no registry can be reached). Does nothing when they are all there.
set -eu

needed="buildah podman runc netavark iptables debootstrap"
missing=""
for package in $needed; do
    dpkg-query --show --showformat='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
        || missing="$missing $package"
done
if [ -z "$missing" ]; then
    echo "install-tools: $needed already installed"
    exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-tools: need root and apt-get to install:$missing" >&2
    exit 1
fi
echo "install-tools: apt-get install$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # one word per package
apt-get install -y -qq $missing >/dev/null
