"""The part every mapping-driven connector (rest, ledger, sql) shares.

A generic connector is its mapping file plus one `RecordBuilder` per entity; looking up an
entity and describing the source follow from the mapping alone, so they live here once and
each connector keeps only how it reaches its system.
"""

from __future__ import annotations

from typing import ClassVar

from connectors._records import RecordBuilder
from connectors.base import Capability, Connector, EntitySchema, SourceSchema
from connectors.errors import NotSupported
from connectors.mapping import EntityMapping, SourceMapping, WriteMapping

__all__ = ["MappedConnector"]


class MappedConnector(Connector):
    """A `Connector` configured by a `SourceMapping`; subclasses implement `read`."""

    #: what the kind can do at most; each instance narrows it to what its mapping enables
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.READ, Capability.READ_BY_KEYS, Capability.READ_CHANGES, Capability.WRITE}
    )
    #: how an unknown entity's NotSupported message names the source ("this ledger has no …")
    source_noun: ClassVar[str] = "source"

    def __init__(self, mapping: SourceMapping, *, by_keys: bool, changes: bool) -> None:
        """Capabilities follow the mapping: READ always, READ_BY_KEYS and READ_CHANGES when
        the subclass can serve them for at least one entity, WRITE when the mapping has a
        `[write.<action>]` table."""
        self.mapping = mapping
        self.name = mapping.source.name
        self.capabilities = frozenset(  # type: ignore[misc]
            {Capability.READ}
            | ({Capability.READ_BY_KEYS} if by_keys else set())
            | ({Capability.READ_CHANGES} if changes else set())
            | ({Capability.WRITE} if mapping.writes else set())
        )
        self._builders = {
            n: RecordBuilder(self.name, e, mapping.timezone) for n, e in mapping.entities.items()
        }

    def _entity(self, name: str) -> EntityMapping:
        try:
            return self.mapping.entities[name]
        except KeyError:
            raise NotSupported(
                self.name, f"this {self.source_noun} has no {name!r} entity"
            ) from None

    @property
    def write_actions(self) -> frozenset[str]:
        return frozenset(self.mapping.writes)

    def _write_spec(self, action: str) -> WriteMapping:
        try:
            return self.mapping.writes[action]
        except KeyError:
            raise NotSupported(
                self.name, f"this {self.source_noun} takes no {action!r} writes (its mapping "
                f"has no [write.{action}])") from None

    async def describe(self) -> SourceSchema:
        entities = {
            n: EntitySchema(n, frozenset(e.fields)) for n, e in self.mapping.entities.items()
        }
        return SourceSchema(self.name, self.kind, entities, self.capabilities)
