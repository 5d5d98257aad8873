# syntax=docker/dockerfile:1
# The Beam jobs' image (`coach dataflow build-shards`, `coach dataflow generate-clips`):
# Dataflow's workers run it (--sdk_container_image), and the same image launches a job
# (`docker run --entrypoint coach IMAGE dataflow ...`, or a Cloud Build step), so the
# launcher and the workers have the same Beam, Python and project. Build from the
# repository root:
#   docker build -f deploy/batch.Dockerfile -t coach-batch .
# Based on Beam's own SDK image of the pinned version: its /opt/apache/beam/boot
# entrypoint is what Dataflow starts on each worker.

ARG BEAM_IMAGE=apache/beam_python3.11_sdk:2.77.0
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu

FROM ${BEAM_IMAGE}
ARG TORCH_INDEX
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# The core needs torch (pose3d); the CPU build, pinned exactly (never a loose torch).
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
# The lock pins the Beam the base image holds, and the rest to the tested set.
RUN pip install -c requirements.lock '.[batch]' \
    && pip check \
    && rm -rf /src
WORKDIR /
# Dataflow's workers start here; they need nothing else (no --setup_file).
ENTRYPOINT ["/opt/apache/beam/boot"]
