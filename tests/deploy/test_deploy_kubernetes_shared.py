"""deploy/kubernetes-shared: the scale-out variant (three OVMS replicas on one knowledge base in
PostgreSQL + pgvector). Rendered with kustomize (kubectl, if present; else the base's
resources with the overlay's patch applied here), validated against the Kubernetes schemas,
plus the wiring the shared store relies on."""
from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.test_deploy_kubernetes import KUBE_VERSION, _render as render_base

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO / "deploy" / "kubernetes-shared"
SECRET = "ragbot-postgres"


def _render() -> list[dict]:
    kubectl = shutil.which("kubectl")
    if kubectl:
        out = subprocess.run([kubectl, "kustomize", str(SHARED)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return [d for d in yaml.safe_load_all(out.stdout) if d]
    kust = yaml.safe_load((SHARED / "kustomization.yaml").read_text())
    docs = render_base()
    for name in kust["resources"]:
        if name.endswith(".yaml"):
            docs += [d for d in yaml.safe_load_all((SHARED / name).read_text()) if d]
    for patch in kust["patches"]:
        _merge(docs, yaml.safe_load((SHARED / patch["path"]).read_text()))
    return docs


def _merge(docs: list[dict], patch: dict) -> None:
    """The strategic merge this overlay needs: replicas, and container env merged by name."""
    target = next(d for d in docs if d["kind"] == patch["kind"]
                  and d["metadata"]["name"] == patch["metadata"]["name"])
    target["spec"]["replicas"] = patch["spec"].get("replicas", target["spec"].get("replicas"))
    for pc in patch["spec"]["template"]["spec"]["containers"]:
        c = next(c for c in target["spec"]["template"]["spec"]["containers"] if c["name"] == pc["name"])
        env = {e["name"]: e for e in c.get("env", [])}
        env.update({e["name"]: copy.deepcopy(e) for e in pc.get("env", [])})
        c["env"] = list(env.values())


@pytest.fixture(scope="module")
def rendered() -> list[dict]:
    return _render()


def _one(rendered, kind: str, name: str) -> dict:
    found = [d for d in rendered if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name, len(found))
    return found[0]


def test_the_base_plus_postgres(rendered):
    kinds = sorted((d["kind"], d["metadata"]["name"]) for d in rendered)
    assert ("StatefulSet", "ragbot-postgres") in kinds and ("Service", "ragbot-postgres") in kinds
    assert len(rendered) == len(render_base()) + 2  # nothing of the base is lost


def test_schema_valid(rendered):
    kv = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate is not installed")
    for doc in rendered:
        kv.validate(doc, KUBE_VERSION, strict=True)


def test_three_replicas_on_the_shared_store_with_the_dsn_from_a_secret(rendered):
    deployment = _one(rendered, "Deployment", "ragbot")
    assert deployment["spec"]["replicas"] == 3
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["KNOWLEDGE_STORE"]["value"] == "postgres"
    assert env["KNOWLEDGE_DSN"]["valueFrom"]["secretKeyRef"] == {"name": SECRET, "key": "dsn"}
    assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": SECRET, "key": "password"}
    assert env["KNOWLEDGE_REPLICA"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    for name in ("SELECTED_MODEL", "DOCS_FILE", "HF_TOKEN"):  # the base's env is kept
        assert name in env
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/models/python_model/ready"


def test_postgres_with_pgvector_as_a_stateful_set(rendered):
    sts = _one(rendered, "StatefulSet", "ragbot-postgres")
    svc = _one(rendered, "Service", "ragbot-postgres")
    pod = sts["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"].startswith("pgvector/pgvector:")
    env = {e["name"]: e for e in container["env"]}
    assert env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": SECRET, "key": "password"}
    assert env["POSTGRES_USER"]["value"] == "ragbot" and env["POSTGRES_DB"]["value"] == "ragbot"
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert [t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]] == ["data"]
    assert env["PGDATA"]["value"].startswith(mounts["data"] + "/")
    assert sts["spec"]["serviceName"] == svc["metadata"]["name"]
    labels = sts["spec"]["template"]["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in svc["spec"]["selector"].items())
    assert {p["name"]: p["port"] for p in svc["spec"]["ports"]} == {"postgres": 5432}
    assert pod["securityContext"]["runAsNonRoot"] is True
    # the OVMS Services do not select the database pod
    ovms_svc = _one(rendered, "Service", "ragbot")
    assert not all(labels.get(k) == v for k, v in ovms_svc["spec"]["selector"].items())


def test_the_documented_dsn_names_the_postgres_service():
    text = (SHARED / "kustomization.yaml").read_text()
    assert "--from-literal=dsn=postgresql://ragbot@ragbot-postgres:5432/ragbot" in text
    assert "password" not in text.split("dsn=", 1)[1].split("\n", 1)[0]  # no password in the DSN
