"""What the customer needs from us to keep producing (4.4.2), as every form prints it.

Keyed by the values of ``csc_contracts.intake.RemedialMeasure``.
"""

from __future__ import annotations

from csc_forms.model import Labels

REMEDIES: Labels = {
    "rework_on_site": ("至客户处返工", "rework at the customer"),
    "repair_on_site": ("至客户处返修", "repair at the customer"),
    "swap_units": ("合格品换不合格品", "good units for bad ones"),
    "other": ("其他", "other"),
}
