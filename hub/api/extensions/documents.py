"""Parse and validate each distinct operation text once (bounded LRU caches, per process).

Safe to cache because both steps depend on the text and the schema only (and validation on its
rules, which are part of the cache key: production mode adds one, hub.api.extensions.exposure):
no caller, no variables. Everything that depends on the request runs per request after them,
unchanged — limits (`on_execute`: depth, cost, page size, the plan), the policy's denied-field
preflight (`on_execute`, per caller), per-field transforms and the audit entry (`on_operation`).
The caches hold `DocumentNode`s and their validation errors; execution never mutates a document.
Bounded, so unique query texts cannot grow memory without limit.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from graphql import GraphQLError, parse
from strawberry.extensions import SchemaExtension, ValidationCache

__all__ = ["DocumentCache", "ValidationResultCache", "DOCUMENT_CACHE_SIZE"]

#: distinct operation texts kept (parse and validation each)
DOCUMENT_CACHE_SIZE = 1000


_parse = lru_cache(maxsize=DOCUMENT_CACHE_SIZE)(parse)


class DocumentCache(SchemaExtension):
    """strawberry's `ParserCache`, except that a syntax error is left to strawberry's own
    parse (which turns it into the usual GRAPHQL_PARSE_FAILED answer): an exception raised in
    `on_parse` would escape the operation and its error formatting."""

    def on_parse(self) -> Iterator[None]:
        ec = self.execution_context
        if ec.query:
            try:
                ec.graphql_document = _parse(ec.query, **ec.parse_options)
            except GraphQLError:
                pass  # not cached: strawberry parses it again and reports the error
        yield


class ValidationResultCache(ValidationCache):
    """strawberry's `ValidationCache`, except that a document already refused before
    validation (hub.api.extensions.document_limits) is not validated at all."""

    def __init__(self) -> None:
        super().__init__(maxsize=DOCUMENT_CACHE_SIZE)

    def on_validate(self) -> Iterator[None]:
        if self.execution_context.pre_execution_errors:
            yield
            return
        yield from super().on_validate()
