"""Alembic migrations of the hub's database (one schema root: hub.store.base).

`env.py` and `versions/` are read by Alembic through hub.store.migrate, which locates this
directory with importlib.resources so it works from an installed wheel as from a checkout.
"""
