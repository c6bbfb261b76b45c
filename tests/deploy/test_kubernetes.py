"""The Kubernetes manifests in deploy/k8s: every object is valid against the Kubernetes API
schemas, and the objects agree with each other and with the application's settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from gptapi.cli.main import app as cli
from gptapi.config import Settings

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
# The oldest Kubernetes release still supported upstream when these were written, and the
# newest the schemas know: the manifests must be valid on both.
VERSIONS = ("1.31.0", kubernetes_validate.utils.latest_version())
# Settings that are not fields of Settings: the fleet file names the variable its API key is in.
FLEET_ENV = {"LLAMA_API_KEY"}

Manifest = dict[str, Any]


def _load(path: Path) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


MANIFEST_FILES = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
APPLIED = [doc for p in MANIFEST_FILES if not p.name.endswith(".example.yaml") for doc in _load(p)]


def _one(kind: str, name: str) -> Manifest:
    found = [d for d in APPLIED if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} objects"
    return found[0]


def _pod_specs() -> list[tuple[str, Manifest]]:
    return [
        (d["metadata"]["name"], d["spec"]["template"]["spec"])
        for d in APPLIED
        if d["kind"] in {"Deployment", "Job", "StatefulSet"}
    ]


@pytest.mark.parametrize("path", MANIFEST_FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("version", VERSIONS)
def test_every_object_is_valid_against_the_kubernetes_schemas(path: Path, version: str) -> None:
    documents = _load(path)
    assert documents
    for document in documents:
        # strict: a misspelt or misplaced field is an error, not silently ignored.
        kubernetes_validate.validate(document, version, strict=True)


def test_an_unknown_field_is_refused_by_the_validation() -> None:
    gateway = _one("Deployment", "gptapi-gateway")
    broken = {**gateway, "spec": {**gateway["spec"], "replica": 3}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


def test_the_kustomization_applies_every_manifest_but_the_secret_template() -> None:
    kustomization = _load(K8S / "kustomization.yaml")[0]
    expected = {p.name for p in MANIFEST_FILES if not p.name.endswith(".example.yaml")}
    assert sorted(kustomization["resources"]) == sorted(expected)
    secret = _load(K8S / "secret.example.yaml")[0]
    assert secret["kind"] == "Secret" and secret["metadata"]["name"] == "gptapi-secrets"


def test_gateway_rollouts_never_drop_below_capacity() -> None:
    spec = _one("Deployment", "gptapi-gateway")["spec"]
    assert spec["strategy"]["type"] == "RollingUpdate"
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    # The autoscaler owns the replica count; it keeps three at least.
    assert "replicas" not in spec
    hpa = _one("HorizontalPodAutoscaler", "gptapi-gateway")["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "gptapi-gateway",
    }
    assert hpa["minReplicas"] >= 3
    assert hpa["maxReplicas"] >= hpa["minReplicas"]
    pod_labels = spec["template"]["metadata"]["labels"]
    pdb = _one("PodDisruptionBudget", "gptapi-gateway")["spec"]
    assert pdb["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pdb["maxUnavailable"] < hpa["minReplicas"]


def test_gateway_probes_use_the_liveness_and_readiness_endpoints() -> None:
    container = _one("Deployment", "gptapi-gateway")["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["startupProbe"]["httpGet"]["path"] == "/livez"


def test_termination_grace_covers_the_configured_shutdown() -> None:
    config = _one("ConfigMap", "gptapi-config")["data"]
    pod = _one("Deployment", "gptapi-gateway")["spec"]["template"]["spec"]
    shutdown = float(config["SHUTDOWN_UNREADY_SECONDS"]) + float(config["SHUTDOWN_GRACE_SECONDS"])
    assert pod["terminationGracePeriodSeconds"] > shutdown
    # Unready for longer than the readiness probe can take to notice.
    probe = pod["containers"][0]["readinessProbe"]
    noticed = probe["periodSeconds"] * probe["failureThreshold"]
    assert float(config["SHUTDOWN_UNREADY_SECONDS"]) > noticed


def test_every_container_has_resources_and_runs_unprivileged() -> None:
    for name, pod in _pod_specs():
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            resources = container["resources"]
            assert {"cpu", "memory"} <= resources["requests"].keys(), (name, container["name"])
            assert "memory" in resources["limits"], (name, container["name"])
            assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_containers_run_real_commands_with_real_settings() -> None:
    commands = {c.name or c.callback.__name__ for c in cli.registered_commands if c.callback}
    known = {name.upper() for name in Settings.model_fields} | FLEET_ENV
    config_maps = {d["metadata"]["name"]: d for d in APPLIED if d["kind"] == "ConfigMap"}
    secret = _load(K8S / "secret.example.yaml")[0]
    assert set(config_maps["gptapi-config"]["data"]) <= known
    assert set(secret["stringData"]) <= known
    for name, pod in _pod_specs():
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            if container["image"] != "gptapi":
                continue
            if "args" in container:
                assert container["args"][0] in commands, (name, container["args"])
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in config_maps, name
                else:
                    assert source["secretRef"]["name"] == secret["metadata"]["name"], name
            assert {e["name"] for e in container.get("env", [])} <= known, name
            for mount in container.get("volumeMounts", []):
                volume = volumes[mount["name"]]
                if "configMap" in volume:
                    assert volume["configMap"]["name"] in config_maps, name


def test_services_and_the_ingress_point_at_real_pods_and_ports() -> None:
    services = {d["metadata"]["name"]: d for d in APPLIED if d["kind"] == "Service"}
    pods = [d["spec"]["template"] for d in APPLIED if d["kind"] == "Deployment"]
    for name, service in services.items():
        selector = service["spec"]["selector"]
        matches = [pod for pod in pods if selector.items() <= pod["metadata"]["labels"].items()]
        assert len(matches) == 1, name
        ports = {p["name"] for c in matches[0]["spec"]["containers"] for p in c["ports"]}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports, name
    ingress = _one("Ingress", "gptapi")["spec"]
    hosts = {rule["host"] for rule in ingress["rules"]}
    assert len(hosts) == 2  # the API host and the console host
    assert hosts <= {h for tls in ingress["tls"] for h in tls["hosts"]}
    for rule in ingress["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            ports = {p["name"] for p in services[backend["name"]]["spec"]["ports"]}
            assert backend["port"]["name"] in ports
