"""A page is read, then connects for live changes: what changed in between reaches it."""

from csc_console.live import Change, Hub


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
