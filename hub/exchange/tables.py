"""Tables of workflows 3 (tasks, claims) and the points ledger: read models of ledger entries.

The exchange ledger is the record; these rows are what the workflows query and lock on: a
task's state and capacity, each claim's state, and every point awarded with its rule. Each row
names the ledger entries it comes from, so it can be rebuilt from the ledger. Two constraints
carry the workflows' rules under concurrency, on SQLite and PostgreSQL alike:
- `(task_entry_id, slot)` is unique: a claim takes the lowest free slot of 1..capacity, so
  two concurrent claims of the last place cannot both succeed (one insert fails and retries,
  finds no slot, and is refused);
- `(task_entry_id, member_key)` is unique: a member claims a task once.
`(entry_id, member_key, rule)` on points makes an award idempotent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.base import Base

__all__ = ["TaskRow", "TaskClaimRow", "PointRow"]


class TaskRow(Base):
    __tablename__ = "exchange_tasks"

    #: the ledger entry that published the task
    entry_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: origin_task (一领) | community_request (群众点单)
    kind: Mapped[str] = mapped_column(String(24))
    party: Mapped[str] = mapped_column(String(64), index=True)
    organization: Mapped[str] = mapped_column(String(64), index=True)
    region_code: Mapped[str | None] = mapped_column(String(6))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    deadline: Mapped[datetime]
    points: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(index=True)


class TaskClaimRow(Base):
    __tablename__ = "exchange_task_claims"
    __table_args__ = (
        UniqueConstraint("task_entry_id", "slot"),
        UniqueConstraint("task_entry_id", "member_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_entry_id: Mapped[int] = mapped_column(Integer, index=True)
    member_key: Mapped[str] = mapped_column(String(64), index=True)
    #: 1..capacity while the claim holds a place; None once rejected (the place is free)
    slot: Mapped[int | None] = mapped_column(Integer)
    #: claimed | reported | confirmed | rejected
    state: Mapped[str] = mapped_column(String(16))
    #: the party that recorded the claim (and reports its completion), and where
    party: Mapped[str] = mapped_column(String(64))
    organization: Mapped[str] = mapped_column(String(64))
    claim_entry_id: Mapped[int] = mapped_column(Integer, unique=True)
    report_entry_id: Mapped[int | None] = mapped_column(Integer)
    decision_entry_id: Mapped[int | None] = mapped_column(Integer)
    evidence: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PointRow(Base):
    __tablename__ = "exchange_points"
    __table_args__ = (UniqueConstraint("entry_id", "member_key", "rule"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member_key: Mapped[str] = mapped_column(String(64), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    points: Mapped[int] = mapped_column(Integer)
    #: hub.exchange.points.PointRule
    rule: Mapped[str] = mapped_column(String(32))
    #: the entry that earned it: a task decision, or an organisation-life record
    entry_id: Mapped[int] = mapped_column(Integer, index=True)
    #: the organisation awarding it (the task's, or the activity's organiser)
    organization: Mapped[str] = mapped_column(String(64), index=True)
    party: Mapped[str] = mapped_column(String(64))
    awarded_at: Mapped[datetime]
