"""The Relay `Node` interface and global ids (base64 "Type:id", hub.federation.identity)."""

from __future__ import annotations

import strawberry

from hub.federation.identity import from_global_id, to_global_id

__all__ = ["Node", "to_global_id", "from_global_id"]


@strawberry.interface(
    description="Relay 节点：可用全局 ID 通过 `node(id:)` 重新获取的对象。 "
    "An object that can be refetched by its global id with `node(id:)`."
)
class Node:
    @strawberry.field(description="全局 ID（不透明）。 Opaque global id.")
    def id(self) -> strawberry.ID:
        raise NotImplementedError  # each implementing type resolves its own
