"""``[calendar.NAME]`` and ``[mail.NAME]``: each section checked by its connector's schema.

The connector is imported only when its section or a salesperson uses it; one that cannot be
imported says which extra to install. Its ``validate_config`` (the connector's
:class:`~cadence.values.schema.Schema`) finds the problems, located here in cadence.toml.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import connectors
from cadence.inputs.tomlfile import LocatedToml, TablePath
from cadence.values.errors import Problem
from cadence.values.schema import describe

# Optional dependency groups in pyproject.toml, by connector name.
EXTRAS = {"google": "google", "outlook": "outlook", "caldav": "caldav"}


@dataclass(frozen=True)
class ConnectorKind:
    """Calendar backends or mail sources: their registry and how one is loaded by name."""

    what: str
    table: str  # how their sections are named in cadence.toml
    registry: Mapping[str, str]
    load: Callable[[str], type]

    def import_failure(self, name: str, exc: ImportError) -> str:
        """Why connector ``name`` could not be imported, and what to install if anything."""
        module = self.registry[name].partition(":")[0]
        missing = exc.name or ""
        if missing and (module == missing or module.startswith(f"{missing}.")):
            return f"{self.what} {name} is not available in this installation"
        extra = EXTRAS.get(name)
        package = f" ({missing})" if missing else ""
        if extra:
            return (
                f"{self.what} {name} needs packages that are not installed{package}: "
                f"install cadence[{extra}]"
            )
        return f"{self.what} {name} cannot be imported{package}: {exc}"


CALENDAR = ConnectorKind(
    "calendar backend", "calendar", connectors.CALENDAR_BACKENDS, connectors.load_backend
)
MAIL = ConnectorKind("mail source", "mail", connectors.MAIL_SOURCES, connectors.load_mail_source)


class ConnectorSections:
    """Checks connector sections of one cadence.toml, adding located problems to a list.

    ``hidden`` tells which keys were reported already (secrets) and are not shown to the
    connector, which would only call them unknown.
    """

    def __init__(
        self, doc: LocatedToml, problems: list[Problem], hidden: Callable[[str], bool]
    ) -> None:
        self.doc = doc
        self.problems = problems
        self.hidden = hidden

    def sections(
        self, parent: TablePath, sections: Mapping[str, Any], kind: ConnectorKind
    ) -> dict[str, dict[str, Any]]:
        """Validate each ``[PARENT.NAME]`` section by its connector; the valid ones, by name."""
        out: dict[str, dict[str, Any]] = {}
        for name, section in sections.items():
            if not isinstance(section, dict):
                message = f"expected a table [{parent[0]}.{name}], got {describe(section)}"
                self.problems.append(self.doc.problem(parent, name, message))
                continue
            if name not in kind.registry:
                known = ", ".join(sorted(kind.registry))
                message = f"unknown {kind.what} {name!r} (known: {known})"
                self.problems.append(self.doc.problem((*parent, name), None, message))
                continue
            if self.section((*parent, name), name, section, kind):
                out[name] = dict(section)
        return out

    def section(
        self, table: TablePath, name: str, section: Mapping[str, Any], kind: ConnectorKind
    ) -> bool:
        """Import connector ``name`` and let it validate ``section``; True when it is fine."""
        try:
            cls = kind.load(name)
        except ImportError as exc:
            self.problems.append(self.doc.problem(table, None, kind.import_failure(name, exc)))
            return False
        except AttributeError:  # the module exists but does not define the class (yet)
            message = f"{kind.what} {name} is not available in this installation"
            self.problems.append(self.doc.problem(table, None, message))
            return False
        visible = {k: v for k, v in section.items() if not self.hidden(k)}
        found = list(cls.validate_config(visible))  # type: ignore[attr-defined]
        for key, message in found:
            self.problems.append(self.doc.problem(table, key or None, message))
        return not found
