"""Offline checks of the deployment files: docker-compose.yml, the Dockerfiles,
.dockerignore and the kustomize tree under deploy/k8s.

No Docker engine or cluster is needed: the files are parsed and cross-checked
against the repository (the modules they start, the files they reference).
"""
import json
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
K8S = ROOT / "deploy" / "k8s"

NAMEKO_SERVICES = ("grid", "petitions", "points", "notify")
PLATFORM = NAMEKO_SERVICES + ("gateway",)
INFRA = ("rabbitmq", "mongo")
DOCKERFILES = {name: f"services/{name}/Dockerfile" for name in NAMEKO_SERVICES}
DOCKERFILES["gateway"] = "gateway/Dockerfile"


# --- helpers -----------------------------------------------------------------

def load_compose():
    return yaml.safe_load(COMPOSE.read_text())


def dockerfile_instructions(path):
    """[(INSTRUCTION, arguments)] with comments dropped and continuations joined."""
    instructions, pending = [], ""
    for raw in Path(path).read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    assert not pending, f"{path}: dangling line continuation"
    return instructions


def as_argv(value):
    """A Dockerfile CMD (exec or shell form) or a compose command, as an argv list."""
    if isinstance(value, list):
        return [str(v) for v in value]
    value = value.strip()
    if value.startswith("["):
        return json.loads(value)
    return shlex.split(value)


def started_module(argv):
    """The repo file the command imports, and any config file it names."""
    files = []
    if "nameko" in argv:
        assert argv[argv.index("nameko") + 1] == "run", argv
        if "--config" in argv:
            files.append(argv[argv.index("--config") + 1])
        module = argv[-1]
    elif "gunicorn" in argv:
        module = argv[-1].split(":", 1)[0]
    else:
        raise AssertionError(f"unknown command {argv}")
    files.insert(0, module.replace(".", "/") + ".py")
    return files


