"""``csc-capa serve``, ``csc-capa replay``, ``csc-capa dlq`` and ``csc-capa held``.

Capa's store also holds QC's and the team's decisions (4.4.3-4.4.4, 4.3.4), which
csc.intake.v1 and csc.returns.v1 cannot give back: a replay restores them from
csc.capa.journal.
"""

from __future__ import annotations

from csc_capa.bootstrap import CAPA
from csc_messaging.cli import service_cli

cli = service_cli(CAPA)
