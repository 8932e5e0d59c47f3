"""The conformance kit as a pytest plugin (entry point `pytest11`, installed with yanxing).

A connector package's tests are one line of configuration, naming its mapping files:

```toml
[tool.pytest.ini_options]
yanxing_mappings = ["tests/sample.toml"]
```

Every standard case (connectors.testing, `CASES`) then runs for every entity of each mapping,
against the live source the mapping points at, opened through its kind (built-in or plugin),
as `tests/sample.toml::member::paging_at_the_hubs_page_size`. A mapping file given on the
command line (`pytest path/to/mapping.toml`, what `yanxing connector test FILE` runs) is
collected the same way. Cases a connector's capabilities exclude are skipped with the reason.

The items run their own event loop (asyncio.run), so the plugin needs no async plugin.
"""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.testing._cases import CASES, Case, CaseConfig

__all__ = ["MappingFile", "KitItem"]

_INI = "yanxing_mappings"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(_INI, "mapping files the connector conformance kit runs against (live)",
                  type="paths", default=[])
    parser.addini("yanxing_kit_page_size", "the kit's small page size (default 2)", default="2")


def _is_mapping(path: Path) -> bool:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return isinstance(doc.get("source"), dict) and isinstance(doc.get("entities"), dict)


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> MappingFile | None:
    if file_path.suffix != ".toml":
        return None
    named = {Path(p).resolve() for p in parent.config.getini(_INI)}
    explicit = parent.session.isinitpath(file_path)
    if file_path.resolve() in named or (explicit and _is_mapping(file_path)):
        return MappingFile.from_parent(parent, path=file_path)
    return None


def _entities(path: Path) -> list[str]:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    entities = doc.get("entities")
    return list(entities) if isinstance(entities, dict) else []


class MappingFile(pytest.File):
    """One mapping file: a `load` item (the mapping is valid and its kind known), then every
    case for every entity it maps."""

    def collect(self) -> Iterator[pytest.Item]:
        yield KitItem.from_parent(self, name="mapping_loads", case=None, entity=None)
        for entity in _entities(self.path):
            for case in CASES:
                yield KitItem.from_parent(self, name=f"{entity}::{case.name}", case=case,
                                          entity=entity)


class KitItem(pytest.Item):
    def __init__(self, *, case: Case | None, entity: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.entity = entity

    def runtest(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        from connectors.factory import open_connector
        from connectors.mapping import load_mapping

        mapping = load_mapping(self.path)  # ConnectorConfigError lists every problem
        if self.case is None or self.entity is None:
            return
        connector = open_connector(mapping)
        try:
            if self.case.requires is not None and \
                    self.case.requires not in connector.capabilities:
                pytest.skip(f"{connector.kind} connector does not declare "
                            f"{self.case.requires.value}")
            size = int(self.config.getini("yanxing_kit_page_size"))
            await self.case.test(connector, CaseConfig(self.entity, page_size=size))
        finally:
            await connector.aclose()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        from connectors.errors import ConnectorError

        if isinstance(excinfo.value, (AssertionError, ConnectorError)):
            return f"{self.name}: {type(excinfo.value).__name__}: {excinfo.value}"
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.name
