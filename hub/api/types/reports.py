"""GraphQL for workflow 2, 报告 (双报): `submitReport` and `confirmReport`, ledger actions
(hub.exchange.reports) under the contract's `status_report` permission.

A report is recorded at the recording party's own branch and names the member's origin
organisation; the origin confirms it at that organisation (`confirmReport` answers the report;
a second answer is a correction: `supersedes`). Confirmed changes are what the four clarities
show for the member (`Member` reads them through hub.exchange.reports.confirmed_changes).
"""

from __future__ import annotations

import enum
from typing import Annotated

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from hub.api.context import Context
from hub.api.exchange import Intent, ledger_action
from hub.api.inputs import BadUserInput, check_org_code
from hub.api.types.node import from_global_id
from hub.errors import NotFound
from hub.exchange.ledger import entry_by_id
from hub.exchange.reports import Report, ReportConfirmation, one_confirmation
from hub.store.models import ActivityRow

__all__ = ["ReportKind", "ReportsMutation", "QUERY_TYPES", "MUTATION_TYPES"]


@strawberry.enum(description="报告类型。 Kind of a member's report to the origin branch.")
class ReportKind(enum.Enum):
    MONTHLY = strawberry.enum_value("monthly", description="月度思想工作汇报。 Monthly work and "
                                    "thought report.")
    ADDRESS_CHANGE = strawberry.enum_value("address_change", description="居住地址变更。 "
                                           "Change of address.")
    EMPLOYER_CHANGE = strawberry.enum_value("employer_change", description="工作单位变更。 "
                                            "Change of employer (and occupation).")
    PHONE_CHANGE = strawberry.enum_value("phone_change", description="联系电话变更。 Change "
                                         "of phone number.")
    ABSENCE = strawberry.enum_value("absence", description="不能参加活动的报告（计为“以报告"
                                    "参加”）。 Could not attend an activity: counts as "
                                    "attendance by report.")


async def _activity_key(info: Info, activity: str | None) -> str | None:
    """The index key of the activity an absence report names (by `Activity.id`)."""
    if activity is None:
        return None
    type_name, key = from_global_id(activity)
    if type_name != "Activity":
        raise BadUserInput("activity: an Activity id (`Activity.id`)")
    ctx: Context = info.context
    async with ctx.runtime.session_factory() as session:
        if await session.scalar(select(ActivityRow.key).where(ActivityRow.key == key)) is None:
            raise BadUserInput(f"activity: no activity {activity!r} in the index")
    return key


async def _origin_of(info: Info, member_key: str) -> str | None:
    """The member's origin organisation (routing only; the guard decides visibility)."""
    ctx: Context = info.context
    row = await ctx.loaders.member_rows.load(member_key)
    return row.origin_org_id if row is not None else None


@strawberry.type
class ReportsMutation:
    @strawberry.mutation(description="记录成员向流出地党组织的报告（月度汇报、信息变更或不能参加"
                         "活动）；需 status_report 记录权限。 Record a member's report to the "
                         "origin branch (monthly report, change of address, employer or phone, "
                         "or could not attend an activity), at one of the calling party's "
                         "organisations; needs a contract's `status_report` record permission "
                         "for this member. Changes take effect once the origin confirms them.")
    @ledger_action("report")
    async def submit_report(
        self, info: Info, member_key: strawberry.ID, organization: strawberry.ID,
        kind: ReportKind,
        period: Annotated[str | None, strawberry.argument(
            description="月度汇报的月份 YYYY-MM。 The month of a monthly report, YYYY-MM.")
        ] = None,
        text: Annotated[str | None, strawberry.argument(
            description="汇报内容或不能参加的原因。 The report, or why the member could not "
            "attend.")] = None,
        address: Annotated[str | None, strawberry.argument(
            description="新居住地址。 New address.")] = None,
        employer: Annotated[str | None, strawberry.argument(
            description="新工作单位。 New employer.")] = None,
        occupation: Annotated[str | None, strawberry.argument(
            description="新职业。 New occupation.")] = None,
        phone: Annotated[str | None, strawberry.argument(
            description="新联系电话。 New phone number.")] = None,
        activity: Annotated[strawberry.ID | None, strawberry.argument(
            description="不能参加的活动（Activity.id）。 The activity the member could not "
            "attend (`Activity.id`).")] = None,
    ) -> Intent:
        code = check_org_code(str(organization), "organization")
        report = Report(kind=kind.name.lower(), period=period, text=text, address=address,
                        employer=employer, occupation=occupation, phone=phone,
                        activity=await _activity_key(info, activity))
        report.validate()
        origin = await _origin_of(info, str(member_key))
        also = (origin,) if origin and origin != code else ()
        return Intent(report, organization=code, member_key=str(member_key),
                      also_organizations=also)

    @strawberry.mutation(description="流出地党组织确认（或不予确认）成员的报告；确认后变更生效于“四个"
                         "清楚”。 The origin branch confirms (or rejects) a member's report, "
                         "at the member's origin organisation; a confirmed change then shows "
                         "in the member's four clarities (四个清楚). Needs `status_report`.")
    @ledger_action("report_confirmation")
    async def confirm_report(
        self, info: Info,
        report: Annotated[int, strawberry.argument(description="报告的台账编号。 Ledger number "
                                                   "of the report.")],
        accepted: Annotated[bool, strawberry.argument(description="是否确认。 Accept (true) or "
                                                      "reject (false).")] = True,
        note: Annotated[str | None, strawberry.argument(description="说明。 A note.")] = None,
    ) -> Intent:
        ctx: Context = info.context
        entry = await entry_by_id(ctx.runtime.session_factory, report)
        if entry is None or entry.action != "report" or entry.member_key is None:
            ctx.access.refused()
            raise NotFound(f"no report with ledger number {report}")
        origin = await _origin_of(info, entry.member_key)
        if origin is None:
            raise BadUserInput("the member has no origin organisation in the index to confirm "
                               "at")
        return Intent(ReportConfirmation(accepted=accepted, note=note), organization=origin,
                      member_key=entry.member_key, answers=entry.id,
                      effects=(one_confirmation,))


QUERY_TYPES: tuple[type, ...] = ()
MUTATION_TYPES = (ReportsMutation,)
