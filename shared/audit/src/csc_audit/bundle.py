"""Export bundles: a zip an auditor can check on its own, later, without Kafka or this system.

Layout::

    events/<service>.jsonl   the records, one JSON object a line, in each topic's order:
                             topic, partition, offset, key, ce_* headers, the event's
                             body, and the sha256 of the record's value as published
    forms/...                the rendered forms (PDF and XLSX)
    timeline.json            (a case's bundle) the case's timeline
    SHA256SUMS               every file's sha256, for ``sha256sum -c`` after unzipping
    manifest.json            what the bundle is of, where from, and every file's sha256,
                             size and (for JSON Lines) record count

``verify_bundle`` recomputes every hash and count, reads every event against
its contract and the bundle's scope, and refuses files the manifest does not
list. Whoever can rewrite the zip can rewrite the manifest too: the manifest's
own sha256, printed when the bundle is made, is what to keep elsewhere (in
the audit report) and pass back as ``expect_manifest_sha256``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from csc_audit.history import from_json, in_month

FORMAT = "csc-audit-bundle"
VERSION = 1
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
JSONL_MEDIA_TYPE = "application/x-ndjson"
MAX_PROBLEMS_PER_FILE = 20
_CHUNK = 1 << 20


# Writing -------------------------------------------------------------------------------------


class JsonLines:
    """Writes JSON objects one a line into the zip, hashing and counting as it goes."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._hash = hashlib.sha256()
        self.size = 0
        self.count = 0

    def write(self, obj: Mapping[str, Any]) -> None:
        line = json.dumps(obj, ensure_ascii=False, sort_keys=True).encode() + b"\n"
        self._raw.write(line)
        self._hash.update(line)
        self.size += len(line)
        self.count += 1

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


@dataclass(frozen=True)
class BundleSummary:
    path: Path
    manifest_sha256: str
    files: Sequence[Mapping[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {
            "bundle": str(self.path),
            "manifest_sha256": self.manifest_sha256,
            "files": [dict(f) for f in self.files],
        }


class BundleWriter:
    """A bundle being written; it appears at ``path`` only once complete."""

    def __init__(self, path: Path, scope: Mapping[str, Any]) -> None:
        self.path = path
        self.scope = dict(scope)
        self._partial = path.with_name(path.name + ".partial")
        self._zip = zipfile.ZipFile(self._partial, "w", compression=zipfile.ZIP_DEFLATED)
        self._files: list[dict[str, Any]] = []
        self._stamp = datetime.now(UTC).timetuple()[:6]

    def __enter__(self) -> BundleWriter:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        if kind is not None:
            self._zip.close()
            self._partial.unlink(missing_ok=True)

    @contextlib.contextmanager
    def jsonl(self, name: str) -> Iterator[JsonLines]:
        with self._zip.open(self._info(name), "w", force_zip64=True) as raw:
            writer = JsonLines(raw)
            yield writer
        self._files.append(
            {
                "path": name,
                "sha256": writer.sha256,
                "bytes": writer.size,
                "records": writer.count,
                "media_type": JSONL_MEDIA_TYPE,
            }
        )

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self._stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        return info

    def add(self, name: str, data: bytes, media_type: str) -> None:
        self._zip.writestr(self._info(name), data)
        self._files.append(
            {
                "path": name,
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
                "media_type": media_type,
            }
        )

    def close(self, generated_at: datetime, source: Mapping[str, Any]) -> BundleSummary:
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "scope": self.scope,
            "generated_at": generated_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "source": dict(source),
            "files": self._files,
        }
        manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=2).encode() + b"\n"
        manifest_sha256 = hashlib.sha256(manifest_bytes).hexdigest()
        sums = [f"{f['sha256']}  {f['path']}\n" for f in self._files]
        sums.append(f"{manifest_sha256}  {MANIFEST}\n")
        self._zip.writestr(self._info(SUMS), "".join(sums))
        self._zip.writestr(self._info(MANIFEST), manifest_bytes)
        self._zip.close()
        os.replace(self._partial, self.path)
        return BundleSummary(self.path, manifest_sha256, list(self._files))


# Checking ------------------------------------------------------------------------------------


@dataclass
class BundleReport:
    """What ``verify_bundle`` found: ``ok`` only when ``problems`` is empty."""

    path: str
    problems: list[str] = field(default_factory=list)
    files_checked: int = 0
    events: int = 0
    scope: Mapping[str, Any] = field(default_factory=dict)
    manifest_sha256: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "bundle": self.path,
            "ok": self.ok,
            "problems": list(self.problems),
            "files_checked": self.files_checked,
            "events": self.events,
            "scope": dict(self.scope),
            "manifest_sha256": self.manifest_sha256,
        }

    def lines(self) -> list[str]:
        verdict = "OK" if self.ok else f"NOT OK: {len(self.problems)} problem(s)"
        head = [
            f"{self.path}: {verdict}",
            f"  scope {json.dumps(dict(self.scope), sort_keys=True)}; {self.files_checked} "
            f"files, {self.events} events checked; manifest sha256 {self.manifest_sha256}",
        ]
        return head + [f"  - {p}" for p in self.problems]


