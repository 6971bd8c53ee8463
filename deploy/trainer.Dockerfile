# The GRPO trainer that calls the reward service (used by docker-compose.yml and deploy/kubernetes.yaml).
# Same install script as the service image, plus the "train" extra (torch, transformers); PyPI's Linux
# torch wheels carry their own CUDA runtime, so a host with the NVIDIA container toolkit can give it a GPU.
#
#   docker build -f deploy/trainer.Dockerfile -t vrewards-trainer .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHON=python \
    VREWARDS_EXTRAS=train \
    HOME=/tmp \
    TMPDIR=/tmp

WORKDIR /src

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
