"""How customer information arrives (4.1.2), as every form prints it.

Keyed by the values of ``csc_contracts.Channel``, in the procedure's own words:
函件、电话、传真、来访, and today e-mail and web.
"""

from __future__ import annotations

from csc_forms.model import Labels

CHANNELS: Labels = {
    "letter": ("函件", "letter"),
    "phone": ("电话", "phone"),
    "fax": ("传真", "fax"),
    "visit": ("来访", "visit"),
    "email": ("电子邮件", "e-mail"),
    "web": ("网站", "web"),
}
