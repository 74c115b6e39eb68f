"""Evidence stores (4.4.3): content-addressed, idempotent, checked on every read.

The local store runs on the real file system. The S3 store runs against moto's
in-process S3: it checks our use of the S3 API (keys, checksums, a missing
object), not a bucket's durability.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from csc_capa.blobs import BlobCorrupted, BlobStore, LocalBlobStore, S3BlobStore, blob_store

PHOTO = b"\xff\xd8\xff\xe0" + b"crack at the gate " * 100
DIGEST = hashlib.sha256(PHOTO).hexdigest()


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3BlobStore]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-central-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        store = blob_store("s3://csc-evidence/capa", Path("/nonexistent"))
        assert isinstance(store, S3BlobStore)
        store.client.create_bucket(
            Bucket="csc-evidence",
            CreateBucketConfiguration={"LocationConstraint": "eu-central-1"},
        )
        yield store


@pytest.fixture
def local(tmp_path: Path) -> LocalBlobStore:
    store = blob_store("", tmp_path)
    assert isinstance(store, LocalBlobStore) and store.root == tmp_path / "capa-evidence"
    return store


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_bytes_come_back_under_their_hash_once_stored(
    kind: str, request: pytest.FixtureRequest
) -> None:
    store: BlobStore = request.getfixturevalue(kind)
    assert store.get(DIGEST) is None
    assert store.put(PHOTO) == DIGEST
    assert store.put(PHOTO) == DIGEST  # the same bytes again: the same object
    assert store.get(DIGEST) == PHOTO


def test_local_bytes_edited_on_disk_are_refused(local: LocalBlobStore) -> None:
    local.put(PHOTO)
    path = local.root / DIGEST[:2] / DIGEST[2:]
    path.write_bytes(PHOTO + b"!")
    with pytest.raises(BlobCorrupted, match=DIGEST):
        local.get(DIGEST)
    assert not list(local.root.rglob(".upload-*"))  # no temporary file left behind


def test_s3_objects_replaced_in_the_bucket_are_refused(s3: S3BlobStore) -> None:
    s3.put(PHOTO)
    s3.client.put_object(Bucket="csc-evidence", Key=f"capa/{DIGEST}", Body=b"other bytes")
    with pytest.raises(BlobCorrupted, match=DIGEST):
        s3.get(DIGEST)
