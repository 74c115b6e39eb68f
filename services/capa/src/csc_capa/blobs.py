"""Evidence bytes (4.4.3: the customer's samples photographed, photos, test reports), by content.

An attachment is stored under its SHA-256 before the event that names it is
recorded, so a crash between the two leaves at most an unreferenced blob,
never an event without its bytes; storing the same bytes twice is the same
write. Reading checks the hash again: what an auditor downloads is what was
received.

Two stores: a local directory (the default, beside the event store), and an
S3-compatible bucket (``CSC_EVIDENCE_STORE=s3://bucket/prefix``, endpoint and
credentials by the usual ``AWS_*`` variables or ``CSC_EVIDENCE_S3_ENDPOINT``).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol


class BlobCorrupted(Exception):
    """Stored bytes no longer match their hash."""


class BlobStore(Protocol):
    def put(self, data: bytes) -> str:
        """Store ``data``; return its SHA-256 (hex)."""

    def get(self, sha256: str) -> bytes | None:
        """The bytes of ``sha256``, checked; None when absent."""


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _checked(sha256: str, data: bytes) -> bytes:
    if sha256_of(data) != sha256:
        raise BlobCorrupted(f"evidence {sha256} does not match its hash")
    return data


class LocalBlobStore:
    """Files under ``root/ab/cdef…``, written to a temporary file and renamed into place."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:]

    def put(self, data: bytes) -> str:
        digest = sha256_of(data)
        path = self._path(digest)
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, sha256: str) -> bytes | None:
        path = self._path(sha256)
        if not path.exists():
            return None
        return _checked(sha256, path.read_bytes())


class S3BlobStore:
    """Objects ``prefix/sha256`` in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW ...)."""

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None) -> None:
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client: Any = boto3.client("s3", endpoint_url=endpoint_url)

    def _key(self, sha256: str) -> str:
        return f"{self.prefix}/{sha256}" if self.prefix else sha256

    def put(self, data: bytes) -> str:
        digest = sha256_of(data)
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._key(digest),
            Body=data,
            # The bucket checks the bytes it received, too.
            ChecksumAlgorithm="SHA256",
        )
        return digest

    def get(self, sha256: str) -> bytes | None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(sha256))
        except self.client.exceptions.NoSuchKey:
            return None
        return _checked(sha256, answer["Body"].read())


def blob_store(location: str, data_dir: Path, endpoint_url: str | None = None) -> BlobStore:
    """``s3://bucket/prefix`` or a directory; empty: ``<data dir>/capa-evidence``."""
    if location.startswith("s3://"):
        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        return S3BlobStore(bucket, prefix, endpoint_url)
    return LocalBlobStore(Path(location) if location else data_dir / "capa-evidence")
