"""Blob storage for motion and models: a local folder by default, a GCS bucket by setting.

``COACH_GCS_BUCKET`` (with optional ``COACH_GCS_PREFIX``) switches to Google Cloud
Storage; ``STORAGE_EMULATOR_HOST`` points the client at an emulator (anonymous).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from pathlib import Path

from pose3d.archive import atomic_write

CHUNK_BYTES = 1 << 20  # what a ranged read hands on at a time: a video is never read whole


class LocalBlobs:
    """Blobs as files in one folder (written atomically), readable by this account only:
    they are people's motion and videos."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder.chmod(0o700)

    def put(self, name: str, data: bytes) -> None:
        atomic_write(self.folder / name, data, mode=0o600)

    def get(self, name: str) -> bytes:
        return (self.folder / name).read_bytes()

    def delete(self, name: str) -> None:
        (self.folder / name).unlink(missing_ok=True)

    def size(self, name: str) -> int:
        """The blob's length in bytes."""
        return (self.folder / name).stat().st_size

    def open_range(self, name: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``start`` to ``end`` (inclusive, as HTTP ranges count) in chunks of at most
        :data:`CHUNK_BYTES`. The file is opened at once, so a missing blob fails here."""
        file = (self.folder / name).open("rb")

        def chunks() -> Iterator[bytes]:
            with file:
                file.seek(start)
                left = end - start + 1
                while left > 0 and (chunk := file.read(min(left, CHUNK_BYTES))):
                    left -= len(chunk)
                    yield chunk

        return chunks()

    def names(self, starting: str = "") -> list[str]:
        """The blobs' names (those ``starting`` with a prefix, if given), sorted."""
        return sorted(
            p.name
            for p in self.folder.glob(f"{glob.escape(starting)}*")
            if p.is_file() and not p.name.startswith(".")
        )


class GcsBlobs:
    """Blobs as objects ``gs://bucket/prefix/name``."""

    def __init__(self, bucket: str, prefix: str = "") -> None:
        from google.cloud import storage

        client = (
            storage.Client.create_anonymous_client()
            if os.environ.get("STORAGE_EMULATOR_HOST")
            else storage.Client()
        )
        self.bucket = client.bucket(bucket)
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def put(self, name: str, data: bytes) -> None:
        self.bucket.blob(self.prefix + name).upload_from_string(data)

    def get(self, name: str) -> bytes:
        return self.bucket.blob(self.prefix + name).download_as_bytes()

    def delete(self, name: str) -> None:
        blob = self.bucket.blob(self.prefix + name)
        if blob.exists():
            blob.delete()

    def size(self, name: str) -> int:
        """The object's length in bytes (a metadata request); NotFound if it is gone."""
        blob = self.bucket.get_blob(self.prefix + name)
        if blob is None:
            raise FileNotFoundError(name)
        return blob.size

    def open_range(self, name: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``start`` to ``end`` (inclusive) in ranged downloads of at most
        :data:`CHUNK_BYTES`, each made when the previous one is handed on."""
        blob = self.bucket.blob(self.prefix + name)
        for first in range(start, end + 1, CHUNK_BYTES):
            yield blob.download_as_bytes(start=first, end=min(end, first + CHUNK_BYTES - 1))

    def names(self, starting: str = "") -> list[str]:
        """The blobs' names (those ``starting`` with a prefix, if given), sorted."""
        listed = self.bucket.list_blobs(prefix=self.prefix + starting)
        return sorted(b.name[len(self.prefix) :] for b in listed)
