"""Packaging shim for Dataflow workers (``--setup_file ./setup.py``); metadata is in
pyproject.toml."""

from setuptools import setup

setup()
