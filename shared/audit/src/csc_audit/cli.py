"""``csc audit``: what an auditor runs, reading Kafka (and, to verify, the stores).

Importing the command modules adds their commands to ``app``.
"""

from __future__ import annotations

import csc_audit.chain_commands
import csc_audit.replay_commands  # noqa: F401  (timeline, as-of, export, forms, verify-bundle)
from csc_audit.app import app

__all__ = ["app"]
