"""deploy/k8s/ without a cluster: every manifest validates against the Kubernetes API schemas
(kubernetes-validate --strict: an unknown or misspelt field fails) for the oldest and newest
versions we support, and the manifests keep their promises to each other and to
deploy/yanxing.toml: probes, non-root read-only pods, mounts where the configuration looks,
Secrets referenced and never committed, the NetworkPolicy's egress limited to DNS, the
database, Redis and the sources."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from tests.deploy.layout import CONFIG_PATH, DEPLOY, EXAMPLE_CONFIG, example, load_yaml_documents

K8S = DEPLOY / "k8s"
#: the oldest Kubernetes release the manifests promise to work on, and the newest we know
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")
POD_LABELS = {"app.kubernetes.io/name": "yanxing", "app.kubernetes.io/component": "hub"}


def _kustomization() -> dict[str, Any]:
    (doc,) = load_yaml_documents(K8S / "kustomization.yaml")
    return doc


def _resources() -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for name in _kustomization()["resources"]:
        for doc in load_yaml_documents(K8S / name):
            found[(doc["kind"], doc["metadata"]["name"])] = doc
    return found


@pytest.fixture(scope="module")
def resources() -> dict[tuple[str, str], dict[str, Any]]:
    return _resources()


def _validator() -> str:
    found = shutil.which("kubernetes-validate") or str(
        Path(sys.executable).with_name("kubernetes-validate"))
    if not Path(found).exists():
        pytest.fail("kubernetes-validate is missing: it comes with the test extras")
    return found


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_validates_strictly(version: str) -> None:
    manifests = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    result = subprocess.run([_validator(), "--strict", "--kubernetes-version", version,
                             *map(str, manifests)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    passed = result.stdout.count(" passed for resource ")
    documents = sum(len(load_yaml_documents(p)) for p in manifests)
    assert passed == documents, result.stdout  # none skipped for want of a schema


def test_strict_validation_catches_a_typo(tmp_path: Path) -> None:
    (doc,) = load_yaml_documents(K8S / "service.yaml")
    doc["spec"]["selectr"] = doc["spec"].pop("selector")
    bad = tmp_path / "service.yaml"
    bad.write_text(yaml.safe_dump(doc), encoding="utf-8")
    result = subprocess.run([_validator(), "--strict", str(bad)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0, result.stdout


def test_kustomization_ties_every_manifest_but_the_example_secret() -> None:
    kustomization = _kustomization()
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk - {"secret.example.yaml"}, (listed, on_disk)
    generated = {f for gen in kustomization["configMapGenerator"] for f in gen["files"]}
    assert generated == {"trust/registry.json", "trust/hub-1.pub.pem"}
    assert "secretGenerator" not in kustomization
    # the trust files an operator puts there are never committed
    assert subprocess.run(["git", "check-ignore", "-q", str(K8S / "trust" / "registry.json")],
                          cwd=K8S).returncode == 0


def test_no_secret_committed(resources: dict[tuple[str, str], dict[str, Any]]) -> None:
    assert not [key for key in resources if key[0] == "Secret"]
    for doc in load_yaml_documents(K8S / "secret.example.yaml"):
        assert doc["kind"] == "Secret"
        for value in doc["stringData"].values():
            assert "FAKE" in value and "BEGIN" not in value, value


def _pod_specs(resources: dict[tuple[str, str], dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {"deployment": resources[("Deployment", "yanxing-hub")]["spec"]["template"]["spec"],
            "job": resources[("Job", "yanxing-db-upgrade")]["spec"]["template"]["spec"]}


def test_pods_run_non_root_read_only_with_resources(
        resources: dict[tuple[str, str], dict[str, Any]]) -> None:
    for which, pod in _pod_specs(resources).items():
        security = pod["securityContext"]
        assert security["runAsNonRoot"] is True and security["runAsUser"] == 10001, which
        assert pod["automountServiceAccountToken"] is False
        volumes = {v["name"]: v for v in pod["volumes"]}
        for container in pod.get("initContainers", []) + pod["containers"]:
            where = f"{which}/{container['name']}"
            c = container["securityContext"]
            assert c["readOnlyRootFilesystem"] is True and c["allowPrivilegeEscalation"] is False
            assert c["capabilities"]["drop"] == ["ALL"], where
            assert {"cpu", "memory"} <= set(container["resources"]["requests"]), where
            assert "memory" in container["resources"]["limits"], where
            tmp = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert tmp and "emptyDir" in volumes[tmp[0]["name"]], where
            for env in container.get("env", []):
                assert "value" not in env, (
                    f"{where}: {env['name']} must come from a Secret/ConfigMap"
                )
    # the image's user (deploy/Dockerfile USER 10001:10001) is the one the pods ask for
    assert "USER 10001:10001" in (DEPLOY / "Dockerfile").read_text(encoding="utf-8")


def test_deployment_probes_and_replicas(resources: dict[tuple[str, str], dict[str, Any]]) -> None:
    deployment = resources[("Deployment", "yanxing-hub")]
    assert deployment["spec"]["replicas"] >= 2
    assert deployment["spec"]["template"]["metadata"]["labels"] == POD_LABELS
    (hub,) = deployment["spec"]["template"]["spec"]["containers"]
    assert hub["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert hub["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert hub["args"][:3] == ["serve", "--config", CONFIG_PATH]
    assert hub["args"][hub["args"].index("--host") + 1] == "0.0.0.0"
    (port,) = hub["ports"]
    assert port["containerPort"] == int(hub["args"][hub["args"].index("--port") + 1])
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    shutdown = example()["limits"]["shutdown_timeout_seconds"]
    assert grace > shutdown + 5, "SIGTERM's drain must finish before the kubelet kills the pod"
    (wait,) = deployment["spec"]["template"]["spec"]["initContainers"]
    assert "yanxing db current" in " ".join(wait["command"])


def test_migration_job_upgrades_with_the_same_configuration(
        resources: dict[tuple[str, str], dict[str, Any]]) -> None:
    pods = _pod_specs(resources)
    (job,) = pods["job"]["containers"]
    assert job["args"] == ["db", "upgrade", "--config", CONFIG_PATH]
    assert pods["job"]["restartPolicy"] == "Never"
    (hub,) = pods["deployment"]["containers"]
    assert job["image"] == hub["image"]
    hub_secrets = {e["name"]: e["valueFrom"] for e in hub["env"]}
    for env in job["env"]:
        assert hub_secrets[env["name"]] == env["valueFrom"], env["name"]


def test_mounts_are_where_the_configuration_looks(
        resources: dict[tuple[str, str], dict[str, Any]]) -> None:
    trust = example()["trust"]
    files = {key: PurePosixPath(trust[key]) for key in
             ("registry", "hub_public_key", "hub_private_key", "audit_anchor")}
    for which, pod in _pod_specs(resources).items():
        volumes = {v["name"]: v for v in pod["volumes"]}
        for container in pod.get("initContainers", []) + pod["containers"]:
            mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
            assert mounts[str(PurePosixPath(CONFIG_PATH).parent)]["configMap"]["name"] == \
                "yanxing-config"
            assert mounts[str(files["registry"].parent)]["configMap"]["name"] == "yanxing-trust"
            assert files["hub_public_key"].parent == files["registry"].parent
            key = mounts[str(files["hub_private_key"].parent)]["secret"]
            assert key["secretName"] == "yanxing-hub-key" and key["defaultMode"] == 0o440
            anchor = mounts[str(files["audit_anchor"].parent)]
            if which == "deployment":  # shared by every replica, kept across restarts
                assert anchor["persistentVolumeClaim"]["claimName"] == "yanxing-audit-anchor"
    claim = resources[("PersistentVolumeClaim", "yanxing-audit-anchor")]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


def test_configmap_holds_the_example_configuration_verbatim(
        resources: dict[tuple[str, str], dict[str, Any]]) -> None:
    config = resources[("ConfigMap", "yanxing-config")]["data"]
    assert config[PurePosixPath(CONFIG_PATH).name] == EXAMPLE_CONFIG.read_text(encoding="utf-8"), \
        "deploy/k8s/configmap.yaml must carry deploy/yanxing.toml verbatim"
    # every ${VAR} of [hub] is set in the pods' environment
    (hub,) = _pod_specs(resources)["deployment"]["containers"]
    names = {e["name"] for e in hub["env"]}
    assert {"YANXING_DATABASE_URL", "YANXING_SECRET", "YANXING_PUBLIC_URL"} <= names
    referenced = {(e["valueFrom"].get("secretKeyRef") or {}).get("name") for e in hub["env"]}
    assert "yanxing-secrets" in referenced


def test_service_hpa_and_pdb_select_the_hub(
        resources: dict[tuple[str, str], dict[str, Any]]) -> None:
    service = resources[("Service", "yanxing-hub")]
    assert service["spec"]["selector"] == POD_LABELS
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    hpa = resources[("HorizontalPodAutoscaler", "yanxing-hub")]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "name": "yanxing-hub"}
    assert 2 <= hpa["minReplicas"] < hpa["maxReplicas"]
    pdb = resources[("PodDisruptionBudget", "yanxing-hub")]["spec"]
    assert pdb["selector"]["matchLabels"] == POD_LABELS
    assert 1 <= pdb["minAvailable"] < hpa["minReplicas"]  # a drain can always proceed


def test_network_policy_allows_only_dns_database_redis_and_sources(
        resources: dict[tuple[str, str], dict[str, Any]]) -> None:
    policy = resources[("NetworkPolicy", "yanxing")]["spec"]
    assert policy["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "yanxing"}
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    (ingress,) = policy["ingress"]
    assert ingress["ports"] == [{"port": 8000, "protocol": "TCP"}]
    ports = {}
    for rule in policy["egress"]:
        assert rule.get("to") and rule.get("ports"), "every egress rule names peers and ports"
        for peer in rule["to"]:
            if "ipBlock" in peer:
                assert peer["ipBlock"]["cidr"] != "0.0.0.0/0", "egress to anywhere"
        ports[tuple(sorted((p["port"], p["protocol"]) for p in rule["ports"]))] = rule["to"]
    assert ((53, "TCP"), (53, "UDP")) in ports
    assert ((5432, "TCP"),) in ports and ((6379, "TCP"),) in ports
    redis_port = int(example()["trust"]["replay_cache"].rsplit(":", 1)[1].split("/")[0])
    assert ((redis_port, "TCP"),) in ports
    assert len(ports) == 4, ports  # DNS, PostgreSQL, Redis, the sources
