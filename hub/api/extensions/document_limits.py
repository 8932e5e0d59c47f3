"""Size limits on the document itself, checked before GraphQL validation runs.

Validation and the typed analysis (hub.api.extensions.analysis) both walk the document, so the
document's *expanded* size must be known to be small before either starts. One linear pass,
memoised per fragment (a fragment spread a million times is counted once and multiplied),
finds:
- the expanded field count (every field selection, `__typename` included, as execution would
  see it with every spread inlined): `limits.max_fields`; the 30-fragment doubling document
  (`fragment F1 on Query { ...F0 a1: __typename ...F0 }` ...) expands to 2^30 fields and is
  refused here in microseconds;
- the expanded alias count: `limits.max_aliases` (2,500 aliases of one expensive field);
- the directive count (every `@directive` written): `limits.max_directives`, and a directive
  repeated on one location, which the spec forbids for non-repeatable directives and which is
  how directive overloading is probed (`__typename @aa@aa@aa...`): one error, not one per copy.
The pass is syntactic: unknown fragments and fragment cycles count as nothing here and are
reported by validation, which then runs on a document known to be small.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension

from hub.api.context import Context
from hub.errors import LimitExceeded
from hub.settings import Limits

__all__ = ["DocumentSize", "measure", "document_problem", "DocumentLimits"]


@dataclass(frozen=True, slots=True)
class DocumentSize:
    """What the document asks for once every fragment spread is inlined."""

    fields: int
    aliases: int


class _TooLarge(Exception):
    """The expanded count passed `max_fields`: stop counting, the answer is known."""


class _Counter:
    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode], max_fields: int) -> None:
        self.fragments = fragments
        self.max_fields = max_fields
        self.memo: dict[str, DocumentSize] = {}
        self.open: set[str] = set()  # fragments being counted (a cycle counts as nothing)

    def selections(self, selection_set: SelectionSetNode | None) -> DocumentSize:
        if selection_set is None:
            return DocumentSize(0, 0)
        fields = aliases = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                inner = self.selections(selection.selection_set)
                fields += 1 + inner.fields
                aliases += (selection.alias is not None) + inner.aliases
            elif isinstance(selection, InlineFragmentNode):
                inner = self.selections(selection.selection_set)
                fields += inner.fields
                aliases += inner.aliases
            elif isinstance(selection, FragmentSpreadNode):
                inner = self.fragment(selection.name.value)
                fields += inner.fields
                aliases += inner.aliases
            if fields > self.max_fields:
                raise _TooLarge
        return DocumentSize(fields, aliases)

    def fragment(self, name: str) -> DocumentSize:
        found = self.memo.get(name)
        if found is not None:
            return found
        definition = self.fragments.get(name)
        if definition is None or name in self.open:
            return DocumentSize(0, 0)
        self.open.add(name)
        try:
            found = self.selections(definition.selection_set)
        finally:
            self.open.discard(name)
        self.memo[name] = found
        return found


def measure(document: DocumentNode, max_fields: int) -> DocumentSize | None:
    """The expanded size of every operation in `document` together; None as soon as the
    field count passes `max_fields` (the rest is not walked)."""
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    counter = _Counter(fragments, max_fields)
    fields = aliases = 0
    try:
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                size = counter.selections(definition.selection_set)
                fields += size.fields
                aliases += size.aliases
                if fields > max_fields:
                    return None
    except _TooLarge:
        return None
    return DocumentSize(fields, aliases)


def _directive_lists(document: DocumentNode) -> Iterator[Sequence[DirectiveNode]]:
    """Every list of directives written in the document (one per location), iteratively:
    a deep document must not exhaust the stack here."""
    stack: list[object] = list(document.definitions)
    while stack:
        node = stack.pop()
        directives = getattr(node, "directives", None)
        if directives:
            yield directives
        for variable in getattr(node, "variable_definitions", None) or ():
            stack.append(variable)
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            stack.extend(selection_set.selections)


def document_problem(document: DocumentNode, limits: Limits) -> str | None:
    """Why `document` is too large to validate or run, or None when it is within limits."""
    total = 0
    for directives in _directive_lists(document):
        total += len(directives)
        names = [d.name.value for d in directives]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            return (f"directive @{repeated[0]} is repeated on one location; a directive may be "
                    "used once per field, fragment or operation")
    if total > limits.max_directives:
        return (f"the document uses {total} directives; at most {limits.max_directives} are "
                "allowed")
    try:
        size = measure(document, limits.max_fields)
    except RecursionError:
        return "the document nests fragments or fields too deeply"
    if size is None:
        return (f"the document selects more than {limits.max_fields} fields once its fragments "
                "are expanded; select fewer fields or spread fragments fewer times")
    if size.aliases > limits.max_aliases:
        return (f"the document uses {size.aliases} aliases; at most {limits.max_aliases} are "
                "allowed (ask for a list instead of aliasing one field many times)")
    return None


class DocumentLimits(SchemaExtension):
    """Refuse an oversized document before validation (listed before the validation cache:
    a refused document is never validated, analysed or executed)."""

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        ctx = ec.context
        document = ec.graphql_document
        if isinstance(ctx, Context) and document is not None:
            problem = document_problem(document, ctx.runtime.limits)
            if problem is not None:
                ctx.access.refused()
                error = LimitExceeded(problem)
                ec.pre_execution_errors = [GraphQLError(str(error), original_error=error)]
        yield
