"""An import-linter contract the stock ones cannot say: a package imports *only* what is listed.

import-linter's ``forbidden`` contract lists what may not be imported, so a new dependency of a
domain (pydantic today, something else tomorrow) slips past it. ``only`` lists what may be:
the standard library, the listed modules (first-party or a third-party module such as
``eventsourcing.domain``) and the source package itself. Third-party packages stand in the
graph as one squashed node each, so the module named is read from the import line itself.

Used from the root ``pyproject.toml`` (``[tool.importlinter] contract_types``).
"""

from __future__ import annotations

import re
import sys
from typing import Any, cast

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck

_IMPORTED = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))")


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


class OnlyContract(Contract):
    """``source_modules`` (each a package) import only the stdlib, ``allowed_modules`` and
    their own package."""

    type_name = "only"

    source_modules = fields.ListField(subfield=fields.StringField())
    allowed_modules = fields.ListField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        allowed = self._allowed()
        broken: list[dict[str, Any]] = []
        for source in cast(list[str], self.source_modules):
            if source not in graph.modules:
                raise ValueError(f"Module '{source}' does not exist.")
            for importer in sorted({source} | graph.find_descendants(source)):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    for name, line_number in self._names(graph, importer, imported):
                        root = name.split(".")[0]
                        if (
                            root in sys.stdlib_module_names
                            or _within(name, source)
                            or any(_within(name, ok) for ok in allowed)
                        ):
                            continue
                        broken.append(
                            {"importer": importer, "imported": name, "line_number": line_number}
                        )
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def _allowed(self) -> list[str]:
        # A field on the class, its parsed value on the instance.
        return cast(list[str], self.allowed_modules)

    @staticmethod
    def _names(graph: ImportGraph, importer: str, imported: str) -> list[tuple[str, int]]:
        """The module each import line names: for a squashed third-party package its full
        dotted name (``eventsourcing.domain``), else the module in the graph."""
        if not graph.is_module_squashed(imported):
            details = graph.get_import_details(importer=importer, imported=imported)
            return [(imported, d["line_number"]) for d in details] or [(imported, 0)]
        named: list[tuple[str, int]] = []
        for detail in graph.get_import_details(importer=importer, imported=imported):
            match = _IMPORTED.match(detail["line_contents"])
            named.append(
                ((match.group(1) or match.group(2)) if match else imported, detail["line_number"])
            )
        return named or [(imported, 0)]

    def render_broken_contract(self, check: ContractCheck) -> None:
        allowed = ", ".join(self._allowed()) or "nothing else"
        for row in check.metadata["broken"]:
            output.print_error(
                f"{row['importer']} imports {row['imported']} (l.{row['line_number']}): "
                f"only the standard library, its own package and {allowed} are allowed",
                bold=False,
            )
        output.new_line()
