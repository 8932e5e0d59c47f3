"""The database a command's `--db URL` names: checked like `hub.database_url` before anything
opens it, so `--db notaurl` says what a URL looks like instead of SQLAlchemy's traceback."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.errors import ConfigError
from hub.settings import database_url_problems
from hub.store.session import create_engine

__all__ = ["open_db"]


def open_db(url: str) -> AsyncEngine:
    problems = database_url_problems(url, "--db")
    if problems:
        raise ConfigError(problems)
    return create_engine(url)
