"""The departments of the procedure (clause 3), as every form prints them.

Keyed by the values of ``csc_contracts.Department``; plain strings, so the
forms need not depend on the contracts to print a department.
"""

from __future__ import annotations

from csc_forms.model import Labels

DEPARTMENTS: Labels = {
    "marketing": ("市场部", "Marketing"),
    "after_sales": ("售后服务", "After-sales"),
    "quality": ("品管部", "Quality"),
    "engineering": ("工程部", "Engineering"),
    "development": ("开发部", "Development"),
    "production": ("生产部", "Production"),
    "warehouse": ("仓务部", "Warehouse"),
    "chief_engineer": ("总工", "Chief Engineer"),
    "auditor": ("审核员", "Auditor"),
    "system": ("系统", "System"),
}
