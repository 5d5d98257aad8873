"""Packaging shim for Dataflow workers (``--setup_file ./setup.py``); metadata is in
pyproject.toml. Workers installing from it get the core dependencies only (Beam's worker
image has Beam and google-cloud-storage); the batch image (deploy/batch.Dockerfile,
``--sdk_container_image``) has everything installed instead."""

from setuptools import setup

setup()
