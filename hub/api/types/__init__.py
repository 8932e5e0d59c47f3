"""Strawberry types of the published schema."""

from hub.api.types.activity import Activity, AttendanceSummary
from hub.api.types.member import Attendance, Destination, FourClarities, Member, SourceRecord, Work
from hub.api.types.node import Node
from hub.api.types.organization import Organization
from hub.api.types.pagination import Connection, Edge, PageInfo
from hub.api.types.region import Region
from hub.api.types.system import DataQualityIssue, Source

__all__ = [
    "Activity",
    "Attendance",
    "AttendanceSummary",
    "Connection",
    "DataQualityIssue",
    "Destination",
    "Edge",
    "FourClarities",
    "Member",
    "Node",
    "Organization",
    "PageInfo",
    "Region",
    "Source",
    "SourceRecord",
    "Work",
]
