"""One walk over the operation before it runs: requested (type, field) pairs, depth and cost.

The policy check and the limits need the same facts, and both must see *every* way a field can
be reached: aliases, named and inline fragments, interfaces (`node(id:)`), connections' edges and
nodes. Walking the AST against the schema resolves each selection to its parent type, so
`node(id: "...") { ... on Member { idNumber } }` and
`members { edges { node { ...F } } }` both yield `Member.idNumber`.
Introspection (`__schema`, `__type`, `__typename`) is neither policed nor counted: it carries no
member data, and GraphiQL's own introspection query is deeper than any sane data query.

The walk also records every *filter* the operation applies (`QueryPlan.filters`): each given
filter argument of a list field (literal or variable, defaults included) with the (type, field)
it tests, because a filter with `totalCount` reveals that field as surely as selecting it
(`members(filter: {name: "张三"}) { totalCount }`). `Organization.members` always tests the
members' organisations. The policy step decides which of them the caller may use.
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
    GraphQLError,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Undefined,
    VariableNode,
    coerce_input_value,
    get_named_type,
    is_input_type,
    type_from_ast,
    value_from_ast,
    value_from_ast_untyped,
)

__all__ = ["QueryPlan", "FilterUse", "analyse", "PAGED_ARGUMENT", "FILTER_INPUTS",
           "FILTER_ARGUMENTS", "IMPLICIT_FILTERS", "LIST_BOUNDS", "PAGE_LISTS",
           "ARGUMENT_COSTS", "SOURCE_CALL_COST", "CAPPED_AT_MAX_LIST_SIZE", "list_bound"]

#: the argument that sets how many items a list field returns
PAGED_ARGUMENT = "first"
#: ... and its backward twin (`last`/`before`, hub.api.types.keyset): either sets the page
PAGED_ARGUMENTS = frozenset({PAGED_ARGUMENT, "last"})

#: the federation root field answering one entity per representation (hub.api.subgraph): its
#: selection runs once per representation, and how many there are is capped like members
ENTITIES_FIELD = "_entities"
ENTITIES_ARGUMENT = "representations"

#: the lists of a connection (`...Connection.edges`, `.nodes`): one page, already counted by
#: the paged field's multiplier
PAGE_LISTS = frozenset({"edges", "nodes"})

#: (type, field) of a list of objects without `first` -> the most items it returns; its
#: resolver enforces the same bound (hub.api.types, hub.api.loaders), so the cost estimate is
#: an upper bound of the real work. Unlisted lists count at `limits.max_list_size`, which is
#: also what the resolvers of attendees, a member's activities, contracts and the access log
#: cap at. tests/api/test_list_bounds.py checks every list field of the schema is bounded.
LIST_BOUNDS: Mapping[tuple[str, str], int] = {
    ("Member", "sources"): 20,        # one record per system, rarely two
    ("Organization", "sources"): 20,
    ("Query", "sources"): 50,         # the configured systems
    ("Source", "sync"): 10,           # one per entity
    # a contract's own parties and signatures: leaf objects already in memory, as many as the
    # signed document names (not cut by a resolver: a contract is shown whole)
    ("Contract", "parties"): 20,
    ("Contract", "signatures"): 20,
    ("ExchangeEntry", "deliveries"): 50,  # one per configured system of record, at most
    # a reconciliation: one count per category, one difference per compared field, the hub's
    # and each party's signature (hub.reconcile)
    ("Reconciliation", "counts"): 8,
    ("Reconciliation", "signatures"): 10,
    ("ReconciliationRow", "differences"): 9,
}

#: lists whose resolvers cap them at `limits.max_list_size` (and report a longer one)
CAPPED_AT_MAX_LIST_SIZE: frozenset[tuple[str, str]] = frozenset({
    ("Activity", "attendees"), ("Query", "contracts"),
    ("Query", "accessLog"),
})

#: one call to every configured source, as `sources(ping: true)` makes (pings are shared by
#: the whole request and cached for `limits.health_cache_seconds`, but each alias still asks)
SOURCE_CALL_COST = 1_000
#: (type, field, argument) -> cost added to the field when the argument is true
ARGUMENT_COSTS: Mapping[tuple[str, str, str], int] = {
    ("Query", "sources", "ping"): SOURCE_CALL_COST,
}


def list_bound(type_name: str, field_name: str, max_list_size: int) -> int:
    """The most items `type_name.field_name` (a list without `first`) returns."""
    return min(LIST_BOUNDS.get((type_name, field_name), max_list_size), max_list_size)


def _is_list(type_: Any) -> bool:
    return isinstance(getattr(type_, "of_type", None) if isinstance(type_, GraphQLNonNull)
                      else type_, GraphQLList)

#: input type -> its field -> (type, field) of the schema it tests, and the routing value it
#: compares when the field is one contract scopes are written in (origin_region,
#: destination_region, origin_org, status; hub.contracts.policy decides with it). Keep in step
#: with schema/yanxing.graphql and the SQL in hub/api/types/query.py (tests/api check the former).
FILTER_INPUTS: dict[str, dict[str, tuple[str, str, str | None]]] = {
    "MemberFilter": {
        "originRegion": ("Member", "originOrganization", "origin_region"),
        "originOrganization": ("Member", "originOrganization", "origin_org"),
        "destinationRegion": ("Destination", "region", "destination_region"),
        "status": ("Member", "status", "status"),
        "name": ("Member", "name", None),
    },
    "OrganizationFilter": {
        "kind": ("Organization", "kind", None),
        "region": ("Organization", "region", None),
        "parent": ("Organization", "parent", None),
        "name": ("Organization", "name", None),
    },
    "ActivityFilter": {
        "organization": ("Activity", "organiser", None),
        "kind": ("Activity", "kind", None),
        "since": ("Activity", "startTime", None),
        "until": ("Activity", "startTime", None),
    },
    "ExchangeEntryFilter": {
        # every tested field is the ledger's own, shown with any entry the caller may see
        "actions": ("ExchangeEntry", "action", None),
        "memberKey": ("ExchangeEntry", "memberKey", None),
        "organization": ("ExchangeEntry", "organizations", None),
        "party": ("ExchangeEntry", "party", None),
        "answers": ("ExchangeEntry", "answers", None),
        "since": ("ExchangeEntry", "recordedAt", None),
        "until": ("ExchangeEntry", "recordedAt", None),
    },
    # workflows 5 and 6 (hub.api.types.letters, .transfers): the letter's and the transfer's
    # own fields, shown with any letter or transfer the caller may see
    "EvaluationLetterFilter": {
        "year": ("EvaluationLetter", "year", None),
        "memberKey": ("EvaluationLetter", "memberKey", None),
        "state": ("EvaluationLetter", "state", None),
    },
    "TransferFilter": {
        "state": ("MembershipTransfer", "state", None),
        "memberKey": ("MembershipTransfer", "memberKey", None),
        "open": ("MembershipTransfer", "final", None),
    },
    # workflows 3 and 7 (hub.api.types.tasks, .points, .obligations): the fields they test
    # are the records' own, shown with any record the caller may see
    "TaskFilter": {
        "organization": ("Task", "organization", None),
        "kind": ("Task", "kind", None),
        "openOnly": ("Task", "deadline", None),
    },
    "PointsFilter": {
        "memberKey": ("PointEntry", "member", None),
        "year": ("PointEntry", "year", None),
        "organization": ("PointEntry", "organization", None),
    },
    "ObligationFilter": {
        "state": ("Obligation", "state", None),
        "contractId": ("Obligation", "contractId", None),
        "action": ("Obligation", "action", None),
    },
    "DataIssueFilter": {
        "system": ("DataQualityIssue", "system", None),
        "code": ("DataQualityIssue", "code", None),
        "includeResolved": ("DataQualityIssue", "system", None),
    },
}
#: (parent type, field, scalar argument) -> what it tests, as in FILTER_INPUTS
FILTER_ARGUMENTS: dict[tuple[str, str, str], tuple[str, str, str | None]] = {
    ("Organization", "members", "status"): ("Member", "status", "status"),
    # a reconciliation's rows by category: shown with every row the caller may see
    ("Reconciliation", "rows", "category"): ("ReconciliationRow", "category", None),
    # a member is due when it has no destination branch (or no transfer) past a threshold:
    # both arguments choose whose 流入地党组织 facts the list tests (the away-since evidence,
    # check-ins and attendance, is the hub's own ledger and index)
    ("Query", "membersDueForStep", "step"): ("Destination", "organization", None),
    ("Query", "membersDueForStep", "asOf"): ("Destination", "organization", None),
    # a branch's members (below) with their yearly organisation life (hub.api.types.orglife)
    ("Query", "organizationLifeCompliance", "organization"): (
        "Member", "originOrganization", None),
    ("Query", "organizationLifeCompliance", "year"): ("MemberCompliance", "year", None),
    ("Query", "organizationLifeCompliance", "belowOnly"): (
        "MemberCompliance", "compliant", None),
    # aggregates only (hub.api.types.statistics): the table's own dimensions
    ("Query", "statistics", "measure"): ("StatisticCell", "column", None),
    ("Query", "statistics", "year"): ("StatisticCell", "column", None),
    ("Query", "statistics", "groupBy"): ("StatisticCell", "row", None),
    ("Query", "statistics", "minCount"): ("StatisticCell", "count", None),
}
#: (parent type, field) -> the (type, field) pairs the list always tests: an organisation's
#: members are those whose membership is there or who attend there
IMPLICIT_FILTERS: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("Organization", "members"): (("Member", "originOrganization"),
                                  ("Destination", "organization")),
    ("Query", "organizationLifeCompliance"): (("Member", "originOrganization"),
                                              ("Destination", "organization")),
}


@dataclass(frozen=True, slots=True)
class FilterUse:
    """One filter the operation applies: `argument` as the caller wrote it (for messages),
    the (type, field) it tests, and the routing kind and value when it has one."""

    argument: str
    type_name: str
    field_name: str
    routing: str | None = None
    value: Any = None


@dataclass(slots=True)
class QueryPlan:
    """What the operation asks for. `requested` maps GraphQL type -> field names."""

    requested: dict[str, set[str]] = field(default_factory=dict)
    depth: int = 0
    cost: int = 0
    #: largest `first` argument seen (checked against max_page_size)
    max_first: int = 0
    #: every filter applied by a list field (see FILTER_INPUTS)
    filters: list[FilterUse] = field(default_factory=list)
    #: entity representations asked for by `_entities` (a federation router's fetch), summed
    #: over every use of it; capped by the per-request member limit
    entities: int = 0

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
        variables: dict[str, Any],
        default_page: int,
        max_list_size: int = 100,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.default_page = default_page
        self.max_list_size = max_list_size
        self.plan = QueryPlan()
        #: (fragment, target type) -> its (cost, depth); per operation (variables differ)
        self._memo: dict[tuple[str, str], tuple[int, int]] = {}
        self._open: set[str] = set()

    def start(self, variables: dict[str, Any]) -> None:
        """Walk another operation: its variables, and fragments costed afresh with them."""
        self.variables = variables
        self._memo.clear()

    def _first(self, node: FieldNode) -> int:
        for arg in node.arguments or ():
            if arg.name.value not in PAGED_ARGUMENTS:
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

    def _argument_value(self, node: FieldNode, name: str, arg_type: Any) -> Any:
        """The value of argument `name` as execution will see it (variables and their
        defaults resolved); None when absent or null."""
        for arg in node.arguments or ():
            if arg.name.value != name:
                continue
            if isinstance(arg.value, VariableNode):
                return self.variables.get(arg.value.name.value)
            value = value_from_ast(arg.value, arg_type, self.variables)
            return None if value is Undefined else value
        return None

    def _filters(self, node: FieldNode, parent: str, definition: Any) -> None:
        field_name = node.name.value
        for type_name, tested in IMPLICIT_FILTERS.get((parent, field_name), ()):
            self.plan.filters.append(FilterUse(f"{parent}.{field_name}", type_name, tested))
        for arg_name, arg in definition.args.items():
            arg_type = arg.type
            named = get_named_type(arg_type)
            inputs = FILTER_INPUTS.get(named.name)
            scalar = FILTER_ARGUMENTS.get((parent, field_name, arg_name))
            if inputs is None and scalar is None:
                continue
            value = self._argument_value(node, arg_name, arg_type)
            if value is None:
                continue
            if scalar is not None:
                self._use(f"{field_name}({arg_name})", scalar, value)
                continue
            if not isinstance(value, Mapping):
                continue
            assert inputs is not None
            out_names: dict[str, str] = {
                f.out_name: n for n, f in getattr(named, "fields", {}).items()
                if getattr(f, "out_name", None)
            }
            for key, item in value.items():
                schema_key = out_names[key] if key in out_names else key
                input_tested = inputs.get(schema_key)
                if input_tested is None or item is None or item == "" or item is False:
                    continue  # an empty name or `includeResolved: false` filters nothing
                self._use(f"{field_name}({arg_name}.{schema_key})", input_tested, item)

    def _use(self, argument: str, tested: tuple[str, str, str | None], value: Any) -> None:
        type_name, field_name, routing = tested
        if hasattr(value, "value"):  # an enum member (status): its canonical value
            value = value.value
        self.plan.filters.append(FilterUse(argument, type_name, field_name, routing,
                                           str(value) if routing else None))

    def walk(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType,
    ) -> tuple[int, int]:
        """(cost, depth) of `selection_set` under `parent`, recording the pairs and filters.
        Depth is relative: a selection set of leaves has depth 1."""
        if selection_set is None:
            return 0, 0
        cost = depth = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                inner_cost, inner_depth = self._field(selection, parent)
            elif isinstance(selection, InlineFragmentNode):
                target = parent
                if selection.type_condition is not None:
                    found = self.schema.get_type(selection.type_condition.name.value)
                    target = found if found is not None else parent
                inner_cost, inner_depth = self.walk(selection.selection_set, target)
            elif isinstance(selection, FragmentSpreadNode):
                inner_cost, inner_depth = self._spread(selection.name.value, parent)
            else:
                continue
            cost += inner_cost
            depth = max(depth, inner_depth)
        return cost, depth

    def _spread(self, name: str, parent: GraphQLNamedType) -> tuple[int, int]:
        """A fragment is walked once per target type and its (cost, depth) reused by every
        spread of it: the analysis stays linear in the document however often a fragment is
        spread (a fragment spreading the previous one twice, 30 deep, is 2^30 walks
        otherwise). Its pairs and filters are the same wherever it is spread."""
        fragment = self.fragments.get(name)
        if fragment is None or name in self._open:  # validation reports cycles and unknowns
            return 0, 0
        target = self.schema.get_type(fragment.type_condition.name.value) or parent
        key = (name, target.name)
        found = self._memo.get(key)
        if found is None:
            self._open.add(name)
            try:
                found = self.walk(fragment.selection_set, target)
            finally:
                self._open.discard(name)
            self._memo[key] = found
        return found

    def _field(self, node: FieldNode, parent: GraphQLNamedType) -> tuple[int, int]:
        name = node.name.value
        if name.startswith("__"):
            return 0, 0
        for type_name in _concrete_names(self.schema, parent):
            self.plan.add(type_name, name)
        if not isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
            return 1, 1
        definition = parent.fields.get(name)
        if definition is None:
            return 1, 1
        self._filters(node, parent.name, definition)
        multiplier = self._multiplier(node, parent.name, definition)
        child = get_named_type(definition.type)
        cost, depth = self.walk(node.selection_set, child)
        return 1 + multiplier * cost + self._argument_cost(node, parent.name, definition), 1 + depth

    def _multiplier(self, node: FieldNode, parent: str, definition: Any) -> int:
        """How many times the field's selection runs: a paged field's page size; a list
        without `first` its declared bound (LIST_BOUNDS, enforced by its resolver); a page's
        own lists (edges, nodes) 1, as the page's size already counts them."""
        if PAGED_ARGUMENT in definition.args:
            return self._first(node)
        if node.name.value == ENTITIES_FIELD and ENTITIES_ARGUMENT in definition.args:
            return self._entities(node, definition)
        if not _is_list(definition.type):
            return 1
        if parent.endswith("Connection") and node.name.value in PAGE_LISTS:
            return 1
        return list_bound(parent, node.name.value, self.max_list_size)

    def _entities(self, node: FieldNode, definition: Any) -> int:
        """An `_entities` field runs its selection once per representation (at least once, so
        an empty or unreadable list still costs its selection)."""
        value = self._argument_value(node, ENTITIES_ARGUMENT,
                                     definition.args[ENTITIES_ARGUMENT].type)
        count = len(value) if isinstance(value, (list, tuple)) else 1
        self.plan.entities += count
        return max(count, 1)

    def _argument_cost(self, node: FieldNode, parent: str, definition: Any) -> int:
        """What an argument adds to the field's own cost (`sources(ping: true)` calls every
        source): see ARGUMENT_COSTS."""
        cost = 0
        for (type_name, field_name, arg_name), extra in ARGUMENT_COSTS.items():
            if (
                type_name == parent
                and field_name == node.name.value
                and arg_name in definition.args
            ):
                if self._argument_value(node, arg_name, definition.args[arg_name].type):
                    cost += extra
        return cost


