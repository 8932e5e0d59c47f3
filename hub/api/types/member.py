"""`Member` and its parts: values read live from the sources and merged by field authority.

Every field resolver here returns the *source* value; the policy extension decides how it
leaves (full, masked, hashed, coarsened, denied), so no resolver can forget to mask.
The live values are loaded once per member, batched per request: usually where the members are
made (hub.api.types.resolve), so the scalar fields answer synchronously; a field reached
before that awaits the same batched load.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import strawberry
from strawberry.types import Info

from connectors.base import PartialDate
from hub.api.extensions.analysis import list_bound
from hub.api.extensions.fields import MEMBER_FIELDS
from hub.api.types.enums import AttendanceMode, Gender, MemberStatus, to_enum
from hub.api.types.node import Node, to_global_id
from hub.api.types.pagination import Connection, relay_window
from hub.api.types.policed import LATER, PolicedObject
from hub.api.types.region import Region, region
from hub.api.types.study import StudyRecord, study_hours, study_records_page
from hub.federation.fetch import Link, MergedMember, ProvenanceRecord
from hub.policy.base import Subject, Transform

if TYPE_CHECKING:
    from hub.api.context import Context
    from hub.api.types.activity import Activity
    from hub.api.types.organization import Organization

__all__ = ["Member", "Destination", "Work", "FourClarities", "SourceRecord", "Attendance"]

_Organization = Annotated["Organization", strawberry.lazy("hub.api.types.organization")]
_Activity = Annotated["Activity", strawberry.lazy("hub.api.types.activity")]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


@cache
def _enum(enum_type: Any) -> Callable[[Any], Any]:
    """The converter to `enum_type` (one per enum: `_live` and the resolver name the same)."""
    return lambda value: to_enum(enum_type, value)


_R = TypeVar("_R", bound=Callable[..., Any])


def _live(canonical: str, convert: Callable[[Any], Any] | None = None) -> Callable[[_R], _R]:
    """Marks a resolver whose body is `return self._value(info, canonical, convert)`: the
    field is that live value, so `_MemberPart.direct_resolver` answers it without calling
    the resolver (issue 11: ~300 such fields on a page). tests/api/test_policy.py checks
    each marked resolver against its mark."""
    def mark(resolver: _R) -> _R:
        resolver.live_value = (canonical, convert)  # type: ignore[attr-defined]
        return resolver
    return mark


def _partial(value: Any) -> PartialDate | None:
    if isinstance(value, PartialDate) or value is None:
        return value
    if isinstance(value, date):
        return PartialDate.from_date(value)
    return None


def _supplies(entry: Any, canonical: str) -> bool:
    """Does this source hold `canonical` for members (its mapping maps it)? Unknown (no
    mapping, e.g. a mock): assume it does."""
    mapping = getattr(getattr(entry, "connector", None), "mapping", None)
    entities = getattr(mapping, "entities", None)
    if not isinstance(entities, Mapping) or "member" not in entities:
        return True
    fields = getattr(entities["member"], "fields", None)
    return not isinstance(fields, Mapping) or canonical in fields


#: (GraphQL type, field) -> the canonical field whose source decides the value's owner
_FIRST_CANONICAL: dict[tuple[str, str], str] = {k: v[0] for k, v in MEMBER_FIELDS.items() if v}


class _MemberPart(PolicedObject):
    """Shared by Member and its nested parts: live values, subject, owner lookup."""

    _member: Member

    def _value(self, info: Info, canonical: str,
               convert: Callable[[Any], Any] | None = None) -> Any:
        """The live value of `canonical` (converted): at once when the member's details are
        loaded, else an awaitable that loads them (batched)."""
        member = self._member
        merged = member._merged
        if merged is None:
            return self._value_later(info, canonical, convert)
        if merged.failed and not member._reported:
            member._report(info, merged)
        value = merged.get(canonical)
        return value if convert is None else convert(value)

    async def _value_later(self, info: Info, canonical: str,
                           convert: Callable[[Any], Any] | None) -> Any:
        merged = await self._member.details(info)
        value = None if merged is None else merged.get(canonical)
        return value if convert is None else convert(value)

    def policy_subject(self) -> Subject | None:
        return self._member._subject

    @classmethod
    def direct_resolver(cls, type_name: str, field: str,
                        resolver: Callable[..., Any]) -> Callable[[Any, Context], Any] | None:
        """For a `_live` field: the value and its owner read from the member's merged live
        values at once, the transform decided as `policed_value` decides it (owner as
        `policy_owner` finds it). A member whose details are not loaded yet, or whose
        source failures are not reported yet (that needs the field's path), answers `LATER`:
        the general resolver (the resolver, then `policed_value`) answers it."""
        from hub.api.extensions.policy import leave  # it imports the types

        live = getattr(resolver, "live_value", None)
        if live is None:
            return None
        canonical, convert = live
        by = _FIRST_CANONICAL.get((type_name, field))  # whose source owns the value
        # a Member is its own `_member` (a property, a call per value): skip it
        itself = isinstance(inspect.getattr_static(cls, "_member", None), property)

        def at_once(source: _MemberPart, ctx: Context) -> Any:
            member = cast("Member", source) if itself else source._member
            merged = member._merged
            if merged is None or (merged.failed and not member._reported):
                return LATER
            values = merged.values
            winner = values.get(canonical)
            value = None if winner is None else winner.value
            if convert is not None:
                value = convert(value)
            owner = None
            if by is not None:
                won = winner if by == canonical else values.get(by)
                owner = source._withheld_owner(ctx, by) if won is None else \
                    ctx.runtime.registry.owner_of(won.source)
            transform = ctx.decisions.transform(member._subject, type_name, field, owner)
            if transform is Transform.FULL:
                return value
            return leave(ctx, transform, type_name, field, value, owner)

        return at_once

    def policy_owner(self, ctx: Context, field: str) -> str | None:
        merged = self._member._merged
        if merged is None:
            return None
        canonical = _FIRST_CANONICAL.get((type(self).__name__, field))
        if canonical is None:
            return None
        winner = merged.values.get(canonical)
        if winner is None:
            return self._withheld_owner(ctx, canonical)
        return ctx.runtime.registry.owner_of(winner.source)

    def _withheld_owner(self, ctx: Context, canonical: str) -> str | None:
        """The owner of a source of this member that holds `canonical` but was not asked for
        it because the caller may not read it from that owner (hub.api.loaders). Its value is
        then denied, not missing: the field leaves as CONTRACT_DENIED, as any other denied
        field does, instead of a silent null (a prohibition must be visible as one)."""
        registry = ctx.runtime.registry
        readable = ctx.decisions.readable
        for link in self._member._links:
            owner = registry.owner_of(link.source)
            if owner is None:
                continue
            fields = readable(owner)
            if fields is None or canonical in fields:
                continue  # read from this owner (or reads are not narrowed at all)
            if _supplies(registry.get(link.source), canonical):
                return owner
        return None


@strawberry.type(description="流入地（现居住地与工作）。 Where the member lives and works now "
                 "(流入地); the destination side is the authority for these.")
class Destination(_MemberPart):
    _member: strawberry.Private[Member]

    @strawberry.field(description="流入地区划。 Destination region (流入地).")
    @_live("destination_region_code", region)
    def region(self, info: Info) -> Region | None:
        return self._value(info, "destination_region_code", region)

    @strawberry.field(description="现居住地址。 Current address (现居住地址).")
    @_live("destination_address")
    def address(self, info: Info) -> str | None:
        return self._value(info, "destination_address")

    @strawberry.field(description="工作单位。 Employer (工作单位).")
    @_live("employer")
    def employer(self, info: Info) -> str | None:
        return self._value(info, "employer")

    @strawberry.field(description="从事职业。 Occupation (从事职业).")
    @_live("occupation")
    def occupation(self, info: Info) -> str | None:
        return self._value(info, "occupation")

    @strawberry.field(description="流入（外出）时间。 Since when (流入时间/外出时间).")
    @_live("destination_since", _partial)
    def since(self, info: Info) -> PartialDate | None:
        return self._value(info, "destination_since", _partial)

    @strawberry.field(description="参加组织生活的流入地党组织。 Destination branch the member "
                      "attends (流入地党组织).")
    async def organization(self, info: Info) -> _Organization | None:
        from hub.api.types.organization import organization_by_code

        merged = await self._member.details(info)
        code = None if merged is None else merged.get("destination_org_id")
        return await organization_by_code(info, code)


@strawberry.type(description="从业情况。 Work (从业情况): employer and occupation.")
class Work(_MemberPart):
    _member: strawberry.Private[Member]

    @strawberry.field(description="工作单位。 Employer (工作单位).")
    @_live("employer")
    def employer(self, info: Info) -> str | None:
        return self._value(info, "employer")

    @strawberry.field(description="从事职业。 Occupation (从事职业).")
    @_live("occupation")
    def occupation(self, info: Info) -> str | None:
        return self._value(info, "occupation")


@strawberry.type(description="四个清楚：流向、从业情况、返乡创业意愿、担任村干部意愿。 The "
                 "\"four clarities\" every member record must answer.")
class FourClarities(_MemberPart):
    _member: strawberry.Private[Member]

    @strawberry.field(description="流向。 Where they went (流向).")
    def destination(self) -> Destination:
        return Destination(_member=self._member)

    @strawberry.field(description="从业情况。 Their work (从业情况).")
    def work(self) -> Work:
        return Work(_member=self._member)

    @strawberry.field(description="返乡创业意愿。 Intends to return home and start a business.")
    @_live("intends_return_business")
    def intends_return_business(self, info: Info) -> bool | None:
        return self._value(info, "intends_return_business")

    @strawberry.field(description="担任村干部意愿。 Willing to serve as a village cadre.")
    @_live("willing_village_cadre")
    def willing_village_cadre(self, info: Info) -> bool | None:
        return self._value(info, "willing_village_cadre")


@strawberry.type(description="数据来源：某系统提供了本对象的哪些字段。 Provenance: which system "
                 "supplied which fields of this object.")
class SourceRecord(PolicedObject):
    system: str = strawberry.field(description="系统名称。 The source system's name.")
    local_id: str | None = strawberry.field(
        description="该系统内的记录编号（须协议授予或本方系统）。 The record's id in that system "
        "(needs a contract grant, or the caller's own system).")
    fetched_at: datetime = strawberry.field(description="读取时间（UTC）。 When it was read.")
    fields: list[str] = strawberry.field(description="该系统提供的字段。 Fields it supplied.")
    used_fields: list[str] = strawberry.field(
        description="按字段权威合并后采用了该系统值的字段。 Fields where its value won the merge "
        "(origin for membership facts, destination for residence and work, else newest)."
    )
    _subject: strawberry.Private[Subject | None] = None

    def policy_subject(self) -> Subject | None:
        return self._subject

    def policy_owner(self, ctx: Context, field: str) -> str | None:
        return ctx.runtime.registry.owner_of(self.system)

    @classmethod
    def from_provenance(cls, record: ProvenanceRecord, subject: Subject | None) -> SourceRecord:
        return cls(
            system=record.system,
            local_id=record.local_id,
            fetched_at=record.fetched_at,
            fields=sorted(_camel(f) for f in record.fields),
            used_fields=sorted(_camel(f) for f in record.used),
            _subject=subject,
        )


@strawberry.type(description="流动党员：由各系统记录按字段权威合并而成。 A mobile party member "
                 "(流动党员), merged from every system's records by field authority.")
class Member(Node, _MemberPart):
    key: strawberry.ID = strawberry.field(
        description="稳定、不透明的成员键（身份证号的带密钥哈希）。"
        " Stable opaque member key (keyed hash of the ID number).")
    _subject: strawberry.Private[Subject]
    #: the member's linked source records (which sources hold it)
    _links: strawberry.Private[tuple[Link, ...]] = ()
    _merged: strawberry.Private[MergedMember | None] = None
    _reported: strawberry.Private[bool] = False

    @property
    def _member(self) -> Member:  # type: ignore[override]
        return self

    async def details(self, info: Info) -> MergedMember | None:
        """Live values, loaded once per member in a request-wide batch."""
        if self._merged is None:
            ctx: Context = info.context
            self._merged = await ctx.loaders.member_details.load(self.key)
        if self._merged.failed and not self._reported:
            self._report(info, self._merged)
        return self._merged

    def _report(self, info: Info, merged: MergedMember) -> None:
        """Source failures are reported at the path of the first field they affected."""
        self._reported = True
        ctx: Context = info.context
        for error in merged.failed.values():
            ctx.report_source_error(error, info.path.as_list())

    @strawberry.field(description="全局 ID。 Relay global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Member", self.key))

    @strawberry.field(description="姓名。 Name (姓名).")
    @_live("name")
    def name(self, info: Info) -> str | None:
        return self._value(info, "name")

    @strawberry.field(description="性别。 Gender (性别).")
    @_live("gender", _enum(Gender))
    def gender(self, info: Info) -> Gender | None:
        return self._value(info, "gender", _enum(Gender))

    @strawberry.field(description="出生日期。 Birth date (出生日期).")
    @_live("birth_date", _partial)
    def birth_date(self, info: Info) -> PartialDate | None:
        return self._value(info, "birth_date", _partial)

    @strawberry.field(description="公民身份号码，仅以脱敏形式提供，如 510521********1234。"
                      " Resident ID number, only ever shown masked, e.g. 510521********1234.")
    @_live("id_number")
    def id_number(self, info: Info) -> str | None:
        return self._value(info, "id_number")

    @strawberry.field(description="联系电话（脱敏，如 138****5678）。 Phone, masked "
                      "(e.g. 138****5678).")
    @_live("phone")
    def phone(self, info: Info) -> str | None:
        return self._value(info, "phone")

    @strawberry.field(description="联系状态。 Contact status (联系状态).")
    @_live("status", _enum(MemberStatus))
    def status(self, info: Info) -> MemberStatus | None:
        return self._value(info, "status", _enum(MemberStatus))

    @strawberry.field(description="组织关系所在党组织（流出地）。 The organisation holding the "
                      "membership (组织关系所在党组织, origin side).")
    async def origin_organization(self, info: Info) -> _Organization | None:
        from hub.api.types.organization import organization_by_code

        merged = await self.details(info)
        if merged is None:
            return None
        return await organization_by_code(
            info, merged.get("origin_org_id"), fallback_name=merged.get("origin_org_name")
        )

    @strawberry.field(description="流入地：区划、地址、工作单位、职业、流入时间。 Destination: "
                      "region, address, employer, occupation, since when.")
    def destination(self) -> Destination:
        return Destination(_member=self)

    @strawberry.field(description="四个清楚。 The four clarities (四个清楚).")
    def four_clarities(self) -> FourClarities:
        return FourClarities(_member=self)

    @strawberry.field(description="各系统最近一次更新时间中最新者。 Newest update time among the "
                      "systems' records.")
    @_live("updated_at")
    def updated_at(self, info: Info) -> datetime | None:
        return self._value(info, "updated_at")

    @strawberry.field(description="参加的组织生活（三会一课、主题党日等，含经交换台账记录的），"
                      "按记录先后分页。 Organisation-life activities the member was recorded at "
                      "(synced or recorded through the exchange ledger), oldest first, as a "
                      "Relay connection (needs a contract grant, or the caller's own record).")
    async def activities(self, info: Info, first: int | None = None,
                         after: str | None = None, last: int | None = None,
                         before: str | None = None) -> Connection[Attendance] | None:
        ctx: Context = info.context
        rows = await ctx.loaders.attendance_by_member.load(self.key)
        if len(rows) > ctx.runtime.limits.max_list_size:
            rows = await _all_attendance(ctx, self.key)  # the batch caps each member's list
        # each entry is the recording system's record: shown when the caller may see that
        # party's organisation-life records of this member (its own, or granted), as in
        # Activity.attendees; another system's entries do not ride on the caller's own
        from hub.api.types.activity import recorder_of

        transform = ctx.decisions.transform
        rows = [r for r in rows if transform(self._subject, "Member", "activities",
                                             recorder_of(ctx, r)) is not Transform.DENY]

        async def count() -> int:
            return len(rows)

        limits = ctx.runtime.limits
        offset, limit = await relay_window(first, after, last, before,
                                           default=limits.default_page_size,
                                           maximum=limits.max_page_size, count=count)
        return Connection.build([Attendance(_row=r, _member=self)
                                 for r in rows[offset:offset + limit + 1]],
                                offset, limit, count)

    @strawberry.field(description="学习记录（学习强国等学习平台），按完成时间由新到旧；需协议授予，"
                      "或为调用方本方系统的记录。 Study records (学习记录) from study platforms, "
                      "newest first: those of systems whose study records of this member the "
                      "caller may see (its own, or granted by a contract).")
    async def study_records(
        self, info: Info,
        first: Annotated[int | None, strawberry.argument(
            description="本页条数。 Page size.")] = None,
        after: Annotated[str | None, strawberry.argument(
            description="上一页的 endCursor。 The previous page's endCursor.")] = None,
    ) -> Connection[StudyRecord] | None:
        # nullable as `activities` is: a member whose records the caller may not see from
        # any party leaves CONTRACT_DENIED here without taking the rest of the page with it
        return await study_records_page(info.context, self.key, self._subject, first, after)

    @strawberry.field(description="某年度学习时长（学时，按完成时间 UTC 计），只计调用方"
                      "可见的系统；无记录时为空。 Study hours completed in `year` (UTC) over "
                      "the systems whose hours of this member the caller may see; null when "
                      "there is none.")
    async def study_hours(
        self, info: Info,
        year: Annotated[int, strawberry.argument(description="年度，如 2024。 The year.")],
    ) -> float | None:
        from hub.api.inputs import BadUserInput
        from hub.api.types.study import MAX_YEAR, MIN_YEAR

        if not MIN_YEAR <= year <= MAX_YEAR:
            raise BadUserInput(f"`year` must be between {MIN_YEAR} and {MAX_YEAR}")
        return await study_hours(info.context, self.key, self._subject, year)

    @strawberry.field(description="数据来源：各系统提供了哪些字段。 Provenance: per system, the "
                      "record and which fields it supplied.")
    async def sources(self, info: Info) -> list[SourceRecord]:
        merged = await self.details(info)
        if merged is None:
            return []
        ctx: Context = info.context
        records = ctx.bounded(merged.records, list_bound("Member", "sources",
                              ctx.runtime.limits.max_list_size), "Member.sources", info.path)
        return [SourceRecord.from_provenance(r, self._subject) for r in records]


async def _all_attendance(ctx: Context, member_key: str) -> list[Any]:
    from sqlalchemy import select

    from hub.store.models import AttendanceRow

    async with ctx.runtime.session_factory() as session:
        return list(await session.scalars(select(AttendanceRow).where(
            AttendanceRow.member_key == member_key).order_by(AttendanceRow.id)))


@strawberry.type(description="参加记录：某成员参加某次活动的方式。 Attendance: how one member "
                 "took part in one activity.")
class Attendance:
    _row: strawberry.Private[Any]
    _member: strawberry.Private[Member | None] = None

    @strawberry.field(description="参加方式。 How they took part.")
    def mode(self) -> AttendanceMode | None:
        return to_enum(AttendanceMode, self._row.mode)

    @strawberry.field(description="成员（调用方无权查看时为空）。 The member; null when outside "
                      "the caller's scope.")
    async def member(self, info: Info) -> Member | None:
        if self._member is not None:
            return self._member
        from hub.api.types.resolve import member_by_key

        return await member_by_key(info, self._row.member_key)

    @strawberry.field(description="活动。 The activity.")
    async def activity(self, info: Info) -> _Activity | None:
        from hub.api.types.activity import activity_by_key

        return await activity_by_key(info, self._row.activity_key)
