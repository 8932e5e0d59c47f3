"""The store's public surface is exactly what __all__ says (httpx tests/test_exported_members)."""

import types

import hub.store


def test_all_names_exist_and_nothing_else_is_public() -> None:
    assert all(hasattr(hub.store, name) for name in hub.store.__all__)
    public = {
        n for n in dir(hub.store)
        if not n.startswith("_") and not isinstance(getattr(hub.store, n), types.ModuleType)
    }
    assert public == set(hub.store.__all__)