def k8s_documents():
    docs = []
    for path in sorted(K8S.rglob("*.y*ml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc is not None:
                docs.append((path, doc))
    return docs


def deployments():
    return {
        doc["metadata"]["name"]: (path, doc)
        for path, doc in k8s_documents()
        if doc.get("kind") == "Deployment"
    }


# --- docker-compose.yml ------------------------------------------------------

def test_compose_has_every_service_and_no_version_key():
    compose = load_compose()
    assert "version" not in compose, "compose spec files carry no version key"
    assert set(PLATFORM + INFRA) <= set(compose["services"])


@pytest.mark.parametrize("name", PLATFORM)
def test_compose_platform_service_waits_for_healthy_infra(name):
    service = load_compose()["services"][name]
    depends = service["depends_on"]
    for infra in INFRA:
        assert depends[infra]["condition"] == "service_healthy", (name, infra)
    assert service["restart"] == "unless-stopped"
    env = service["environment"]
    assert env["AMQP_URI"] == "amqp://guest:guest@rabbitmq:5672/"
    assert env["MONGO_URI"] == "mongodb://mongo:27017/"
    for secret in ("CIVICGRID_JWT_SECRET", "CIVICGRID_ADMIN_USER", "CIVICGRID_ADMIN_PASSWORD"):
        assert env[secret].startswith("${" + secret + ":-"), (name, secret)


def test_compose_infra_has_healthchecks_and_volumes():
    services = load_compose()["services"]
    rabbit, mongo = services["rabbitmq"], services["mongo"]
    assert rabbit["image"] == "rabbitmq:3.13-management"
    assert rabbit["healthcheck"]["test"][1:] == ["rabbitmq-diagnostics", "-q", "ping"]
    assert mongo["image"] == "mongo:7"
    assert "mongosh" in mongo["healthcheck"]["test"]
    assert "ping" in " ".join(mongo["healthcheck"]["test"])
    volumes = load_compose()["volumes"]
    for service in (rabbit, mongo):
        assert service["volumes"]
        for mount in service["volumes"]:
            assert mount.split(":", 1)[0] in volumes


def test_compose_gateway_publishes_8000_and_waits_for_services():
    gateway = load_compose()["services"]["gateway"]
    assert "8000:8000" in [str(p) for p in gateway["ports"]]
    assert set(NAMEKO_SERVICES) <= set(gateway["depends_on"])


@pytest.mark.parametrize("name", PLATFORM)
def test_compose_builds_from_existing_dockerfile(name):
    build = load_compose()["services"][name]["build"]
    context = ROOT / build["context"]
    assert context.resolve() == ROOT
    assert build["dockerfile"] == DOCKERFILES[name]
    assert (context / build["dockerfile"]).is_file()


@pytest.mark.parametrize("name", PLATFORM)
def test_compose_command_names_existing_module(name):
    """The command (compose override, else the Dockerfile CMD) imports a repo module."""
    service = load_compose()["services"][name]
    if "command" in service:
        argv = as_argv(service["command"])
    else:
        cmds = [a for k, a in dockerfile_instructions(ROOT / DOCKERFILES[name]) if k == "CMD"]
        argv = as_argv(cmds[-1])
    expected = "gateway/app.py" if name == "gateway" else f"services/{name}/service.py"
    files = started_module(argv)
    assert files[0] == expected
    missing = [f for f in files if not (ROOT / f).is_file()]
    assert not missing, f"{name}: command refers to missing {missing}"


# --- Dockerfiles and .dockerignore -------------------------------------------

@pytest.mark.parametrize("name", PLATFORM)
def test_dockerfile_base_user_healthcheck(name):
    path = ROOT / DOCKERFILES[name]
    instructions = dockerfile_instructions(path)
    froms = [a for k, a in instructions if k == "FROM"]
    assert froms and froms[0].split()[0] == "python:3.11-slim"
    users = [a for k, a in instructions if k == "USER"]
    assert users, "no USER: the container would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")
    healthchecks = [a for k, a in instructions if k == "HEALTHCHECK"]
    assert len(healthchecks) == 1 and "CMD" in healthchecks[0].split()
    if name == "gateway":
        assert "http://127.0.0.1:8000/healthz" in healthchecks[0]
    runs = " ".join(a for k, a in instructions if k == "RUN")
    assert "pip install -r requirements.txt" in runs
    # the CMD is the one the platform documents
    argv = as_argv([a for k, a in instructions if k == "CMD"][-1])
    if name == "gateway":
        assert argv[:3] == ["python", "-m", "gunicorn"]
        assert "gthread" in argv and "0.0.0.0:8000" in argv
    else:
        assert argv == ["python", "-m", "nameko", "run", "--config",
                        f"services/{name}/config.yml", f"services.{name}.service"]


def test_dockerignore_excludes_local_state():
    entries = {
        line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for required in (".venv", ".git", "tests", "bench"):
        assert required in entries, required
    assert any("__pycache__" in entry for entry in entries)


# --- deploy/k8s ----------------------------------------------------------------

def test_k8s_every_yaml_parses():
    docs = k8s_documents()
    assert docs
    for path, doc in docs:
        assert isinstance(doc, dict), path
        assert "kind" in doc and "apiVersion" in doc, path


def test_k8s_kustomization_resources_exist():
    kustomizations = sorted(K8S.rglob("kustomization.yaml"))
    assert {p.parent.relative_to(K8S).as_posix() for p in kustomizations} >= {"base", "overlays/dev"}
    for path in kustomizations:
        spec = yaml.safe_load(path.read_text())
        assert spec.get("resources"), path
        for resource in spec["resources"]:
            target = (path.parent / resource).resolve()
            assert target.exists(), f"{path}: missing resource {resource}"
            if target.is_dir():
                assert (target / "kustomization.yaml").is_file(), f"{path}: {resource}"
    dev = yaml.safe_load((K8S / "overlays" / "dev" / "kustomization.yaml").read_text())
    assert "../../base" in dev["resources"]


def test_k8s_base_namespace_config_and_gateway_service():
    base = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    assert base["namespace"] == "civicgrid"
    kinds = {(doc["kind"], doc.get("metadata", {}).get("name")) for _, doc in k8s_documents()}
    assert ("Namespace", "civicgrid") in kinds
    assert ("Service", "gateway") in kinds
    configmaps = [doc for _, doc in k8s_documents() if doc["kind"] == "ConfigMap"]
    assert any({"AMQP_URI", "MONGO_URI"} <= set(cm.get("data", {})) for cm in configmaps)
    # secrets are referenced, never committed
    assert not [path for path, doc in k8s_documents() if doc["kind"] == "Secret"]


def test_k8s_deployment_per_service():
    assert set(PLATFORM) <= set(deployments())


@pytest.mark.parametrize("name", PLATFORM)
def test_k8s_deployment_resources_env_and_probes(name):
    path, deployment = deployments()[name]
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert containers, path
    for container in containers:
        resources = container.get("resources", {})
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources.get(kind, {})), (path, kind)
        refs = [ref for source in container.get("envFrom", []) for ref in source.values()]
        names = {ref["name"] for ref in refs}
        assert "civicgrid-secrets" in names, path
        assert "civicgrid-config" in names, path
    if name == "gateway":
        (container,) = containers
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
@pytest.mark.parametrize("target", ["base", "overlays/dev"])
def test_k8s_kustomize_builds(target):
    result = subprocess.run(
        ["kubectl", "kustomize", str(K8S / target)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    kinds = [doc["kind"] for doc in yaml.safe_load_all(result.stdout) if doc]
    assert kinds.count("Deployment") == len(PLATFORM)
