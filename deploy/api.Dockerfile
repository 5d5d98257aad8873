# syntax=docker/dockerfile:1
# The coach API: `coach-api serve` on $PORT (Cloud Run's; 8000 by default), and, with
# another command, the same image's one-off jobs (`coach-api migrate`, `coach-api users
# grant`). Build from the repository root:
#   docker build -f deploy/api.Dockerfile -t coach-api .
# Only the `api` extra is installed (no Beam, no coremltools: bench/install_size.py
# measures the difference); torch is the CPU build, pinned exactly as everywhere.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
# The CPU-only wheels of torch (a plain `pip install torch` would bring the CUDA build).
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

# ---- The phone models (`coach export`): coremltools and onnx stay in this stage; the API
# image gets only their output, served by GET /v1/models/{ios,android}.
FROM ${PYTHON_IMAGE} AS phone-models
ARG TORCH_INDEX
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --no-deps --index-url ${TORCH_INDEX} torch==2.13.0
WORKDIR /src
COPY pyproject.toml setup.py README.md requirements.lock ./
COPY pose3d pose3d
COPY pose2d pose2d
COPY scoring scoring
COPY synthetic_data synthetic_data
COPY dataflow_jobs dataflow_jobs
COPY coach_api coach_api
COPY coach_client coach_client
COPY mobile_export mobile_export
COPY lab lab
COPY coach_cli coach_cli
COPY bench bench
COPY lifecycle lifecycle
RUN pip install -c requirements.lock '.[export]' \
    && coach export --format all --out /phone-models

# ---- The service.
FROM ${PYTHON_IMAGE} AS api
ARG TORCH_INDEX
# OpenCV and MediaPipe (server-side video) load OpenGL/EGL and GLib, absent from slim.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libgl1 libegl1 libgles2 libglib2.0-0 libstdc++6 \
    && rm -rf /var/lib/apt/lists/*
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONUNBUFFERED=1
# torch first, in its own layer: the largest download, unchanged by code changes. Its own
# dependencies come with the rest, under the lock.
RUN pip install --no-deps --index-url ${TORCH_INDEX} torch==2.13.0
WORKDIR /src
COPY pyproject.toml setup.py README.md requirements.lock ./
COPY pose3d pose3d
COPY pose2d pose2d
COPY scoring scoring
COPY synthetic_data synthetic_data
COPY dataflow_jobs dataflow_jobs
COPY coach_api coach_api
COPY coach_client coach_client
COPY mobile_export mobile_export
COPY lab lab
COPY coach_cli coach_cli
COPY bench bench
COPY lifecycle lifecycle
RUN pip install -c requirements.lock '.[api]' \
    && pip check \
    && coach-api pose-task --cache /tmp/wheels --out /opt/coach/models/pose_landmarker.task \
    && rm -rf /tmp/wheels /src
COPY --from=phone-models /phone-models /opt/coach/phone-models

# Not root. The data folder holds only what the settings leave local: with PostgreSQL,
# GCS and COACH_SECRET_KEY set (deploy/compose.yaml, docs/deploy.md) nothing lasting.
RUN useradd --create-home --uid 10001 coach
USER coach
WORKDIR /home/coach
ENV COACH_DATA_DIR=/home/coach/data \
    COACH_POSE_TASK=/opt/coach/models/pose_landmarker.task \
    COACH_ARTIFACTS_DIR=/opt/coach/phone-models
EXPOSE 8000
# Compose and plain Docker (Cloud Run ignores it and probes /v1/readyz itself).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('COACH_PORT') or os.environ.get('PORT') or '8000'; urllib.request.urlopen(f'http://127.0.0.1:{port}/v1/readyz', timeout=4)"]
# The port comes from COACH_PORT or PORT (coach-api serve reads both), default 8000.
CMD ["coach-api", "serve", "--host", "0.0.0.0"]
