# The reward service only: no torch, no trainer dependencies.
#
#   docker build -t vrewards .
#   docker run --rm -p 8000:8000 --read-only --tmpfs /tmp vrewards
#
# The process runs as an unprivileged user (uid 10001) and writes nothing outside /tmp, so the root
# filesystem can be mounted read-only. Settings come from VREWARDS_* environment variables (README).
# The code-execution reward runs programs under bubblewrap, which needs the container to be allowed to
# create user namespaces (README, "Container and deployment"); the other rewards need nothing of the kind.
#
# scripts/check-image.sh builds this image and runs it read-only as uid 10001 (CI does, with buildah and
# podman); where the base cannot be pulled it builds a stand-in for it from Debian's packages.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHON=python \
    HOME=/tmp \
    TMPDIR=/tmp

# bubblewrap: the sandbox of the code-execution reward.
# Not pinned: the suite's security updates replace the version, and a pinned one would stop installing.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# 1. Dependencies only: this layer is rebuilt only when pyproject.toml or the install script change.
COPY pyproject.toml ./
COPY scripts/install-service.sh scripts/
RUN sh scripts/install-service.sh deps .

# 2. The project, installed as a regular package; the build tree is removed afterwards.
COPY README.md ./
COPY rewards/ rewards/
COPY app/ app/
COPY trainer_client/ trainer_client/
# pip byte-compiles what it installs, so nothing is written at run time either.
RUN sh scripts/install-service.sh project . \
    && rm -rf /src \
    && groupadd --system --gid 10001 vrewards \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin vrewards

WORKDIR /tmp
USER 10001:10001
EXPOSE 8000

HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status == 200 else 1)"]

CMD ["vrewards", "serve", "--host", "0.0.0.0", "--port", "8000"]