def analyse(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    *,
    default_page: int = 20,
    max_list_size: int = 100,
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
    walker = _Walker(schema, fragments, {}, default_page, max_list_size)
    for operation in chosen[:1] if operation_name is None and len(chosen) == 1 else chosen:
        walker.start(_with_defaults(schema, operation, variables or {}))
        root = schema.get_root_type(operation.operation)
        if root is not None:
            cost, depth = walker.walk(operation.selection_set, root)
            walker.plan.cost += cost
            walker.plan.depth = max(walker.plan.depth, depth)
    return walker.plan


def _with_defaults(schema: GraphQLSchema, operation: OperationDefinitionNode,
                   variables: Mapping[str, Any]) -> dict[str, Any]:
    """`variables` with the operation's declared defaults filled in, coerced to Python values
    as execution will see them (an invalid value is left raw: validation refuses it)."""
    out: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        var_type = type_from_ast(schema, definition.type)
        if name in variables:
            raw = variables[name]
            if var_type is not None and is_input_type(var_type):
                coerced = _coerce(raw, var_type)
                out[name] = raw if coerced is Undefined else coerced
            else:
                out[name] = raw
        elif definition.default_value is not None and var_type is not None:
            value = value_from_ast(definition.default_value, var_type)  # type: ignore[arg-type]
            out[name] = None if value is Undefined else value
    return out


def _coerce(raw: Any, type_: GraphQLInputType) -> Any:
    try:
        return coerce_input_value(raw, type_)
    except GraphQLError:
        return Undefined
