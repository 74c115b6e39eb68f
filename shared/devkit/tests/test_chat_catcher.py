"""``csc up``'s local chat robots answer as each provider does, and keep what they take."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from csc_devkit.mailcatcher import ChatCatcher
from csc_devkit.processes import free_port

said: list[str] = []


@pytest.fixture
def robots(tmp_path: Path) -> Iterator[ChatCatcher]:
    said.clear()
    catcher = ChatCatcher(tmp_path / "chat", free_port(), said.append).start()
    yield catcher
    catcher.stop()


@pytest.mark.parametrize(
    ("kind", "body", "taken", "text"),
    [
        ("wecom", {"msgtype": "markdown", "markdown": {"content": "**4.2.1** reply due"}},
         {"errcode": 0, "errmsg": "ok"}, "**4.2.1** reply due"),
        ("dingtalk", {"msgtype": "markdown", "markdown": {"title": "t", "text": "回复 8 小时"}},
         {"errcode": 0, "errmsg": "ok"}, "回复 8 小时"),
        ("feishu", {"msg_type": "text", "content": {"text": "breach\nreply"}},
         {"code": 0, "msg": "success"}, "breach reply"),
    ],
)  # fmt: skip
def test_each_robot_takes_a_message_as_its_provider_answers(
    robots: ChatCatcher, kind: str, body: dict[str, object], taken: dict[str, object], text: str
) -> None:
    answer = httpx.post(robots.url(kind, "quality") + "?key=k", json=body)
    assert answer.status_code == 200 and answer.json() == taken
    (kept,) = robots.directory.glob(f"*-{kind}-quality.json")
    assert json.loads(kept.read_text()) == body
    assert said == [f"  chat {kind}/quality: {text}  ({kept})"]


def test_a_post_that_is_no_robot_message_is_refused_and_not_kept(robots: ChatCatcher) -> None:
    assert httpx.post(f"http://{robots.host}:{robots.port}/slack/x", json={}).status_code == 404
    assert httpx.post(robots.url("wecom", "x"), content=b"not json").status_code == 400
    assert list(robots.directory.iterdir()) == []
