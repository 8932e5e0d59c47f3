"""One walk over the operation before it runs: requested (type, field) pairs, depth and cost.

The policy check and the limits need the same facts, and both must see *every* way a field can
be reached: aliases, named and inline fragments, interfaces (`node(id:)`), connections' edges and
nodes. Walking the AST against the schema resolves each selection to its parent type, so
`node(id: "...") { ... on Member { idNumber } }` and
`members { edges { node { ...F } } }` both yield `Member.idNumber`.
Introspection (`__schema`, `__type`, `__typename`) is neither policed nor counted: it carries no
member data, and GraphiQL's own introspection query is deeper than any sane data query.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    value_from_ast_untyped,
)

__all__ = ["QueryPlan", "analyse", "PAGED_ARGUMENT"]

#: the argument that sets how many items a list field returns
PAGED_ARGUMENT = "first"


@dataclass(slots=True)
class QueryPlan:
    """What the operation asks for. `requested` maps GraphQL type -> field names."""

    requested: dict[str, set[str]] = field(default_factory=dict)
    depth: int = 0
    cost: int = 0
    #: largest `first` argument seen (checked against max_page_size)
    max_first: int = 0

    def add(self, type_name: str, field_name: str) -> None:
        self.requested.setdefault(type_name, set()).add(field_name)

    def wants(self, type_name: str, field_name: str) -> bool:
        return field_name in self.requested.get(type_name, ())


def _concrete_names(schema: GraphQLSchema, type_: GraphQLNamedType) -> list[str]:
    """An interface stands for all its implementations: a field asked on `Node` is asked on
    every type that implements it."""
    if isinstance(type_, GraphQLInterfaceType):
        return [type_.name] + [t.name for t in schema.get_possible_types(type_)]
    return [type_.name]


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        default_page: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.default_page = default_page
        self.plan = QueryPlan()

    def _first(self, node: FieldNode) -> int:
        for arg in node.arguments or ():
            if arg.name.value != PAGED_ARGUMENT:
                continue
            if isinstance(arg.value, VariableNode):
                value = self.variables.get(arg.value.name.value)
            else:
                value = value_from_ast_untyped(arg.value, self.variables)
            if isinstance(value, int) and not isinstance(value, bool):
                self.plan.max_first = max(self.plan.max_first, value)
                return max(value, 1)
            return self.default_page
        return self.default_page

    def walk(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType,
        depth: int,
        seen: frozenset[str] = frozenset(),
    ) -> int:
        """Return the cost of `selection_set` under `parent`, recording pairs and depth."""
        if selection_set is None:
            return 0
        cost = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                cost += self._field(selection, parent, depth, seen)
            elif isinstance(selection, InlineFragmentNode):
                target = parent
                if selection.type_condition is not None:
                    found = self.schema.get_type(selection.type_condition.name.value)
                    target = found if found is not None else parent
                cost += self.walk(selection.selection_set, target, depth, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:  # validation reports cycles and unknowns
                    continue
                target = self.schema.get_type(fragment.type_condition.name.value) or parent
                cost += self.walk(fragment.selection_set, target, depth, seen | {name})
        return cost

    def _field(
        self, node: FieldNode, parent: GraphQLNamedType, depth: int, seen: frozenset[str]
    ) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0
        for type_name in _concrete_names(self.schema, parent):
            self.plan.add(type_name, name)
        self.plan.depth = max(self.plan.depth, depth + 1)
        if not isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
            return 1
        definition = parent.fields.get(name)
        if definition is None:
            return 1
        # a paged field multiplies everything under it by its page size; plain lists inside a
        # page (edges, nodes, sources) are already counted by that multiplier
        paged = PAGED_ARGUMENT in definition.args
        multiplier = self._first(node) if paged else 1
        child = get_named_type(definition.type)
        return 1 + multiplier * self.walk(node.selection_set, child, depth + 1, seen)


def analyse(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    *,
    default_page: int = 20,
) -> QueryPlan:
    """Plan the operation that will run (`operation_name`, or the only one)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [
        op for op in operations
        if operation_name is None or (op.name is not None and op.name.value == operation_name)
    ]
    walker = _Walker(schema, fragments, variables or {}, default_page)
    for operation in chosen[:1] if operation_name is None and len(chosen) == 1 else chosen:
        root = schema.get_root_type(operation.operation)
        if root is not None:
            walker.plan.cost += walker.walk(operation.selection_set, root, 0)
    return walker.plan
