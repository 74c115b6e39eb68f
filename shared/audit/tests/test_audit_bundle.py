"""Export bundles: what they hold, and that any change to them is found on its own."""

from __future__ import annotations

import asyncio
import hashlib
import json
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from csc_audit.bundle import BundleSummary, verify_bundle
from csc_audit.cli import app
from csc_audit.export import export_case, export_month
from csc_audit.history import in_month
from csc_audit.testing import Story, tell_story

GENERATED = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
Change = Callable[[str, bytes], bytes | None]


@pytest.fixture
def story() -> Story:
    return tell_story()


@pytest.fixture
def case_bundle(story: Story, tmp_path: Path) -> BundleSummary:
    return asyncio.run(
        export_case(story.history(), str(story.case), tmp_path / "case.zip", GENERATED)
    )


def rewrite(src: Path, dst: Path, change: Change, add: dict[str, bytes] | None = None) -> Path:
    """A copy of the zip with some files changed (None: left out) or added."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w") as new:
        for name in old.namelist():
            data = change(name, old.read(name))
            if data is not None:
                new.writestr(name, data)
        for name, data in (add or {}).items():
            new.writestr(name, data)
    return dst


def test_a_case_bundle_holds_its_events_timeline_and_forms(
    case_bundle: BundleSummary, story: Story
) -> None:
    report = verify_bundle(case_bundle.path)
    assert report.ok, report.problems
    assert report.scope == {"case": str(story.case)}
    assert report.events == 10 + 4 + 3 + 4  # intake, returns, capa (one unknown type), sla
    assert report.manifest_sha256 == case_bundle.manifest_sha256
    with zipfile.ZipFile(case_bundle.path) as bundle:
        names = set(bundle.namelist())
        manifest = json.loads(bundle.read("manifest.json"))
        lines = bundle.read("events/returns.jsonl").decode().splitlines()
        sums = bundle.read("SHA256SUMS").decode()
    case = str(story.case)
    assert {
        "events/intake.jsonl",
        "timeline.json",
        f"forms/case-history-{case}.pdf",
        f"forms/case-history-{case}.xlsx",
        f"forms/register-{case}.pdf",
        f"forms/register-{case}.xlsx",
        f"forms/field-service-{case}.pdf",  # its on-site visit (4.2.2)
        "SHA256SUMS",
        "manifest.json",
    } <= names
    first = json.loads(lines[0])
    assert first["headers"]["ce_type"] == "csc.returns.ReturnCaseOpened.v1"
    assert first["event"]["case_id"] == case and first["key"] == case
    assert (first["topic"], first["offset"]) == ("audit-test.csc.returns.v1", 0)
    assert manifest["source"]["records_read"]["audit-test.csc.sla.v1"] == 5
    for entry in manifest["files"]:  # sha256sum -c would agree
        assert f"{entry['sha256']}  {entry['path']}\n" in sums
    assert hashlib.sha256(case_bundle.path.read_bytes()).hexdigest()  # a file, complete


def test_a_changed_event_is_found(case_bundle: BundleSummary, tmp_path: Path) -> None:
    def change_lot(name: str, data: bytes) -> bytes:
        return data.replace(b"L2026-11-07", b"L2026-11-08") if name.startswith("events/") else data

    tampered = rewrite(case_bundle.path, tmp_path / "lot.zip", change_lot)
    report = verify_bundle(tampered)
    assert not report.ok
    assert any(p.startswith("events/intake.jsonl: sha256") for p in report.problems)
    assert any(p.startswith("events/returns.jsonl: sha256") for p in report.problems)


def test_a_consistent_forgery_is_found_by_scope_contract_and_kept_digest(
    case_bundle: BundleSummary, story: Story, tmp_path: Path
) -> None:
    # A forger who rewrites the manifest and SHA256SUMS to match an edited file.
    with zipfile.ZipFile(case_bundle.path) as bundle:
        manifest = json.loads(bundle.read("manifest.json"))
        lines = bundle.read("events/sla.jsonl").splitlines(keepends=True)
    first = json.loads(lines[0])
    first["event"]["case_id"] = str(story.other)  # slip in another case's event
    second = json.loads(lines[1])
    second["event"]["paused_at"] = "after lunch"  # against the contract
    forged = (json.dumps(first) + "\n" + json.dumps(second) + "\n").encode() + b"".join(lines[2:])
    for entry in manifest["files"]:
        if entry["path"] == "events/sla.jsonl":
            entry.update(sha256=hashlib.sha256(forged).hexdigest(), bytes=len(forged))
    manifest_bytes = json.dumps(manifest).encode()
    sums = "".join(f"{f['sha256']}  {f['path']}\n" for f in manifest["files"])
    sums += f"{hashlib.sha256(manifest_bytes).hexdigest()}  manifest.json\n"
    replacements = {
        "events/sla.jsonl": forged,
        "manifest.json": manifest_bytes,
        "SHA256SUMS": sums.encode(),
    }
    tampered = rewrite(
        case_bundle.path, tmp_path / "forged.zip", lambda n, d: replacements.get(n, d)
    )
    report = verify_bundle(tampered)
    assert [p for p in report.problems if "sha256" in p] == []  # the hashes were redone
    assert any("line 1: event of case" in p for p in report.problems), report.problems
    assert any("line 2: csc.sla.ClockPaused.v1: does not match" in p for p in report.problems)
    kept = verify_bundle(tampered, expect_manifest_sha256=case_bundle.manifest_sha256)
    assert any(p.startswith("manifest.json: sha256") for p in kept.problems)


def test_missing_extra_and_broken_files_are_found(
    case_bundle: BundleSummary, tmp_path: Path
) -> None:
    def drop_timeline(name: str, data: bytes) -> bytes | None:
        return None if name == "timeline.json" else data

    report = verify_bundle(rewrite(case_bundle.path, tmp_path / "a.zip", drop_timeline,
                                   add={"forms/extra.pdf": b"%PDF-1.4"}))  # fmt: skip
    assert "timeline.json: listed in the manifest, missing from the zip" in report.problems
    assert "forms/extra.pdf: in the zip but not in the manifest" in report.problems

    def other_sums(name: str, data: bytes) -> bytes:
        return data.replace(data[:64], b"0" * 64) if name == "SHA256SUMS" else data

    sums = verify_bundle(rewrite(case_bundle.path, tmp_path / "b.zip", other_sums))
    assert sums.problems == ["SHA256SUMS disagrees with the bundle for: events/intake.jsonl"]
    (tmp_path / "junk.zip").write_bytes(b"not a zip at all")
    junk = verify_bundle(tmp_path / "junk.zip")
    assert not junk.ok and junk.problems[0].startswith("not a readable zip")
    no_manifest = rewrite(
        case_bundle.path, tmp_path / "c.zip", lambda n, d: None if n == "manifest.json" else d
    )
    assert verify_bundle(no_manifest).problems == ["no manifest.json: not a csc-audit-bundle"]


def test_a_month_bundle_holds_the_months_events_and_forms(story: Story, tmp_path: Path) -> None:
    summary = asyncio.run(export_month(story.history(), "2026-11", tmp_path / "m.zip", GENERATED))
    report = verify_bundle(summary.path)
    assert report.ok, report.problems
    november = [r for r in story.records() if in_month(r.occurred_at, "2026-11")]
    assert report.events == len(november) > 0
    assert len(november) < len(story.records())  # October's and December's are not in it
    with zipfile.ZipFile(summary.path) as bundle:
        names = bundle.namelist()
    assert "forms/customer-information-register-2026-11.pdf" in names
    assert "forms/field-service-work-record-2026-11.xlsx" in names


def test_verify_bundle_command_exits_1_on_any_problem(
    case_bundle: BundleSummary, tmp_path: Path
) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["verify-bundle", str(case_bundle.path)])
    assert ok.exit_code == 0, ok.output
    assert ": OK" in ok.output and case_bundle.manifest_sha256 in ok.output
    tampered = rewrite(case_bundle.path, tmp_path / "t.zip",
                       lambda n, d: d.replace(b"li.wei", b"li.wu"))  # fmt: skip
    bad = runner.invoke(app, ["verify-bundle", str(tampered), "--json"])
    assert bad.exit_code == 1
    assert json.loads(bad.output)["ok"] is False


def test_verify_with_bundle_checks_it_on_its_own(
    case_bundle: BundleSummary, tmp_path: Path
) -> None:
    runner = CliRunner()
    ok = runner.invoke(
        app,
        ["verify", "--bundle", str(case_bundle.path),
         "--expect-manifest-sha256", case_bundle.manifest_sha256],
    )  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert ": OK" in ok.output
    wrong = runner.invoke(
        app, ["verify", "--bundle", str(case_bundle.path), "--expect-manifest-sha256", "0" * 64]
    )
    assert wrong.exit_code == 1
    assert "manifest" in wrong.output
    mixed = runner.invoke(app, ["verify", "--bundle", str(case_bundle.path), "--kafka-only"])
    assert mixed.exit_code == 2
    assert "checked on its own" in mixed.output
