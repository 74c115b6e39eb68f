"""The returns pages' foundations: forms offered as returns' permissions say, ids as typed."""

from __future__ import annotations

from typing import Any

from csc_console import actions, returns_pages, vocab


def test_the_returns_forms_are_offered_to_whom_returns_lets_record_them() -> None:
    from csc_returns.permissions import WRITES

    for name, (_, action, _, _) in returns_pages.FORMS.items():
        assert actions.MAY[action] == WRITES[action][0], (name, action)
    assert {action for _, action, _, _ in returns_pages.FORMS.values()} == set(WRITES)


def test_every_disposition_and_status_of_returns_has_its_words() -> None:
    from csc_contracts import Disposition
    from csc_returns.domain import STATUSES

    assert set(vocab.DISPOSITIONS) == {d.value for d in Disposition}
    assert set(vocab.RETURN_STATUS) == set(STATUSES)


def test_unit_and_sample_ids_are_read_as_typed_with_any_separator() -> None:
    assert returns_pages.ids("S-1, S-2，S-3、S-4\nS-5  S-6") == [f"S-{n}" for n in range(1, 7)]
    assert returns_pages.ids("  ") == []


def test_the_review_boards_lines_leave_out_empty_ones_and_pass_bad_counts_on() -> None:
    values = {"decision-rework": "300", "decision-scrap": "", "decision-repair": "0"}
    values |= {"decision-use_as_is": "fifty"}
    assert returns_pages._decision(values) == [
        {"disposition": "rework", "quantity": 300},
        {"disposition": "use_as_is", "quantity": "fifty"},
    ]


def test_the_stepper_stops_after_a_rejection_and_names_the_current_step() -> None:
    by = {"user": "wang.fang", "department": "quality"}
    case: dict[str, Any] = {
        "status": "awaiting_quality",
        "request": {"quantity": 500, "at": "2026-12-01T00:00:00+00:00", "by": by},
        "quality": {"requested": {"at": "2026-12-01T00:00:00+00:00", "by": by}, "decision": None},
    }
    states = [s["state"] for s in returns_pages.whole_batch_steps(case)]
    assert states == ["done", "done", "current", "later", "later", "later", "later"]
    case["quality"]["decision"] = {"confirmed": False, "reason": "no defect", "by": by}
    states = [s["state"] for s in returns_pages.whole_batch_steps(case)]
    assert states == ["done", "done", "done", "stopped", "stopped", "stopped", "stopped"]
