# syntax=docker/dockerfile:1
# A Google Cloud Storage emulator for deploy/compose.yaml: the package and version the
# tests use (pyproject's dev extra), so local runs store blobs as the suite does.
FROM python:3.11-slim-bookworm
RUN pip install --no-cache-dir --disable-pip-version-check gcp-storage-emulator==2026.7.19 \
    && useradd --uid 10001 emulator
USER emulator
EXPOSE 9023
# In memory: a local stand-in, emptied with the container.
CMD ["gcp-storage-emulator", "start", "--host", "0.0.0.0", "--port", "9023", "--in-memory", "--default-bucket", "coach-blobs"]
