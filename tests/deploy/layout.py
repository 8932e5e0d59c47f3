"""What the deploy/ files promise each other, read from the files themselves: where the
container finds its configuration, trust files, key and anchor (deploy/yanxing.toml), and the
same layout rebuilt under a temporary folder so the installed hub can be run outside a container.

The mount points are absolute paths in the example configuration; `deploy_like_config` moves
exactly those prefixes (and the Redis host of `replay_cache`) under a folder, nothing else.
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.wheel_build import ROOT

__all__ = ["DEPLOY", "EXAMPLE_CONFIG", "CONFIG_PATH", "MOUNTS", "REPLAY_CACHE", "DeployLike",
           "deploy_like_config", "example", "load_yaml_documents"]

DEPLOY = ROOT / "deploy"
EXAMPLE_CONFIG = DEPLOY / "yanxing.toml"
#: where the image's CMD, compose and the k8s manifests put yanxing.toml
CONFIG_PATH = "/etc/yanxing/yanxing.toml"
#: the folders the container mounts, as the example configuration names them
MOUNTS = ("/etc/yanxing-trust", "/run/secrets/yanxing", "/var/lib/yanxing")
#: the replay cache the example configuration names (the compose service / k8s Service `redis`)
REPLAY_CACHE = "redis://redis:6379/0"


def example() -> dict[str, Any]:
    return tomllib.loads(EXAMPLE_CONFIG.read_text(encoding="utf-8"))


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


@dataclass(frozen=True)
class DeployLike:
    root: Path
    config: Path

    def mounted(self, container_path: str) -> Path:
        """Where a container path of the example lives under `root`."""
        return self.root / container_path.lstrip("/")


def deploy_like_config(root: Path, *, redis_url: str, prefix: str,
                       registry: Path, hub_public_key: Path, hub_private_key: Path) -> DeployLike:
    """deploy/yanxing.toml with its mount points under `root`, the given trust files copied to
    where the container would see them, and Redis at `redis_url` under key `prefix`."""
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    for mount in MOUNTS:
        assert f'"{mount}/' in text, f"deploy/yanxing.toml no longer uses {mount}"
        text = text.replace(f'"{mount}/', f'"{root / mount.lstrip("/")}/')
        (root / mount.lstrip("/")).mkdir(parents=True, exist_ok=True)
    assert f'replay_cache = "{REPLAY_CACHE}"' in text
    text = text.replace(f'replay_cache = "{REPLAY_CACHE}"', f'replay_cache = "{redis_url}"')
    text = text.replace('replay_cache_prefix = "yanxing:replay:"',
                        f'replay_cache_prefix = "{prefix}"')
    layout = DeployLike(root, root / CONFIG_PATH.lstrip("/"))
    trust = example()["trust"]
    for key, source in (("registry", registry), ("hub_public_key", hub_public_key),
                        ("hub_private_key", hub_private_key)):
        target = layout.mounted(trust[key])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    layout.config.parent.mkdir(parents=True, exist_ok=True)
    layout.config.write_text(text, encoding="utf-8")
    return layout
