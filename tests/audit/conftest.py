"""The API's trusted world (tests/api/conftest.py) for audit tests over real HTTP."""

from tests.api.conftest import make_world, trusted  # noqa: F401  (pytest fixtures)
