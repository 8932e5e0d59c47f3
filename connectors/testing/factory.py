"""`connector_test_class`: one line gives a connector the whole standard suite.

```python
TestVillageLedger = connector_test_class(open_ledger, entity="member", expect_issues=True)
```
`factory(tmp_path)` builds the real source under test (a file, a database, an HTTP app on
127.0.0.1) and returns the connector, either awaited or as an async context manager (so
it can stop its server afterwards). `bad_factory`, when given, builds a connector over a
broken configuration: its first read must raise a `ConnectorError`, never anything else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest

from connectors.base import Connector, ReadRequest
from connectors.errors import ConnectorError
from connectors.testing._cases import CASES, Case, CaseConfig

__all__ = ["ConnectorFactory", "connector_test_class", "mapping_test_class"]

ConnectorFactory = Callable[
    [Path], Awaitable[Connector] | AbstractAsyncContextManager[Connector]
]


async def _open(factory: ConnectorFactory, tmp_path: Path) -> AsyncIterator[Connector]:
    made = factory(tmp_path)
    if isinstance(made, AbstractAsyncContextManager):
        async with made as connector:
            try:
                yield connector
            finally:
                await connector.aclose()
    else:
        connector = await made
        try:
            yield connector
        finally:
            await connector.aclose()


def _case_method(case: Case) -> Callable[..., Awaitable[None]]:
    async def method(self: Any, connector: Connector) -> None:
        if case.requires is not None and case.requires not in connector.capabilities:
            pytest.skip(f"{connector.kind} connector does not declare {case.requires.value}")
        await case.test(connector, self.config)

    method.__name__ = f"test_{case.name}"
    method.__doc__ = type(case).__doc__
    return method


def connector_test_class(
    factory: ConnectorFactory,
    *,
    entity: str = "member",
    expected_count: int | None = None,
    expect_issues: bool = False,
    page_size: int = 2,
    empty_fields: frozenset[str] = frozenset(),
    bad_factory: ConnectorFactory | None = None,
    name: str = "ConnectorConformance",
) -> type:
    """A pytest test class running every standard case against connectors from `factory`."""

    @pytest.fixture
    async def connector(self: Any, tmp_path: Path) -> AsyncIterator[Connector]:
        async for opened in _open(factory, tmp_path):
            yield opened

    namespace: dict[str, Any] = {
        "config": CaseConfig(
            entity, expected_count, expect_issues, page_size, frozenset(empty_fields)
        ),
        "connector": connector,
    }
    for case in CASES:
        namespace[f"test_{case.name}"] = _case_method(case)

    if bad_factory is not None:
        async def test_bad_config_raises_connector_error(self: Any, tmp_path: Path) -> None:
            with pytest.raises(ConnectorError):
                async for broken in _open(bad_factory, tmp_path):
                    await broken.read(ReadRequest(entity, page_size=1))

        namespace["test_bad_config_raises_connector_error"] = test_bad_config_raises_connector_error
    return type(name, (), namespace)


def mapping_test_class(
    path: Path | str, *, entity: str = "member", name: str = "MappingConformance",
    **config: Any,
) -> type:
    """`connector_test_class` for the live source a mapping file points at, opened through its
    kind (built-in or plugin): a connector package's whole test is one line,
    `TestMine = mapping_test_class(Path(__file__).with_name("mine.toml"))`."""
    from connectors.factory import open_connector
    from connectors.mapping import load_mapping

    async def factory(tmp_path: Path) -> Connector:
        return open_connector(load_mapping(Path(path)))

    return connector_test_class(factory, entity=entity, name=name, **config)
