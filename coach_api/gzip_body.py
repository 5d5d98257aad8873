"""Decompressing a gzip request body as it arrives, never past a size limit.

A gzip body of 50 KB can hold 50 MB of zeros (and deflate's ratio goes past 1,000:1), so
the output is produced in slices and counted: the first byte past the limit stops it,
and at most the limit (plus one slice) is ever held. What a client declares is not
trusted: sizes are counted, not read from the gzip trailer.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

SLICE = 2**20  # bytes of output per step: the most one step decompresses at a time
GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer around the deflate stream
TRAILING = "data follows the end of the gzip stream (one gzip member is accepted)"


class GzipError(ValueError):
    """The body is not one well-formed gzip stream."""


class TooLarge(ValueError):
    """The decompressed body passes the limit."""


class BoundedGunzip:
    """Decompresses one gzip stream fed in pieces; at most ``max_bytes`` come out."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0  # bytes produced so far
        self._stream = zlib.decompressobj(GZIP_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decompressed bytes of the next piece ``data``, in slices of at most
        :data:`SLICE` bytes. Raises :class:`TooLarge` as soon as the output passes
        ``max_bytes``, :class:`GzipError` for data that is not gzip or follows its end."""
        while True:
            if self._stream.eof:
                if data:
                    raise GzipError(TRAILING)
                return
            room = self.max_bytes - self.size + 1  # one byte more tells "too large"
            step = min(SLICE, room)
            try:
                out = self._stream.decompress(data, step)
            except zlib.error as exc:
                raise GzipError(f"not valid gzip ({exc})") from None
            self.size += len(out)
            if self.size > self.max_bytes:
                raise TooLarge(f"decompressed, the body exceeds {self.max_bytes} bytes")
            if out:
                yield out
            if self._stream.unused_data:
                raise GzipError(TRAILING)
            data = self._stream.unconsumed_tail
            if not data and len(out) < step:  # input used up, and no output held back
                return

    def finish(self) -> None:
        """Check that the stream ended (a truncated body raises :class:`GzipError`)."""
        if not self._stream.eof:
            raise GzipError("the gzip stream is truncated")
