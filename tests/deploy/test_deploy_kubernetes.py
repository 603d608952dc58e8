"""deploy/kubernetes: rendered with kustomize (kubectl, if present), validated against the
Kubernetes schemas (kubernetes-validate ships them; offline), plus the structure we rely on."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "kubernetes"
KUBE_VERSION = "1.30.0"  # oldest still-supported line we target; schemas ship with the validator


def _render() -> list[dict]:
    kubectl = shutil.which("kubectl")
    if kubectl:
        out = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return [d for d in yaml.safe_load_all(out.stdout) if d]
    # no kubectl: the listed resources as they are, plus the generated ConfigMap
    kust = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    docs = []
    for name in kust["resources"]:
        docs += [d for d in yaml.safe_load_all((K8S / name).read_text()) if d]
    for gen in kust.get("configMapGenerator", []):
        data = {f: (K8S / f).read_text() for f in gen["files"]}
        docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": gen["name"]}, "data": data})
    return docs


GATEWAY, HEADLESS = "ragbot-gateway", "ragbot-headless"


@pytest.fixture(scope="module")
def rendered() -> list[dict]:
    return _render()


@pytest.fixture(scope="module")
def resources(rendered) -> dict[str, dict]:
    """OVMS's resources by kind (the gateway's are `gateway` below)."""
    return {d["kind"]: d for d in rendered if d["metadata"]["name"] not in (GATEWAY, HEADLESS)}


@pytest.fixture(scope="module")
def gateway(rendered) -> dict[str, dict]:
    return {d["kind"]: d for d in rendered if d["metadata"]["name"] == GATEWAY}


@pytest.fixture(scope="module")
def container(resources) -> dict:
    return resources["Deployment"]["spec"]["template"]["spec"]["containers"][0]


def test_the_kinds(resources, gateway, rendered):
    assert set(resources) == {"Deployment", "Service", "ConfigMap", "PersistentVolumeClaim"}
    assert set(gateway) == {"Deployment", "Service"}
    assert [d["kind"] for d in rendered if d["metadata"]["name"] == HEADLESS] == ["Service"]
    assert len(rendered) == 7
    assert resources["Deployment"]["apiVersion"] == "apps/v1"
    for kind in ("Service", "ConfigMap", "PersistentVolumeClaim"):
        assert resources[kind]["apiVersion"] == "v1"


def test_schema_valid(rendered):
    kv = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate is not installed")
    for doc in rendered:
        kv.validate(doc, KUBE_VERSION, strict=True)  # raises ValidationError


def test_ovms_args_env_and_ports(container):
    assert container["args"] == ["--config_path", "/workspace/config.json", "--port", "9000", "--rest_port", "8000"]
    env = {e["name"]: e for e in container["env"]}
    for name in ("SELECTED_MODEL", "LLM_MODEL_DIR", "DEVICE", "DOCS_FILE", "HF_HOME"):
        assert name in env
    assert env["HF_TOKEN"]["valueFrom"]["secretKeyRef"]["optional"] is True
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"grpc": 9000, "http": 8000}


def test_probes(container):
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}

    def target(probe):
        get = container[probe]["httpGet"]
        return get["path"], ports.get(get["port"], get["port"])

    assert target("readinessProbe") == ("/v2/models/python_model/ready", 8000)
    assert target("startupProbe") == ("/v2/models/python_model/ready", 8000)
    assert target("livenessProbe") == ("/v2/health/live", 8000)
    s = container["startupProbe"]
    assert s["periodSeconds"] * s["failureThreshold"] >= 600  # minutes for a model load


def test_resources_for_the_tiny_preset(container):
    res = container["resources"]
    assert res["requests"]["memory"] == "4Gi" and res["limits"]["memory"] == "8Gi"


def test_models_pvc_and_docs_configmap_directory(resources, container):
    pod = resources["Deployment"]["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    env = {e["name"]: e.get("value") for e in container["env"]}

    assert volumes["models"]["persistentVolumeClaim"]["claimName"] == resources["PersistentVolumeClaim"]["metadata"]["name"]
    assert env["LLM_MODEL_DIR"].startswith(mounts["models"]["mountPath"] + "/")
    assert env["EMBEDDING_MODEL_DIR"].startswith(mounts["models"]["mountPath"] + "/")

    cm = resources["ConfigMap"]
    assert volumes["docs"]["configMap"]["name"] == cm["metadata"]["name"]
    assert "docs.txt" in cm["data"]
    # a directory mount (subPath mounts never see ConfigMap updates) and DOCS_FILE inside it
    assert "subPath" not in mounts["docs"]
    assert env["DOCS_FILE"] == mounts["docs"]["mountPath"] + "/docs.txt"
    assert env["HF_HOME"].startswith(mounts["hf-cache"]["mountPath"] + "/")


def test_service_ports_and_selector(resources):
    svc = resources["Service"]["spec"]
    assert {p["name"]: p["port"] for p in svc["ports"]} == {"grpc": 9000, "http": 8000}
    labels = resources["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in svc["selector"].items())


def test_gateway_streams_from_every_ovms_pod(resources, gateway, rendered):
    pod = gateway["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    ovms = resources["Service"]
    ports = {p["name"]: p["port"] for p in ovms["spec"]["ports"]}
    headless = next(d for d in rendered if d["metadata"]["name"] == HEADLESS)
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["selector"] == ovms["spec"]["selector"]
    assert {p["name"]: p["port"] for p in headless["spec"]["ports"]} == {"grpc": ports["grpc"]}
    assert env["GATEWAY_OVMS_URL"]["value"] == f"dns:///{HEADLESS}:{ports['grpc']}"
    assert env["GATEWAY_GRPC_LB"]["value"] == "round_robin"
    assert env["GATEWAY_OVMS_REST_URL"]["value"] == f"http://{ovms['metadata']['name']}:{ports['http']}"
    assert env["GATEWAY_API_KEY"]["valueFrom"]["secretKeyRef"]["optional"] is True
    assert container["args"] == ["--host", "0.0.0.0", "--port", "8001"]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": 8001}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_gateway_service_selects_only_gateway_pods(resources, gateway):
    svc = gateway["Service"]["spec"]
    assert {p["name"]: p["port"] for p in svc["ports"]} == {"http": 8001}
    gw_labels = gateway["Deployment"]["spec"]["template"]["metadata"]["labels"]
    ovms_labels = resources["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert all(gw_labels.get(k) == v for k, v in svc["selector"].items())
    assert not all(gw_labels.get(k) == v for k, v in resources["Service"]["spec"]["selector"].items())
    assert not all(ovms_labels.get(k) == v for k, v in svc["selector"].items())