def verify_bundle(path: Path | str, *, expect_manifest_sha256: str | None = None) -> BundleReport:
    """Checks a bundle on its own: every file's hash, size and count, every event's contract."""
    report = BundleReport(path=str(path))
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        report.problems.append(f"not a readable zip: {exc}")
        return report
    with archive:
        manifest = _manifest(archive, report)
        if manifest is None:
            return report
        if expect_manifest_sha256 and report.manifest_sha256 != expect_manifest_sha256.lower():
            report.problems.append(
                f"{MANIFEST}: sha256 {report.manifest_sha256}, expected {expect_manifest_sha256}"
            )
        report.scope = manifest.get("scope") or {}
        listed = {}
        for entry in manifest.get("files") or []:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("path"), str):
                report.problems.append(f"{MANIFEST}: a file entry without a path: {entry!r}")
                continue
            listed[entry["path"]] = entry
            _check_file(archive, entry, report)
        for name in archive.namelist():
            if name not in listed and name not in (MANIFEST, SUMS):
                report.problems.append(f"{name}: in the zip but not in the manifest")
        _check_sums(archive, listed, report)
    return report


def _manifest(archive: zipfile.ZipFile, report: BundleReport) -> dict[str, Any] | None:
    try:
        data = archive.read(MANIFEST)
    except KeyError:
        report.problems.append(f"no {MANIFEST}: not a {FORMAT}")
        return None
    except (zipfile.BadZipFile, OSError) as exc:
        report.problems.append(f"{MANIFEST}: damaged ({exc})")
        return None
    report.manifest_sha256 = hashlib.sha256(data).hexdigest()
    try:
        manifest = json.loads(data)
    except ValueError as exc:
        report.problems.append(f"{MANIFEST}: not JSON ({exc})")
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        report.problems.append(f"{MANIFEST}: not a {FORMAT} manifest")
        return None
    if not isinstance(manifest.get("version"), int) or manifest["version"] > VERSION:
        report.problems.append(f"{MANIFEST}: version {manifest.get('version')!r} is unknown")
        return None
    return manifest


def _check_file(archive: zipfile.ZipFile, entry: Mapping[str, Any], report: BundleReport) -> None:
    name = entry["path"]
    digest, size, records = hashlib.sha256(), 0, 0
    problems: list[str] = []
    jsonl = entry.get("media_type") == JSONL_MEDIA_TYPE
    try:
        with archive.open(name) as stream:
            if jsonl:
                for line in stream:
                    digest.update(line)
                    size += len(line)
                    records += 1
                    problem = _check_line(line, report.scope)
                    if problem:
                        problems.append(f"{name} line {records}: {problem}")
            else:
                while chunk := stream.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
    except KeyError:
        report.problems.append(f"{name}: listed in the manifest, missing from the zip")
        return
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        report.problems.append(f"{name}: damaged ({exc})")
        return
    report.files_checked += 1
    if jsonl:
        report.events += records
    if digest.hexdigest() != entry.get("sha256"):
        report.problems.append(
            f"{name}: sha256 {digest.hexdigest()} is not the manifest's {entry.get('sha256')}"
        )
    if size != entry.get("bytes"):
        report.problems.append(f"{name}: {size} bytes, the manifest says {entry.get('bytes')}")
    if jsonl and records != entry.get("records"):
        report.problems.append(
            f"{name}: {records} records, the manifest says {entry.get('records')}"
        )
    report.problems.extend(problems[:MAX_PROBLEMS_PER_FILE])
    if len(problems) > MAX_PROBLEMS_PER_FILE:
        report.problems.append(f"{name}: and {len(problems) - MAX_PROBLEMS_PER_FILE} more")


def _check_line(line: bytes, scope: Mapping[str, Any]) -> str | None:
    """Is this line a published event of the bundle's scope, readable by its contract?"""
    try:
        data = json.loads(line)
        record = from_json(data)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"not an event record ({exc})"
    if record.problem:
        return f"{record.ce_type}: {record.problem}"
    case = scope.get("case")
    if case is not None and record.case_id != case:
        return f"event of case {record.case_id}, the bundle is of case {case}"
    month = scope.get("month")
    if month is not None and not in_month(record.occurred_at, month):
        return f"event of {record.occurred_at}, the bundle is of {month}"
    return None


def _check_sums(
    archive: zipfile.ZipFile, listed: Mapping[str, Mapping[str, Any]], report: BundleReport
) -> None:
    try:
        text = archive.read(SUMS).decode("utf-8")
    except KeyError:
        report.problems.append(f"no {SUMS}")
        return
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError) as exc:
        report.problems.append(f"{SUMS}: damaged ({exc})")
        return
    sums = {}
    for line in text.splitlines():
        digest, _, name = line.partition("  ")
        sums[name] = digest
    expected = {name: entry.get("sha256") for name, entry in listed.items()}
    expected[MANIFEST] = report.manifest_sha256
    if sums != expected:
        differing = sorted(n for n in set(sums) | set(expected) if sums.get(n) != expected.get(n))
        report.problems.append(f"{SUMS} disagrees with the bundle for: {', '.join(differing)}")
