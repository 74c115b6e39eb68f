"""The console's foundations: vendored code as recorded, every string translated, words."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from csc_console import display, i18n, refusals, vocab
from csc_console.kit import local_time, whole_number
from csc_console.services import FieldProblem, Problem
from csc_console.settings import ConsoleSettings
from csc_console.web import create_app
from csc_contracts import EVENT_TYPES

PACKAGE = Path(i18n.__file__).parent
SERVICE = PACKAGE.parents[1]


def test_every_vendored_file_is_the_one_recorded_and_htmx_is_2_0() -> None:
    recorded = json.loads((PACKAGE / "static/vendor/vendor.json").read_text())["files"]
    names = {f["file"] for f in recorded}
    on_disk = {p.name for p in (PACKAGE / "static/vendor").glob("*.js")}
    assert on_disk == names, "every vendored script is recorded, and only those"
    for f in recorded:
        data = (PACKAGE / "static/vendor" / f["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"], f["file"]
    htmx = next(f for f in recorded if f["package"] == "htmx.org")
    assert htmx["version"].startswith("2.0.")


def _extracted() -> set[str]:
    method_map = [
        ("src/csc_console/**.py", "python"),
        ("src/csc_console/templates/**.html", "jinja2"),
    ]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "translated": (2,)}
    found = set()
    for _, _, message, _, _ in extract_from_dir(
        str(SERVICE),
        method_map,
        options_map={"src/csc_console/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        keywords=keywords,
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_string_has_a_zh_cn_translation_neither_empty_nor_fuzzy() -> None:
    po = PACKAGE / "locale/zh_CN/LC_MESSAGES/messages.po"
    with po.open("rb") as f:
        catalog = read_po(f)
    # A plural entry is named by its singular and is done when every form is.
    translated = {
        m.id if isinstance(m.id, str) else m.id[0]: m.string
        for m in catalog
        if m.id and m.string and all(m.string) and not m.fuzzy
    }
    missing = sorted(_extracted() - set(translated))
    assert not missing, f"untranslated in zh_CN (pybabel extract/update, README): {missing}"
    fuzzy = sorted(str(m.id) for m in catalog if m.id and (m.fuzzy or not m.string))
    assert not fuzzy, f"empty or fuzzy zh_CN entries: {fuzzy}"


def test_every_public_event_has_a_name_in_the_procedures_words() -> None:
    names = {t.split(".")[2] for t in EVENT_TYPES}
    assert names - set(vocab.EVENTS) == set()


def test_the_language_follows_the_browser_and_defaults_to_the_sites() -> None:
    assert i18n.negotiate("zh-CN,zh;q=0.9,en;q=0.8") == "zh_CN"
    assert i18n.negotiate("en-GB,en;q=0.9") == "en"
    assert i18n.negotiate("de-DE, fr;q=0.5") == "zh_CN"
    assert i18n.negotiate(None) == "zh_CN"
    assert i18n.negotiate("fr;q=1, en;q=0.5, zh;q=0") == "en"


def test_a_clock_badge_says_in_words_what_its_colour_shows() -> None:
    now = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    clock = {"status": "running", "due_at": (now + timedelta(hours=3, minutes=20)).isoformat()}
    token = i18n.use("en")
    try:
        assert display.badge(clock, now, "Asia/Shanghai", "Asia/Shanghai").text == (
            "due in 3 h 20 min"
        )
        late = {**clock, "due_at": (now - timedelta(minutes=40)).isoformat()}
        b = display.badge(late, now, "Asia/Shanghai", "Asia/Shanghai")
        assert (b.state, b.text) == ("breached", "overdue by 40 min")
        paused = {**clock, "status": "paused", "pauses": [{"reason": "customer away"}]}
        assert display.badge(paused, now, "UTC", "UTC").text == "paused: customer away"
        met = {**clock, "status": "met", "met_at": now.isoformat(), "within_target": True}
        assert display.badge(met, now, "UTC", "UTC").state == "met"
        # 4.6: a follow-up closed the entry; past its due time it is not "overdue".
        stop = {"at": now.isoformat(), "month": "2026-10", "by": {"user": "zhang.min"}}
        stopped = {**late, "status": "stopped", "stop": stop}
        b = display.badge(stopped, now, "UTC", "UTC")
        assert (b.state, b.text, b.live) == ("stopped", "stopped: entry closed", False)
        assert "follow-up of 2026-10" in b.tooltip
        assert display.ICONS["stopped"]
    finally:
        i18n.reset(token)
    token = i18n.use("zh_CN")
    try:
        assert display.badge(clock, now, "UTC", "UTC").text == "剩余 3 小时 20 分钟"
        assert display.badge(stopped, now, "UTC", "UTC").text == "已停止：条目已关闭"
    finally:
        i18n.reset(token)


def test_times_are_the_viewers_with_the_sites_beside_where_they_differ() -> None:
    at = "2026-11-20T16:30:00+00:00"
    token = i18n.use("en")
    try:
        same = display.when(at, "Asia/Shanghai", "Asia/Shanghai").striptags()
        assert same == "2026-11-21 00:30"
        apart = display.when(at, "Europe/Berlin", "Asia/Shanghai").striptags()
        assert apart == "2026-11-20 17:30 (Asia/Shanghai 2026-11-21 00:30)"
    finally:
        i18n.reset(token)


def _app() -> TestClient:
    settings = ConsoleSettings(
        auth_hs256_secret="x" * 40,
        console_local_users={"li.wei": "marketing"},
        kafka_bootstrap_servers="127.0.0.1:1",
    )
    return TestClient(create_app(settings))


def test_the_session_cookie_is_httponly_and_lax_and_forms_need_the_csrf_token() -> None:
    client = _app()  # no lifespan: Kafka is not needed for these pages
    page = client.get("/sign-in", headers={"accept-language": "en"})
    assert page.status_code == 200 and 'name="csrf"' in page.text
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert client.post("/sign-in", data={"user": "li.wei"}).status_code == 403
    assert client.get("/", follow_redirects=False).headers["location"] == "/sign-in"


def test_the_static_files_are_served_from_the_console() -> None:
    client = _app()
    assert client.get("/static/vendor/htmx-2.0.11.min.js").status_code == 200
    assert client.get("/static/console.js").status_code == 200


def test_a_browsers_local_time_is_read_in_the_viewers_zone() -> None:
    # datetime-local carries no zone: the viewer's (told at sign-in) is the one meant.
    assert local_time("2026-03-01T09:30:15", "Asia/Shanghai") == "2026-03-01T09:30:15+08:00"
    assert local_time("2026-07-01T09:30", "Europe/Berlin") == "2026-07-01T09:30:00+02:00"
    assert local_time("2026-03-01T09:30:00+00:00", "Asia/Shanghai") == "2026-03-01T09:30:00+00:00"
    assert local_time("", "Asia/Shanghai") is None and local_time(None, "UTC") is None
    # What is no time goes on as typed: the service names the field it cannot read.
    assert local_time("yesterday", "Asia/Shanghai") == "yesterday"


def test_the_clock_forms_are_offered_to_whom_sla_lets_pause_with_its_reasons_in_words() -> None:
    from typing import get_args

    from csc_console import actions
    from csc_sla.answers import PauseReason
    from csc_sla.entrypoints.http import MAY_PAUSE

    assert actions.MAY["pause_clock"] == actions.MAY["resume_clock"] == MAY_PAUSE
    assert set(vocab.PAUSE_REASONS) == set(get_args(PauseReason))
    token = i18n.use("en")
    try:
        now = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
        pause = {"reason": "customer_unreachable", "note": "phone off"}
        paused = {"status": "paused", "due_at": now.isoformat(), "pauses": [pause]}
        assert display.badge(paused, now, "UTC", "UTC").text == (
            "paused: the customer cannot be reached · phone off"
        )
    finally:
        i18n.reset(token)


def test_the_intake_case_forms_are_offered_to_whom_intake_lets_write_them() -> None:
    from csc_console import actions
    from csc_contracts.intake import RemedialMeasure
    from csc_intake.permissions import WRITES

    for action in (
        "report_important",
        "acknowledge_important",
        "send_reply",
        "require_on_site",
        "complete_visit",
        "determine_misuse",
        "dispatch_technician",
        "assess_quality_impact",
        "record_follow_up",
        "register_customer",
        "log_complaint",
    ):
        assert actions.MAY[action] == WRITES[action][0], action
    assert set(vocab.REMEDIAL_MEASURES) == {m.value for m in RemedialMeasure}


def test_a_follow_up_is_for_an_entry_of_a_past_month_in_utc() -> None:
    # 4.6: at the start of a month, last month's feedback; intake reads months in UTC.
    start = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
    assert display.follow_up_due("2026-11", start)
    assert display.follow_up_due("2025-12", start)
    assert not display.follow_up_due("2026-12", start)
    # Already December in Shanghai, still November in UTC: November's entries wait.
    shanghai_morning = datetime(2026, 12, 1, 7, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert not display.follow_up_due("2026-11", shanghai_morning)
    assert not display.follow_up_due(None, start)


def test_a_forms_count_is_a_number_and_anything_else_goes_on_as_typed() -> None:
    assert whole_number(" 12 ") == 12 and whole_number("0") == 0
    assert whole_number("") == "" and whole_number(None) == ""
    assert whole_number("2.5") == "2.5" and whole_number("many") == "many"


def test_a_refusals_times_are_shown_in_the_viewers_zone_to_the_second() -> None:
    said = (
        "4.1.3: 2026-12-03T03:48:49+00:00 is before the customer's message arrived "
        "(2026-12-03T04:48:49.250000+00:00)"
    )
    token = i18n.use("en")
    try:
        assert display.local_times(said, "Europe/Berlin", "Asia/Shanghai") == (
            "4.1.3: 2026-12-03 04:48:49 is before the customer's message arrived "
            "(2026-12-03 05:48:49)"
        )
        assert display.local_times("departed_at lies before arrived_at", "UTC", "UTC") == (
            "departed_at lies before arrived_at"
        )
        assert display.local_times(None, "UTC", "UTC") == ""
    finally:
        i18n.reset(token)


def test_the_field_service_and_survey_forms_are_offered_to_whom_intake_lets_record() -> None:
    from csc_console import actions
    from csc_intake.commands import FieldServiceDetails
    from csc_intake.permissions import WRITES

    for action in ("record_field_service", "record_visit", "record_survey"):
        assert actions.MAY[action] == WRITES[action][0], action
    # Every detail of a day (att. 2) has a field of the form and a name on the record page.
    assert set(vocab.FIELD_SERVICE_FIELDS) == set(FieldServiceDetails.model_fields)


def test_a_records_time_is_shown_in_its_amendment_form_in_the_viewers_zone() -> None:
    from csc_console.kit import local_input

    assert local_input("2026-03-01T01:30:15+00:00", "Asia/Shanghai") == "2026-03-01T09:30:15"
    assert local_time(local_input("2026-07-01T07:30:00Z", "Europe/Berlin"), "Europe/Berlin") == (
        "2026-07-01T09:30:00+02:00"
    )
    assert local_input(None, "UTC") == "" and local_input("", "UTC") == ""


def test_each_amendment_says_what_it_changed_against_what_followed_it() -> None:
    from csc_console.web import amendment_changes

    first = {"units_loaded": [{"model": "Tiggo 7", "quantity": 12}], "problems": "seals torn"}
    second = {**first, "units_loaded": [{"model": "Tiggo 7", "quantity": 14}]}
    record = {**second, "problems": "seals torn at fitting", "amendments": [
        {"reason": "recount", "before": first}, {"reason": "wording", "before": second},
    ]}  # fmt: skip
    (one, changed_one), (two, changed_two) = amendment_changes(record)
    assert two["reason"] == "wording"
    assert one["reason"] == "recount" and [c[0] for c in changed_one] == ["units_loaded"]
    assert changed_one[0][2] == [{"model": "Tiggo 7", "quantity": 14}]
    assert changed_two == [("problems", "seals torn", "seals torn at fitting")]


def test_a_page_of_a_list_gives_the_cursor_of_the_next() -> None:
    import asyncio

    import httpx

    from csc_console.services import Services

    def answer(request: httpx.Request) -> httpx.Response:
        if "cursor" in request.url.params:
            return httpx.Response(200, json=[{"n": 2}])
        link = '</field-service-records?limit=1&cursor=abc%3D>; rel="next"'
        return httpx.Response(200, json=[{"n": 1}], headers={"link": link})

    services = Services(ConsoleSettings(), transport=httpx.MockTransport(answer))

    async def pages() -> tuple[object, object]:
        first = await services.get_page("intake", "/field-service-records", "t", {"limit": 1})
        last = await services.get_page("intake", "/field-service-records", "t", {"cursor": "abc="})
        await services.aclose()
        return first, last

    first, last = asyncio.run(pages())
    assert first == ([{"n": 1}], "abc=") and last == ([{"n": 2}], None)


def test_within_one_request_a_read_is_asked_once_and_a_write_forgets_the_reads() -> None:
    import asyncio

    import httpx

    from csc_console.services import Services, reading_once

    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(f"{request.method} {request.url.path}?{request.url.query.decode()}")
        return httpx.Response(200, json=[{"n": len(asked)}])

    services = Services(ConsoleSettings(), transport=httpx.MockTransport(answer))
    query = {"status": ["running", "warned"], "limit": 100}
    same_query = {"limit": 100, "status": ["running", "warned"]}

    async def one_request() -> list[object]:
        with reading_once():
            first, again, other_user = await asyncio.gather(
                services.get("sla", "/clocks", "token-a", query),
                services.get("sla", "/clocks", "token-a", same_query),
                services.get("sla", "/clocks", "token-b", query),
            )
            page = await services.get_page("sla", "/clocks", "token-a", query)
            await services.post("sla", "/clocks/x/pause", "token-a", {}, "key-1")
            after_write = await services.get("sla", "/clocks", "token-a", query)
        return [first, again, other_user, page[0], after_write]

    async def outside() -> list[object]:
        found = [await services.get("sla", "/clocks", "token-a", query) for _ in range(2)]
        await services.aclose()
        return found

    first, again, other_user, page, after_write = asyncio.run(one_request())
    assert first == again == page  # one read, three askers
    assert other_user != first  # another user's token is another read
    assert after_write != first  # the write may have changed it: asked again
    assert [a.split("?")[0] for a in asked] == [
        "GET /clocks", "GET /clocks", "POST /clocks/x/pause", "GET /clocks",
    ]  # fmt: skip
    asked.clear()
    one, two = asyncio.run(outside())
    assert one != two and len(asked) == 2  # outside a request, nothing is kept


def test_the_capa_forms_are_offered_to_whom_capa_lets_record_them() -> None:
    from csc_capa.permissions import WRITES
    from csc_console import actions

    for action, (departments, _) in WRITES.items():
        assert actions.MAY[f"capa_{action}"] == departments, action


def test_a_capa_actions_due_date_is_a_badge_in_words_overdue_ones_marked() -> None:
    from datetime import date

    from csc_console.capa_pages import due_badge

    today = date(2026, 12, 3)
    token = i18n.use("en")
    try:
        late = due_badge({"status": "open", "due": "2026-11-30", "overdue": True}, today)
        assert (late["state"], late["text"]) == ("breached", "overdue by 3 d")
        soon = due_badge({"status": "open", "due": "2026-12-05", "overdue": False}, today)
        assert (soon["state"], soon["text"]) == ("warned", "due in 2 d")
        later = due_badge({"status": "open", "due": "2027-01-05", "overdue": False}, today)
        assert later["state"] == "running"
        done = due_badge({"status": "implemented", "overdue_days": 4}, today)
        assert (done["state"], done["text"]) == ("met", "implemented 4 d late")
    finally:
        i18n.reset(token)


def test_the_8d_forms_are_offered_to_qc_and_the_teams_departments_as_capa_takes_them() -> None:
    from csc_console.capa_pages import closing_gaps, implementers, offered

    base: dict[str, Any] = {
        "status": "in_progress", "round": 1, "d2": None, "d3": [], "d4": [], "d7": [],
        "actions": [], "verifications": [],
        "team": {"leader": {"name": "W", "department": "quality"},
                 "members": [{"name": n, "department": n} for n in
                             ("marketing", "development", "engineering", "production")]},
    }  # fmt: skip
    # Before D2 no root cause; the warehouse is not on this team (4.4.4).
    assert offered(base, "quality")["d2"] and not offered(base, "quality")["d4"]
    assert not offered(base, "warehouse")["d3"] and offered(base, "marketing")["d3"]
    described = base | {"d2": {"what": "x"}}
    assert offered(described, "engineering")["d4"] and not offered(described, "marketing")["d4"]
    # D8 is offered to QC while the CAPA runs; what is missing is said beside it (4.3.4).
    assert offered(base, "quality")["d8"] and not offered(base, "engineering")["d8"]
    assert len(closing_gaps(base)) == 4
    action = {"action_no": 1, "owner": {"name": "Z", "department": "production"}}
    assert implementers(base, action) == {"production", "quality"}
    confirmed = base | {"status": "confirmed", "team": None}
    assert offered(confirmed, "quality")["team"] and not offered(confirmed, "marketing")["d0"]


def _in(language: str, say: Any) -> str:
    token = i18n.use(language)
    try:
        return str(say())
    finally:
        i18n.reset(token)


def test_a_refusal_reads_in_the_viewers_language_by_its_code() -> None:
    rule = Problem(
        409,
        "A rule of the procedure refuses this request",
        "4.4.4: D4 root cause follows D2: describe the problem first",
        clause="4.4.4",
        code="capa.d4.before_d2",
    )
    assert _in("zh_CN", lambda: refusals.sentence(rule)) == "D4 根本原因在 D2 之后：请先描述问题。"
    assert _in("en", lambda: refusals.sentence(rule)) == (
        "The D4 root cause follows D2: describe the problem first."
    )
    # with its values, a state in the procedure's words
    state = replace(
        rule, code="returns.receive.not_authorized", params={"status": "confirmed_by_quality"}
    )
    assert "本案状态为“品管部已确认 (4.3.2.2)”" in _in("zh_CN", lambda: refusals.sentence(state))
    # a code this console does not know (a newer service), or too few values: the service's words
    newer = replace(rule, code="capa.d9.something_new")
    assert _in("zh_CN", lambda: refusals.sentence(newer)) == rule.detail
    short = replace(rule, code="capa.d6.no_action")
    assert _in("zh_CN", lambda: refusals.sentence(short)) == rule.detail


def test_a_403_names_who_may_in_the_viewers_words() -> None:
    forbidden = Problem(
        403,
        "Not for the caller's department",
        "4.4.3: step is for quality; li.wei acts for marketing",
        clause="4.4.3",
        code="forbidden",
        params={"action": "step", "allowed": ["after_sales", "quality"], "user": "li.wei",
                "department": "marketing"},
    )  # fmt: skip
    assert _in("zh_CN", lambda: refusals.sentence(forbidden)) == (
        "此操作由售后服务、品管部执行；li.wei 代表市场部。"
    )


def test_a_fields_error_reads_by_its_kind_with_its_limits() -> None:
    too_long = FieldProblem(("body", "summary"), "String should have at most 5 characters",
                            "string_too_long", params={"max_length": 5})  # fmt: skip
    assert _in("zh_CN", lambda: refusals.field_sentence(too_long)) == "内容过长：最多 5 个字符。"
    unknown = FieldProblem(("body", "summary"), "Something pydantic says", "some_new_kind")
    assert _in("zh_CN", lambda: refusals.field_sentence(unknown)) == "Something pydantic says"


def test_3_a_local_manager_signs_in_with_the_manager_role_in_the_token() -> None:
    import base64
    import json
    import re

    from csc_messaging.auth import AuthSettings, TokenVerifier

    secret = "x" * 40
    settings = ConsoleSettings(
        auth_hs256_secret=secret,
        console_local_users={"li.wei": "marketing", "huang.li": "marketing"},
        console_local_managers=["huang.li"],
        kafka_bootstrap_servers="127.0.0.1:1",
    )
    verifier = TokenVerifier(AuthSettings(hs256_secret=secret))
    for user, manager in (("huang.li", True), ("li.wei", False)):
        client = TestClient(create_app(settings))
        page = client.get("/sign-in", headers={"accept-language": "en"})
        assert "huang.li — Marketing, manager</label>" in page.text
        assert "li.wei — Marketing</label>" in page.text
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found is not None
        signed = client.post(
            "/sign-in", data={"user": user, "csrf": found[1]}, follow_redirects=False
        )
        assert signed.status_code == 303, signed.text
        cookie = client.cookies["csc_console"].split(".")[0]
        session = json.loads(base64.b64decode(cookie + "=" * (-len(cookie) % 4)))
        principal = verifier.principal(session["token"])
        assert (principal.actor.user, principal.manager) == (user, manager)


def test_a_rows_page_names_the_figure_and_the_bar_its_rows_are_of() -> None:
    import typing

    from csc_console import i18n
    from csc_console.dashboard_pages import figure_title
    from csc_sla.projections import MonthlyFigure

    generic = "Rows behind the dashboard"
    for figure in typing.get_args(MonthlyFigure):
        assert figure_title(figure) != generic, figure
    assert figure_title("feedback_by_kind", "quality_problem") == (
        "Customer feedback by kind · Quality problem"
    )
    assert figure_title("capa.overdue") == "CAPAs · Open with an action overdue"
    assert figure_title("", state="pending", of="follow_ups") == (
        "Follow-ups of last month · Not yet followed up"
    )
    assert figure_title("no_such_figure") == generic
    token = i18n.use("zh_CN")
    try:
        assert figure_title("returns.opened") == "退货案件 · 本月新开"
    finally:
        i18n.reset(token)
