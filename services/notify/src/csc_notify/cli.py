"""``csc-notify serve``, ``csc-notify replay``, ``csc-notify dlq`` and ``csc-notify held``.

Notify's store holds the directory and each delivery's outcome, which no topic
it reads can give back: a replay restores them from csc.notify.journal.
"""

from __future__ import annotations

from csc_messaging.cli import service_cli
from csc_notify.bootstrap import NOTIFY

cli = service_cli(NOTIFY)
