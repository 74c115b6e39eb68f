"""A page is read, then connects for live changes: what changed in between reaches it."""

from csc_console.live import Change, Hub, Interest, _actor


def change(case_id: str) -> Change:
    return Change(case_id=case_id, type="csc.sla.ClockMet.v1", topic="csc.sla.v1")


def test_a_change_between_the_read_and_the_connection_is_not_lost() -> None:
    hub = Hub()
    hub.publish(change("a"))
    since = hub.seq  # the page begins to read
    assert not hub.changed_since(since, "a") and not hub.changed_since(since, None)
    hub.publish(change("b"))  # while it reads and renders
    assert hub.changed_since(since, "b") and hub.changed_since(since, None)
    assert not hub.changed_since(since, "a")  # another case's page: nothing to refresh


def test_a_page_older_than_what_is_kept_refreshes_once() -> None:
    hub = Hub()
    for n in range(Hub.RECENT + 5):
        hub.publish(change(str(n)))
    assert hub.changed_since(0, "no-such-case")
    assert not hub.changed_since(hub.seq, None)


def test_a_page_of_forms_hears_only_others_steps_on_its_service() -> None:
    hub = Hub()
    wanted = Interest(case_id="a", topic="csc.returns.v1", not_by="wang.fang")
    listener = hub.listen(wanted)
    since = hub.seq
    hub.publish(Change("a", "csc.returns.Received.v1", "csc.returns.v1", user="wang.fang"))
    hub.publish(Change("a", "csc.sla.ClockMet.v1", "csc.sla.v1", user="li.wei"))
    hub.publish(Change("b", "csc.returns.Received.v1", "csc.returns.v1", user="li.wei"))
    assert listener.queue.empty() and not hub.changed_since(since, wanted)
    hub.publish(Change("a", "csc.returns.Received.v1", "csc.returns.v1", user="zhao.qiang"))
    assert listener.queue.get_nowait().user == "zhao.qiang"
    assert hub.changed_since(since, wanted)
    hub.publish(Change("a", "csc.returns.Opened.v1", "csc.returns.v1"))  # the system's own
    assert listener.queue.get_nowait().user is None


def test_the_follower_reads_who_from_the_event_and_never_refuses_a_value() -> None:
    assert _actor(b'{"actor": {"user": "li.wei", "department": "marketing"}}') == "li.wei"
    for value in (None, b"", b"\xff", b"[1]", b'{"actor": 3}', b'{"actor": {"user": 4}}'):
        assert _actor(value) is None
