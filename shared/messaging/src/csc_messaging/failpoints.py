"""Named crash points, armed only by ``CSC_FAILPOINTS``, so tests can kill a process
at the exact moment that matters (e.g. after Kafka received a batch, before it was committed).
"""

from __future__ import annotations

import os
import signal


def hit(name: str) -> None:
    armed = os.environ.get("CSC_FAILPOINTS", "")
    if armed and name in armed.split(","):
        os.kill(os.getpid(), signal.SIGKILL)
