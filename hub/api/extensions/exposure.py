"""What a production hub does not tell about its own schema: introspection and suggestions.

The mode (hub.settings.Mode) travels on the request's Context, so one schema object serves a
development app and a production app in the same process (tests, benchmarks):

- `IntrospectionGate` adds `NoIntrospection` to the validation rules when the mode refuses
  introspection. The validation cache (hub.api.extensions.documents) is keyed by the rules as
  well as the text, so a document validated in development is validated again in production.
- `strip_suggestions` removes graphql-core's "Did you mean ...?" hints, which let a client
  guess field, argument, type and enum names one typo at a time with introspection off.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from graphql import FieldNode, GraphQLError, ValidationRule
from strawberry.extensions import SchemaExtension

from hub.api.context import Context

__all__ = ["IntrospectionGate", "NoIntrospection", "INTROSPECTION_DISABLED",
           "strip_suggestions"]

INTROSPECTION_DISABLED = "INTROSPECTION_DISABLED"
#: the meta-fields that open the schema; `__typename` names one type only and stays allowed
_ENTRY_POINTS = frozenset({"__schema", "__type"})
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


class NoIntrospection(ValidationRule):
    """Refuse `__schema` and `__type` wherever they appear (fragments included). Every other
    introspection type is reachable only through them, so refusing the entry points refuses
    it all, with one error per entry point instead of one per nested field."""

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        if node.name.value in _ENTRY_POINTS:
            self.report_error(GraphQLError(
                f"introspection (`{node.name.value}`) is disabled on this hub; the published "
                "schema is schema/yanxing.graphql (`yanxing schema export`)",
                node, extensions={"code": INTROSPECTION_DISABLED},
            ))


class IntrospectionGate(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        ctx = self.execution_context.context
        if not isinstance(ctx, Context) or not ctx.mode.introspection:
            ec = self.execution_context
            ec.validation_rules = (*ec.validation_rules, NoIntrospection)
        yield


def strip_suggestions(message: str) -> str:
    """`Cannot query field 'nme' on type 'Member'. Did you mean 'name'?` -> without the hint."""
    return _SUGGESTION.sub("", message)
