"""Upload and download model artifacts and summaries with google-cloud-storage.

``STORAGE_EMULATOR_HOST`` (e.g. ``http://127.0.0.1:9023``) points the client at a local
emulator, with anonymous credentials; otherwise Application Default Credentials are
used.
"""

from __future__ import annotations

import os
from pathlib import Path

from google.cloud import storage


def split_url(url: str) -> tuple[str, str]:
    """``gs://bucket/a/b`` -> ``("bucket", "a/b")``; ``ValueError`` for other URLs."""
    if not url.startswith("gs://") or len(url) <= 5:
        raise ValueError(f"not a gs:// URL: {url!r}")
    bucket, _, blob = url[5:].partition("/")
    return bucket, blob


def client() -> storage.Client:
    if os.environ.get("STORAGE_EMULATOR_HOST"):
        return storage.Client.create_anonymous_client()
    return storage.Client()


def upload(local: str | Path, url: str) -> str:
    """Copy a local file to ``gs://bucket/blob``; returns the URL."""
    bucket, blob = split_url(url)
    client().bucket(bucket).blob(blob).upload_from_filename(str(local))
    return url


def download(url: str, local: str | Path) -> Path:
    """Copy ``gs://bucket/blob`` to a local file; returns its path."""
    bucket, blob = split_url(url)
    local = Path(local)
    local.parent.mkdir(parents=True, exist_ok=True)
    client().bucket(bucket).blob(blob).download_to_filename(str(local))
    return local
