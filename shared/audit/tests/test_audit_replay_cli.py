"""``csc audit timeline | as-of | export | forms`` over an in-memory Kafka history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import csc_audit.replay_commands as commands
from csc_audit.bundle import verify_bundle
from csc_audit.cli import app
from csc_audit.history import ReadProgress
from csc_audit.testing import MemoryHistory, Story, tell_story
from csc_contracts import Topics
from csc_messaging.kafka_conn import KafkaConnection


@pytest.fixture
def story(monkeypatch: pytest.MonkeyPatch) -> Story:
    told = tell_story()

    def history(kafka: KafkaConnection, topics: Topics, progress: ReadProgress) -> MemoryHistory:
        raws = {s: list(t.records) for s, t in told.topics.items()}
        return MemoryHistory(kafka, topics, progress, raws=raws)

    monkeypatch.setattr(commands, "KafkaHistory", history)
    return told


def run(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_timeline_as_json_and_as_a_table(story: Story) -> None:
    data = json.loads(run("timeline", str(story.case), "--json").output)
    assert data["case_id"] == str(story.case)
    events = [(e["service"], e["event"]) for e in data["timeline"]]
    assert events[:3] == [
        ("intake", "ComplaintLogged"),
        ("intake", "EngineeringNotified"),
        ("returns", "ReturnCaseOpened"),
    ]
    paused = next(e for e in data["timeline"] if e["event"] == "ClockPaused")
    assert paused["actor"] == {"user": "li.wei", "department": "marketing"}
    assert paused["reason"] == "customer_unreachable; Line manager in a meeting"

    table = run("timeline", str(story.case), "--progress").output
    for words in ("ComplaintLogged", "ReturnConfirmedByQuality", "wang.fang (quality)",
                  "customer_unreachable", "moulding cracks, lot-wide"):  # fmt: skip
        assert words in table, words


def test_the_sla_timeline_needs_an_http_url_and_a_token(story: Story) -> None:
    runner = CliRunner()
    case = str(story.case)
    refused = runner.invoke(app, ["timeline", case, "--sla", "file:///etc/passwd", "--token", "t"])
    assert refused.exit_code == 2 and "http://" in refused.output
    untold = runner.invoke(app, ["timeline", case, "--sla", "http://127.0.0.1:9"], env={})
    assert untold.exit_code == 2 and "CSC_TOKEN" in untold.output
    # sla not there: said so, nothing printed as if it were the answer.
    gone = runner.invoke(app, ["timeline", case, "--sla", "http://127.0.0.1:9", "--token", "t"])
    assert gone.exit_code == 1 and "could not be read" in gone.output


def test_as_of_a_moment(story: Story) -> None:
    data = json.loads(
        run("as-of", str(story.case), "--at", "2026-11-24T02:59:59Z", "--json").output
    )
    services = data["services"]
    assert services["intake"]["stage"] == "ImportantInformationAcknowledged"
    assert services["returns"]["stage"] == "ReturnCaseOpened"
    assert services["sla"]["stage"] == "ClockResumed"
    assert "ReplySent" not in services["intake"]["history"]
    text = run("as-of", str(story.case), "--at", "2026-11-24T03:00:00+00:00").output
    assert "intake: ReplySent" in text and "Replacement units on their way" in text


def test_bad_arguments_are_refused() -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["timeline", "not-a-case"]).exit_code == 2
    naive = runner.invoke(app, ["as-of", "0" * 8 + "-0000-0000-0000-" + "0" * 12,
                                "--at", "2026-11-24T03:00:00"])  # fmt: skip
    assert naive.exit_code == 2 and "time zone" in naive.output
    assert runner.invoke(app, ["export"]).exit_code == 2
    assert runner.invoke(app, ["forms", "register"]).exit_code == 2
    assert runner.invoke(app, ["forms", "register", "--month", "2026-13"]).exit_code == 2


def test_export_and_forms_write_files(story: Story, tmp_path: Path) -> None:
    out = run("export", str(story.case), "--out", str(tmp_path / "case.zip"), "--json").output
    summary = json.loads(out)
    report = verify_bundle(tmp_path / "case.zip", expect_manifest_sha256=summary["manifest_sha256"])
    assert report.ok, report.problems
    month = run("export", "--month", "2026-11", "--out", str(tmp_path / "m.zip")).output
    assert "manifest sha256" in month and verify_bundle(tmp_path / "m.zip").ok

    written = run("forms", "register", "--month", "2026-11", "--out", str(tmp_path)).output
    assert "customer-information-register-2026-11.pdf" in written
    rows = json.loads((tmp_path / "customer-information-register-2026-11.json").read_text())
    assert rows[0]["case_id"] == str(story.case)
    run("forms", "field-service", "--engineer", "zhang.san", "--site", "Wuhan plant 2",
        "--date", "2026-11-24", "--out", str(tmp_path))  # fmt: skip
    name = "field-service-work-record-2026-11-24-Wuhan_plant_2-zhang.san"
    assert (tmp_path / f"{name}.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / f"{name}.xlsx").exists()
