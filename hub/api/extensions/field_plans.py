"""Completion plans: a selection over many policed objects completed without graphql-core's
per-field machinery, compiled once per (parent type, selection) and request.

graphql-core completes each field of each object the same way: a `Path`, a resolve info, the
resolver, `complete_value`'s type dispatch (non-null, list, leaf, abstract, object), and for a
nested object `complete_object_value` and the sub-selection's collection again. A 50-member
page has ~300 such fields and the machinery was most of the hub's CPU per page (issue 11).
Everything it decides per field but the value is the same for every object of a selection, so
`PlannedExecutor.execute_fields` decides it once, the first time it meets a grouped field set
(graphql-core memoizes the set per selection, so a list's items share it), as a `_Plan`: per
response key, the field, its resolver's `at_once` form (hub.api.extensions.policed_fields:
the source and the request's context are all it reads), and how its value completes (a leaf's
`coerce_output_value`, or a nested object's own grouped field set, itself planned). Per object
the plan then calls `at_once` and stores the coerced value, building a `Path` only for a
nested object or an error and no resolve info at all. An object item of a list (a page's
members) whose selection is planned goes to its plan from `complete_list_item_value` at once
(after the type's `is_type_of`, with the list field's info, as graphql-core asks it).

Whatever is not the common case takes graphql-core's exact path, so answers, errors (their
paths, messages and codes) and null propagation are graphql-core's own:
- a field the plan does not handle (arguments, directives, deferred, a list, an abstract type,
  a type with `is_type_of`, a resolver needing resolve info) is `execute_field` as usual;
- `at_once` answering `LATER` (it needs the resolve info, e.g. a member whose source failures
  are reported at the field's path) is `execute_field` as usual, which calls the resolver;
- a value that is awaitable, an exception, null for a non-null field, or a leaf its type's
  coercion refuses is completed by graphql-core from there (`_complete`: the rest of
  `execute_field`, with the resolve info it would have had); so is a list item that is not
  an object of a planned selection, or that `is_type_of` does not answer True for;
- an exception from `at_once` is `handle_field_error` at the field's path, as it would be;
- middleware (schema extensions with a `resolve` hook) or incremental delivery: no plan.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from types import CoroutineType, GeneratorType
from typing import Any

from graphql import (
    GraphQLID,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLString,
    Undefined,
    is_leaf_type,
)
from graphql.execution.collect_fields import FieldDetailsList, GroupedFieldSet
from graphql.execution.executor import to_nodes
from graphql.pyutils import Path, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from hub.api.types.policed import LATER

__all__ = ["PlannedExecutor"]

#: values that are never awaitable and complete as they are (a leaf's or an object's result)
_PLAIN: frozenset[type] = frozenset({type(None), str, int, float, bool})
_DONE: frozenset[type] = _PLAIN | {dict}


@dataclass(slots=True, frozen=True)
class _Step:
    """One response key of a selection: how its value is found and completed."""

    key: str
    details: FieldDetailsList
    field: Any  # GraphQLField (graphql-core's own annotations are looser than mypy likes)
    #: `at_once(source, context)`; None: the field takes graphql-core's `execute_field`
    at_once: Callable[[Any, Any], Any] | None = None
    nullable: bool = True
    #: a leaf field's named type (its `coerce_output_value`)
    leaf: GraphQLLeafType | None = None
    #: the value type a leaf's coercion answers as it is (`str` for String and ID)
    same: type | None = None
    #: a nested object field's type and grouped field set
    object_type: GraphQLObjectType | None = None
    sub_fields: GroupedFieldSet | None = None
    #: `__typename`: the parent type's name
    constant: str | None = None


@dataclass(slots=True, frozen=True)
class _Plan:
    parent: GraphQLObjectType
    steps: tuple[_Step, ...]


class PlannedExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, completing the selections of policed objects by plan
    (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: grouped field set id -> (the set, kept alive; its parent type; its plan or None)
        self._plans: dict[int, tuple[GroupedFieldSet, GraphQLObjectType, _Plan | None]] = {}
        #: field details list id -> (the list, kept alive; its item type; the object item
        #: type and grouped field set of a planned selection, or Nones)
        self._items: dict[int, tuple[FieldDetailsList, GraphQLOutputType,
                                     GraphQLObjectType | None, GroupedFieldSet | None]] = {}

    def execute_fields(self, parent_type: GraphQLObjectType, source_value: Any,
                       path: Path | None, grouped_field_set: GroupedFieldSet,
                       position_context: Any) -> Any:
        if position_context is None:
            found = self._plans.get(id(grouped_field_set))
            plan = found[2] if found is not None and found[0] is grouped_field_set and \
                found[1] is parent_type else self._plan(parent_type, grouped_field_set)
            if plan is not None:
                return self._run(plan, source_value, path)
        return super().execute_fields(parent_type, source_value, path, grouped_field_set,
                                      position_context)

    def complete_list_item_value(self, item: Any, complete_results: list[Any],
                                 item_type: GraphQLOutputType,
                                 field_details_list: FieldDetailsList, info: Any,
                                 item_path: Path, position_context: Any) -> bool:
        """An object of a list whose items' selection is planned goes to the plan at once
        (graphql-core's complete_value, complete_object_value and the sub-selection's
        collection in between decide nothing per item); anything else is graphql-core's."""
        kind = type(item)
        if position_context is None and item is not None and item is not Undefined and \
                (kind in _SETTLED or _is_settled(kind)):
            found = self._items.get(id(field_details_list))
            if found is None or found[0] is not field_details_list or found[1] is not item_type:
                named, sub_fields = self._item_selection(item_type, field_details_list)
                found = self._items[id(field_details_list)] = (
                    field_details_list, item_type, named, sub_fields)
            named, sub_fields = found[2], found[3]
            if named is not None and sub_fields is not None:
                is_type_of = named.is_type_of
                try:  # is_type_of raising is an error at the item's path, as in graphql-core
                    fits = is_type_of is None or is_type_of(item, info) is True
                    completed = self.execute_fields(named, item, item_path, sub_fields,
                                                    None) if fits else None
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, field_details_list,
                                            item_path)
                    complete_results.append(None)
                    return False
                if type(completed) is dict:
                    complete_results.append(completed)
                    return False
                if completed is not None:  # awaitable (None: not this type, graphql-core's)
                    complete_results.append(self._await_completed(
                        completed, item_type, field_details_list, item_path))
                    return True
        return super().complete_list_item_value(item, complete_results, item_type,
                                                field_details_list, info, item_path,
                                                position_context)

    # ------------------------------------------------------------ compiling

    def _item_selection(self, item_type: GraphQLOutputType, field_details_list: FieldDetailsList
                        ) -> tuple[GraphQLObjectType | None, GroupedFieldSet | None]:
        """A list's object item type and its items' grouped field set when that is planned;
        (None, None) otherwise."""
        named = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
        if not isinstance(named, GraphQLObjectType):
            return None, None
        sub_fields, deferred, _ = self.collect_subfields(named, field_details_list)
        if deferred:
            return None, None
        return (named, sub_fields) if self._plan(named, sub_fields) is not None else (None, None)

    def _plan(self, parent_type: GraphQLObjectType,
              grouped_field_set: GroupedFieldSet) -> _Plan | None:
        """The plan of a selection, compiled the first time (`execute_fields` looks it up
        itself first: a call less per object)."""
        found = self._plans.get(id(grouped_field_set))
        if found is not None and found[0] is grouped_field_set and found[1] is parent_type:
            return found[2]
        plan = self._compile(parent_type, grouped_field_set)
        self._plans[id(grouped_field_set)] = (grouped_field_set, parent_type, plan)
        return plan

    def _compile(self, parent_type: GraphQLObjectType,
                 grouped_field_set: GroupedFieldSet) -> _Plan | None:
        """The plan of a selection, or None when no field of it is planned (or middleware
        wraps every resolver)."""
        if self.middleware_manager is not None and self.middleware_manager.middlewares:
            return None
        steps = tuple(self._step(parent_type, key, details)
                      for key, details in grouped_field_set.items())
        if all(s.at_once is None and s.constant is None for s in steps):
            return None
        return _Plan(parent_type, steps)

    def _step(self, parent_type: GraphQLObjectType, key: str,
              details: FieldDetailsList) -> _Step:
        node = details[0].node
        name = node.name.value
        field = self.schema.get_field(parent_type, name)
        generic = _Step(key, details, field)
        if field is None or any(d.defer_usage is not None or d.fragment_variable_values
                                or d.node.arguments or d.node.directives for d in details):
            return generic
        if name == "__typename":
            return _Step(key, details, field, constant=parent_type.name)
        at_once = getattr(field.resolve, "_policed_at_once", None)
        if at_once is None:
            return generic
        return_type: GraphQLOutputType = field.type
        nullable = not isinstance(return_type, GraphQLNonNull)
        named = return_type if nullable else return_type.of_type  # type: ignore[union-attr]
        if is_leaf_type(named):
            return _Step(key, details, field, at_once, nullable, leaf=named,
                         same=str if named is GraphQLString or named is GraphQLID else None)
        if isinstance(named, GraphQLObjectType) and named.is_type_of is None:
            sub_fields, deferred, _ = self.collect_subfields(named, details)
            if not deferred:
                return _Step(key, details, field, at_once, nullable, object_type=named,
                             sub_fields=sub_fields)
        return generic

    # ------------------------------------------------------------ running

    def _run(self, plan: _Plan, source: Any, path: Path | None) -> Any:
        """`execute_fields` of one object by `plan`: the same results in the same order, the
        same errors, and awaitable fields gathered as graphql-core gathers them."""
        parent = plan.parent
        results: dict[str, Any] = {}
        awaiting: list[str] = []
        ctx = self.context_value
        try:
            for step in plan.steps:
                if step.constant is not None:
                    results[step.key] = step.constant
                    continue
                if step.at_once is None:
                    result = self.execute_field(parent, source, step.details,
                                                Path(path, step.key, parent.name), None)
                    if result is Undefined:
                        continue
                else:
                    result = self._planned(step, parent, source, path, ctx)
                results[step.key] = result
                if type(result) not in _DONE and self.is_awaitable(result):
                    awaiting.append(step.key)
        except Exception:
            if awaiting:
                self.settle_in_background([results[key] for key in awaiting])
            raise
        if not awaiting:
            return results
        return _gathered(results, awaiting)

    def _planned(self, step: _Step, parent: GraphQLObjectType, source: Any,
                 path: Path | None, ctx: Any) -> Any:
        """One planned field of one object: its value at once, or graphql-core's path."""
        assert step.at_once is not None
        try:
            value = step.at_once(source, ctx)
        except Exception as raw_error:
            self.handle_field_error(raw_error, step.field.type, step.details,
                                    Path(path, step.key, parent.name))
            return None
        kind = type(value)
        if kind is step.same:
            return value  # String's and ID's coercion answer a str as it is
        if value is LATER:
            return self.execute_field(parent, source, step.details,
                                      Path(path, step.key, parent.name), None)
        if value is None or value is Undefined:
            if step.nullable:
                return None
        elif kind in _SETTLED or _is_settled(kind):
            if step.leaf is not None:
                try:
                    coerced = step.leaf.coerce_output_value(value)
                except Exception:  # graphql-core coerces it again below and says why
                    coerced = None
                if coerced is not None and coerced is not Undefined:
                    return coerced
            elif step.object_type is not None:
                assert step.sub_fields is not None
                field_path = Path(path, step.key, parent.name)
                try:
                    completed = self.execute_fields(step.object_type, value, field_path,
                                                    step.sub_fields, None)
                except Exception as raw_error:
                    self.handle_field_error(raw_error, step.field.type, step.details,
                                            field_path)
                    return None
                if type(completed) is dict:
                    return completed
                return self._await_completed(completed, step.field.type, step.details,
                                             field_path)
        return self._complete(step, parent, path, value)

    def _complete(self, step: _Step, parent: GraphQLObjectType, path: Path | None,
                  result: Any) -> Any:
        """graphql-core's `execute_field` from the resolver's `result` on, with the resolve
        info it builds: the exact path for every value the plan does not complete itself."""
        field_path = Path(path, step.key, parent.name)
        return_type = step.field.type
        info = self.build_resolve_info(step.field, to_nodes(step.details), parent, field_path)
        try:
            if self.is_awaitable(result):
                return self.complete_awaitable_value(return_type, step.details, info,
                                                     field_path, result, None)
            completed = self.complete_value(return_type, step.details, info, field_path,
                                            result, None)
            if self.is_awaitable(completed):
                return self._await_completed(completed, step.field.type, step.details,
                                             field_path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, step.details, field_path)
            return None
        return completed

    async def _await_completed(self, completed: Awaitable[Any], return_type: GraphQLOutputType,
                               details: FieldDetailsList, path: Path) -> Any:
        """A completion that awaits (graphql-core's `await_completed` in `execute_field` and
        `complete_list_item_value`)."""
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, details, path)
            return None


#: types whose values are never awaitable nor exceptions (a leaf's enum, a date), learnt
_SETTLED: set[type] = set(_PLAIN)


def _is_settled(kind: type) -> bool:
    """Are values of `kind` never awaitable nor exceptions? (Learnt once per type.)"""
    if issubclass(kind, (Awaitable, CoroutineType, GeneratorType, BaseException)):
        return False
    _SETTLED.add(kind)
    return True


def _gathered(results: dict[str, Any], awaiting: list[str]) -> Coroutine[Any, Any, Any]:
    """The results once their awaitable fields are awaited (as `execute_fields` does)."""
    async def get_results() -> dict[str, Any]:
        if len(awaiting) == 1:
            key = awaiting[0]
            results[key] = await results[key]
        else:
            awaited = await gather_with_cancel(*(results[key] for key in awaiting))
            results.update(zip(awaiting, awaited, strict=True))
        return results

    return get_results()
