"""sla's timeline words in the reader's language: each shape sla says, and its own English
for a shape this console does not know."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from markupsafe import Markup

from csc_console import clock_timeline as ct
from csc_console import i18n


@pytest.fixture
def zh() -> Iterator[None]:
    token = i18n.use("zh_CN")
    yield
    i18n.reset(token)


def at(value: object) -> Markup:
    return Markup(f"<time>{value}</time>")


@pytest.mark.usefixtures("zh")
def test_the_segments_why_and_rule_in_chinese() -> None:
    assert ct.why("mon 08:00-12:00") == "工作时段 星期一 08:00-12:00"
    assert ct.why("holiday 2026-10-01") == "节假日 2026-10-01"
    assert ct.why("no working window on sun") == "星期日无工作时段"
    assert ct.why("make-up working day 2026-09-27, sun 08:00-17:30") == (
        "调休工作日 2026-09-27，08:00-17:30"
    )
    assert ct.why("out of working hours") == "非工作时间"
    assert ct.why("paused, customer_unreachable: on leave") == "已暂停：无法联系到顾客 · on leave"
    assert (
        ct.rule("calendar wuhan-plant-2 v2, policy v3")
        == "日历 wuhan-plant-2 第 2 版；时限政策第 3 版"
    )
    assert ct.rule("calendar default v1") == "日历 default 第 1 版"


@pytest.mark.usefixtures("zh")
def test_the_moments_rule_with_its_times_in_the_readers_zone() -> None:
    started = {
        "event": "started",
        "rule": "8 h business hours, clause 4.2.1 (calendar a v1, policy v2)",
    }
    assert (
        ct.moment(started, at)
        == "按工作时间计 8 小时，条款 4.2.1（日历 a 第 1 版；时限政策第 2 版）"
    )
    resumed = {"event": "resumed", "rule": "0.5 counted hours paused; due 2026-11-16T07:00:00Z"}
    assert ct.moment(resumed, at) == (
        "暂停扣除计时 0.5 小时；到期 <time>2026-11-16T07:00:00Z</time>"
    )
    # A shape it does not know: sla's English, its times still the reader's.
    odd = {"event": "warned", "rule": "75% of 8 h; marketing warned at 2026-11-16T07:00:00Z"}
    assert ct.moment(odd, at) == (
        "75% of 8 h; marketing warned at <time>2026-11-16T07:00:00Z</time>"
    )
    assert ct.why("a reason sla gives later") == "a reason sla gives later"
