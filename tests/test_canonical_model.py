"""One canonical model: every field list of the hub is derived from `connectors.canonical`.

The pinned literals below are the lists the modules restated by hand before the table
existed: the derived views must still say exactly that (the behaviour did not change), and
each view must agree with the table (adding a field is one line there).
"""

from __future__ import annotations

from datetime import date, datetime

from graphql import GraphQLObjectType, build_schema

from connectors.base import PartialDate
from connectors.canonical import (
    AUTHORITIES,
    ENTITIES,
    ENUMS,
    FIELD_TYPES,
    FIELDS,
    SENSITIVITIES,
    TYPES,
    fields_of,
)
from hub.api.extensions.fields import MEMBER_FIELDS
from hub.api.schema import print_sdl
from hub.contracts.policy import MASKED_UNLESS_GRANTED, MEMBER_TYPES, OWN_DATA_MASKED
from hub.federation.fetch import _MEMBER_TYPES
from hub.federation.merge import merge_field
from hub.model import FIELD_AUTHORITY, MEMBER_PYTHON_TYPES, Authority, Side
from hub.policy.masking import MASKED_FIELDS


def test_the_table_is_well_formed() -> None:
    seen = set()
    for f in FIELDS:
        assert (f.entity, f.name) not in seen, f"{f.entity}.{f.name} is listed twice"
        seen.add((f.entity, f.name))
        assert f.value_type in TYPES and f.authority in AUTHORITIES
        assert f.sensitivity in SENSITIVITIES and f.term
        assert (f.value_type == "enum") == ((f.entity, f.name) in ENUMS), f.name
    assert ENTITIES == ("member", "organization", "activity", "attendance", "study_record")


def test_connector_field_types_come_from_the_table() -> None:
    assert {e: dict(fs) for e, fs in FIELD_TYPES.items()} == {
        e: {f.name: f.value_type for f in fields_of(e)} for e in ENTITIES}


def test_fetch_types_come_from_the_table() -> None:
    assert _MEMBER_TYPES == MEMBER_PYTHON_TYPES == {
        f.name: f.python_types for f in fields_of("member")}
    assert _MEMBER_TYPES["birth_date"] == (PartialDate, date)
    assert _MEMBER_TYPES["updated_at"] == (datetime,) and _MEMBER_TYPES["name"] == (str,)


def test_merge_authority_comes_from_the_table() -> None:
    assert FIELD_AUTHORITY == {f.name: Authority(f.authority) for f in fields_of("member")
                               if f.authority != "newest"}
    origin = {"id_number", "name", "gender", "birth_date", "status", "origin_org_id",
              "origin_org_name", "origin_region_code"}
    destination = {"destination_region_code", "destination_address", "employer", "occupation",
                   "destination_since", "destination_org_id"}
    assert FIELD_AUTHORITY == {**{f: Authority.ORIGIN for f in origin},
                               **{f: Authority.DESTINATION for f in destination}}
    assert Side.ORIGIN.value == Authority.ORIGIN.value  # the merge compares them by value
    assert merge_field("employer", []) is None


def test_graphql_member_fields_come_from_the_table() -> None:
    assert dict(MEMBER_FIELDS) == {
        ("Member", "name"): ("name",), ("Member", "gender"): ("gender",),
        ("Member", "birthDate"): ("birth_date",), ("Member", "idNumber"): ("id_number",),
        ("Member", "phone"): ("phone",), ("Member", "status"): ("status",),
        ("Member", "originOrganization"): ("origin_org_id", "origin_org_name"),
        ("Member", "updatedAt"): ("updated_at",),
        ("Destination", "region"): ("destination_region_code",),
        ("Destination", "address"): ("destination_address",),
        ("Destination", "employer"): ("employer",),
        ("Destination", "occupation"): ("occupation",),
        ("Destination", "since"): ("destination_since",),
        ("Destination", "organization"): ("destination_org_id",),
        ("Work", "employer"): ("employer",), ("Work", "occupation"): ("occupation",),
        ("FourClarities", "intendsReturnBusiness"): ("intends_return_business",),
        ("FourClarities", "willingVillageCadre"): ("willing_village_cadre",),
    }
    for pair, names in MEMBER_FIELDS.items():
        assert all(pair in next(f for f in fields_of("member") if f.name == n).graphql
                   for n in names)


def test_policy_field_names_come_from_the_table() -> None:
    assert MASKED_FIELDS == {("Member", "idNumber"), ("Member", "phone"),
                             ("Organization", "contactPhone")}
    assert MASKED_FIELDS == {p for f in FIELDS if f.sensitivity != "ordinary" for p in f.graphql}
    assert OWN_DATA_MASKED == {("Member", "idNumber")}
    assert MASKED_UNLESS_GRANTED == {("Organization", "contactPhone")}
    # and a deployment's extension fields (hub.api.extension_fields), governed as a member's
    assert MEMBER_TYPES == {"Member", "Destination", "Work", "FourClarities", "MemberExtensions"}


def test_every_graphql_name_in_the_table_is_in_the_published_schema() -> None:
    schema = build_schema(print_sdl())
    for f in FIELDS:
        for type_name, field in f.graphql:
            gql_type = schema.get_type(type_name)
            assert isinstance(gql_type, GraphQLObjectType), f"{f.name}: no type {type_name}"
            assert field in gql_type.fields, f"{f.entity}.{f.name}: no {type_name}.{field}"
