# The GRPO trainer that calls the reward service (used by docker-compose.yml and deploy/kubernetes.yaml).
# Same install script as the service image, plus the "train" extra (torch, transformers); PyPI's Linux
# torch wheels carry their own CUDA runtime, so a host with the NVIDIA container toolkit can give it a GPU.
#
#   docker build -f deploy/trainer.Dockerfile -t vrewards-trainer .
#   docker build -f deploy/trainer.Dockerfile --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu ...
#     (the CPU build of torch instead: about 200 MB instead of several GB)
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHON=python \
    VREWARDS_EXTRAS=train \
    HOME=/tmp \
    TMPDIR=/tmp

WORKDIR /src

# torch first, pinned (TORCH_VERSION) like scripts/test.sh, so that the extra's "torch>=2.1" is already met below. pip takes
# it from PyPI (the CUDA build), or from TORCH_INDEX_URL when given, or from a wheel directory in the build
# host's pip settings (scripts/check-image.sh passes those in: that is how CI takes the CPU build from its disk).
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=""
# hadolint ignore=DL3013
RUN python -m pip install ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} "torch==${TORCH_VERSION}"

COPY pyproject.toml ./
COPY scripts/install-service.sh scripts/
RUN sh scripts/install-service.sh deps .

COPY README.md ./
COPY rewards/ rewards/
COPY app/ app/
COPY trainer_client/ trainer_client/
RUN sh scripts/install-service.sh project . \
    && rm -rf /src \
    && groupadd --system --gid 10001 trainer \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin trainer

# Checkpoints and curves go to the mounted volume.
WORKDIR /runs
USER 10001:10001

CMD ["vrewards", "train", "--help"]
