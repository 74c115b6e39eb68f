"""The rendered overlays: valid Kubernetes, and the prod one as safe as deploy/README.md says."""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any

import kubernetes_validate
import pytest

from csc_contracts import SERVICES, Topics
from csc_messaging.topology import topic_specs
from deploy.deploy_tools import KUBERNETES_VERSION, OVERLAYS, render

# Custom resources: no registry package ships the Strimzi or CloudNativePG CRD schemas,
# so these are checked field by field below instead of against a schema.
CUSTOM_KINDS = {
    ("kafka.strimzi.io/v1beta2", "Kafka"),
    ("kafka.strimzi.io/v1beta2", "KafkaNodePool"),
    ("kafka.strimzi.io/v1beta2", "KafkaTopic"),
    ("kafka.strimzi.io/v1beta2", "KafkaUser"),
    ("postgresql.cnpg.io/v1", "Cluster"),
    ("monitoring.coreos.com/v1", "PodMonitor"),  # checked in test_monitoring
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}
CONSUMERS = [s for s in SERVICES if s != "intake"]
# Secrets the operators write; the manifests only ever refer to them.
OPERATOR_SECRETS = (
    {f"csc-{s}" for s in SERVICES}  # Strimzi: KafkaUser passwords
    | {f"csc-{s}-pg-app" for s in SERVICES}  # CloudNativePG: database owners
    | {"csc-kafka-cluster-ca-cert"}  # Strimzi: the cluster CA
    | {"csc-notify-smtp"}  # notify's mail relay account, made by hand (deploy/README.md)
)
CONSOLE = "csc-console"
# The console's own: its KafkaUser's password (Strimzi), its session key and its client
# secret at the identity provider (both made by hand).
CONSOLE_SECRETS = {"csc-kafka-cluster-ca-cert", CONSOLE, "csc-console-session", "csc-console-oidc"}


@pytest.fixture(scope="module")
def prod() -> list[dict[str, Any]]:
    return render("prod")


def of_kind(resources: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def pod_spec(deployment: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    expressions = selector.get("matchExpressions", [])
    assert all(e["operator"] == "In" for e in expressions), "only In is understood here"
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items()) and all(
        labels.get(e["key"]) in e["values"] for e in expressions
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_and_validates_against_the_kubernetes_schemas(overlay: str) -> None:
    resources = render(overlay)
    unchecked = set()
    problems = []
    for resource in resources:
        kind = (resource["apiVersion"], resource["kind"])
        if kind in CUSTOM_KINDS:
            unchecked.add(kind)
            continue
        try:
            kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{resource['kind']}/{resource['metadata']['name']}: {exc}")
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(f"{kind}: no schema, and not a known custom resource")
    assert not problems, "\n".join(problems)
    assert unchecked == CUSTOM_KINDS
    assert all(
        r["metadata"].get("namespace") == "csc" for r in resources if r["kind"] != "Namespace"
    )


def test_the_schema_check_rejects_a_misspelt_field(prod: list[dict[str, Any]]) -> None:
    deployment = copy.deepcopy(of_kind(prod, "Deployment")["csc-intake"])
    pod_spec(deployment)["containers"][0]["readinessProbe"]["httpGett"] = {"path": "/readyz"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_prod_pods_run_unprivileged_on_a_read_only_root(prod: list[dict[str, Any]]) -> None:
    deployments = of_kind(prod, "Deployment")
    assert set(deployments) == {f"csc-{s}" for s in SERVICES} | {CONSOLE}
    for name, deployment in deployments.items():
        spec = pod_spec(deployment)
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod["runAsUser"] > 0 and pod["runAsGroup"] > 0, name
        assert pod["seccompProfile"]["type"] == "RuntimeDefault", name
        assert spec["automountServiceAccountToken"] is False, name
        assert not spec.get("hostNetwork") and not spec.get("hostPID"), name
        for container in spec["containers"]:
            sc = container["securityContext"]
            assert sc["runAsNonRoot"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc.get("privileged", False) is False, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            assert not sc["capabilities"].get("add"), name
            # The only writable paths are emptyDirs of bounded size, and capa's evidence
            # volume (4.4.3), a claim of fixed size.
            volumes = {v["name"]: v for v in spec["volumes"]}
            for mount in container["volumeMounts"]:
                volume = volumes[mount["name"]]
                if name == "csc-capa" and mount["name"] == "evidence":
                    assert volume["persistentVolumeClaim"]["claimName"] == "csc-capa-evidence"
                    continue
                assert mount.get("readOnly") or "sizeLimit" in volume.get("emptyDir", {}), (
                    f"{name}: {mount['mountPath']} is writable and unbounded"
                )


def test_prod_containers_have_probes_on_their_own_endpoints_and_limits(
    prod: list[dict[str, Any]],
) -> None:
    for name, deployment in of_kind(prod, "Deployment").items():
        for container in pod_spec(deployment)["containers"]:
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            expected = {
                "startupProbe": "/healthz",
                "livenessProbe": "/healthz",
                "readinessProbe": "/readyz",
            }
            for probe, path in expected.items():
                http = container[probe]["httpGet"]
                assert http["path"] == path, f"{name} {probe}"
                assert http["port"] in ports, f"{name} {probe} on an undeclared port"
            env = {e["name"]: e.get("value") for e in container.get("env", [])}
            assert "CSC_HTTP_PORT" not in env or int(env["CSC_HTTP_PORT"]) in ports.values()
            resources = container["resources"]
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[bound]), f"{name} {bound}"
            assert ":" in container["image"].rsplit("/", 1)[-1], f"{name}: untagged image"
            assert not container["image"].endswith((":latest", ":dev")), name


def test_prod_replicas_follow_the_relay_and_the_partitions(prod: list[dict[str, Any]]) -> None:
    deployments = of_kind(prod, "Deployment")
    intake = deployments["csc-intake"]["spec"]
    assert intake["replicas"] == 1, "a second relay would fence the first (csc-relay-intake)"
    assert intake["strategy"]["type"] == "Recreate"
    for service in ("sla", "returns", "capa"):
        spec = deployments[f"csc-{service}"]["spec"]
        assert spec["replicas"] == 1, f"a second relay would fence the first (csc-relay-{service})"
        assert spec["strategy"]["type"] == "Recreate"
    # The console holds nothing but signed cookies: two replicas, rolled one at a time.
    console = deployments[CONSOLE]["spec"]
    assert console["replicas"] >= 2
    assert console["strategy"]["type"] == "RollingUpdate"
    assert console["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_prod_every_service_has_a_service_a_budget_and_a_network_policy(
    prod: list[dict[str, Any]],
) -> None:
    services = of_kind(prod, "Service")
    budgets = list(of_kind(prod, "PodDisruptionBudget").values())
    policies = list(of_kind(prod, "NetworkPolicy").values())
    default_deny = [p for p in policies if p["spec"]["podSelector"] == {}]
    assert default_deny and default_deny[0]["spec"]["policyTypes"] == ["Ingress"]
    assert "ingress" not in default_deny[0]["spec"]
    for name, deployment in of_kind(prod, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selects({"matchLabels": services[name]["spec"]["selector"]}, labels)
        if name == CONSOLE:
            continue  # no database: its policy is checked on its own below
        assert [b for b in budgets if selects(b["spec"]["selector"], labels)], name
        own = [
            p
            for p in policies
            if p["spec"]["podSelector"] and selects(p["spec"]["podSelector"], labels)
        ]
        assert own, f"{name}: no NetworkPolicy"
        assert {"Ingress", "Egress"} <= {t for p in own for t in p["spec"]["policyTypes"]}
        egress_ports = {
            port["port"]
            for p in own
            for rule in p["spec"].get("egress", [])
            for port in rule["ports"]
        }
        assert {53, 9093, 5432} <= egress_ports, name
        database = [
            rule
            for p in own
            for rule in p["spec"].get("egress", [])
            if any(
                peer.get("podSelector", {}).get("matchLabels", {}).get("cnpg.io/cluster")
                for peer in rule["to"]
            )
        ]
        assert [r["to"][0]["podSelector"]["matchLabels"]["cnpg.io/cluster"] for r in database] == [
            f"{name}-pg"
        ], f"{name} may reach another service's database"


def test_prod_database_admits_only_its_own_service(prod: list[dict[str, Any]]) -> None:
    policies = of_kind(prod, "NetworkPolicy")
    for service in SERVICES:
        policy = policies[f"csc-{service}-pg"]
        peers = [
            peer["podSelector"]["matchLabels"]
            for rule in policy["spec"]["ingress"]
            for peer in rule["from"]
            if "podSelector" in peer and "namespaceSelector" not in peer
        ]
        assert {"app.kubernetes.io/name": f"csc-{service}"} in peers
        assert all(
            p
            in (
                {"app.kubernetes.io/name": f"csc-{service}"},
                {"cnpg.io/cluster": f"csc-{service}-pg"},
            )
            for p in peers
        ), peers


def test_prod_holds_no_secret_values(prod: list[dict[str, Any]]) -> None:
    assert not of_kind(prod, "Secret"), "secret values do not belong in the repository"
    for name, deployment in of_kind(prod, "Deployment").items():
        spec = pod_spec(deployment)
        referenced = {
            e["valueFrom"]["secretKeyRef"]["name"]
            for c in spec["containers"]
            for e in c.get("env", [])
            if "secretKeyRef" in e.get("valueFrom", {})
        } | {v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v}
        if name == CONSOLE:
            assert referenced == CONSOLE_SECRETS, referenced
            continue
        assert referenced <= OPERATOR_SECRETS, f"{name}: {referenced - OPERATOR_SECRETS}"
        assert {f"csc-{name.removeprefix('csc-')}-pg-app", name} <= referenced, name


def test_prod_topics_match_the_topology_and_keep_events_forever(
    prod: list[dict[str, Any]],
) -> None:
    topics = {t["spec"]["topicName"]: t["spec"] for t in of_kind(prod, "KafkaTopic").values()}
    specs = {s.name: s for s in topic_specs(Topics())}
    assert set(topics) == set(specs)
    for name, spec in specs.items():
        topic = topics[name]
        assert topic["partitions"] == spec.partitions, name
        assert topic["replicas"] == 3, name
        config = {k: str(v) for k, v in topic["config"].items()}
        assert config["min.insync.replicas"] == "2", name
        for key, value in spec.config.items():
            assert config[key] == value, f"{name} {key}"
    for service in SERVICES:
        for name in (Topics().events(service), Topics().dlq(Topics().events(service))):
            assert str(topics[name]["config"]["retention.ms"]) == "-1", name
            assert str(topics[name]["config"]["retention.bytes"]) == "-1", name
    assert str(topics["csc.relay.offsets"]["config"]["cleanup.policy"]) == "compact"


def test_prod_kafka_cluster_replicates_and_authenticates(prod: list[dict[str, Any]]) -> None:
    (kafka,) = of_kind(prod, "Kafka").values()
    config = kafka["spec"]["kafka"]["config"]
    assert config["default.replication.factor"] == 3
    assert config["min.insync.replicas"] == 2
    assert config["transaction.state.log.replication.factor"] == 3
    assert config["transaction.state.log.min.isr"] == 2
    assert config["auto.create.topics.enable"] is False
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    for listener in kafka["spec"]["kafka"]["listeners"]:
        assert listener["tls"] is True, listener["name"]
        assert listener["authentication"]["type"] == "scram-sha-512", listener["name"]
    brokers = [
        p["spec"]["replicas"]
        for p in of_kind(prod, "KafkaNodePool").values()
        if "broker" in p["spec"]["roles"]
    ]
    assert sum(brokers) >= 3


def _acls(user: dict[str, Any]) -> dict[tuple[str, str, str], set[str]]:
    table: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for acl in user["spec"]["authorization"]["acls"]:
        resource = acl["resource"]
        key = (resource["type"], resource.get("name", "*"), resource.get("patternType", "literal"))
        table[key] |= set(acl["operations"])
    return dict(table)


def test_prod_each_service_writes_only_its_own_topic(prod: list[dict[str, Any]]) -> None:
    users = of_kind(prod, "KafkaUser")
    topics = Topics()
    intake = topics.intake
    expected = {
        "csc-intake": {
            ("topic", intake, "literal"): {"Write", "Describe"},
            ("topic", topics.relay_offsets, "literal"): {"Read", "Write", "Describe"},
            ("transactionalId", "csc-relay-intake", "literal"): {"Write", "Describe"},
            ("cluster", "*", "literal"): {"IdempotentWrite"},
        },
        **{
            f"csc-{s}": {
                ("topic", intake, "literal"): {"Read", "Describe"},
                ("group", f"csc-{s}", "literal"): {"Read", "Describe"},
                # Write: dead letters; Read: `csc-<svc> dlq --redrive` reads them back.
                ("topic", topics.dlq(intake), "literal"): {"Read", "Write", "Describe"},
                ("topic", topics.events(s), "literal"): {"Write", "Describe"},
            }
            for s in CONSUMERS
        },
        "csc-subscriber": {
            **{
                ("topic", name, "literal"): {"Read", "Describe"}
                for name in topics.all_event_topics()
            },
            ("group", "subscriber-", "prefix"): {"Read", "Describe"},
        },
    }
    # sla publishes its clocks, returns and capa their decisions, each through its
    # own transactional outbox relay.
    for service in ("sla", "returns", "capa", "notify"):
        expected[f"csc-{service}"] |= {
            ("topic", topics.relay_offsets, "literal"): {"Read", "Write", "Describe"},
            ("transactionalId", f"csc-relay-{service}", "literal"): {"Write", "Describe"},
            ("cluster", "*", "literal"): {"IdempotentWrite"},
            # The relay journals the store; a replay restores it from there.
            ("topic", topics.journal(service), "literal"): {"Read", "Write", "Describe"},
        }
    # sla also reads returns' topic (the monthly report counts returns) and capa's (QC's
    # contact clock, 4.4.3; CAPAs in the monthly report), dead-lettering what it cannot
    # read there.
    expected["csc-sla"] |= {
        ("topic", topics.events(source), "literal"): {"Read", "Describe"}
        for source in ("returns", "capa")
    } | {
        ("topic", topics.dlq(topics.events(source)), "literal"): {"Read", "Write", "Describe"}
        for source in ("returns", "capa")
    }
    # notify tells people of returns' steps (4.3.2.1-4.3.2.3) and of sla's warnings,
    # breaches and escalations (4.2).
    expected["csc-notify"] |= {
        ("topic", topics.events(source), "literal"): {"Read", "Describe"}
        for source in ("returns", "sla")
    } | {
        ("topic", topics.dlq(topics.events(source)), "literal"): {"Read", "Write", "Describe"}
        for source in ("returns", "sla")
    }
    # capa reads returns' topic too: a PNPR opens or confirms an investigation (4.3.4).
    expected["csc-capa"] |= {
        ("topic", topics.events("returns"), "literal"): {"Read", "Describe"},
        ("topic", topics.dlq(topics.events("returns")), "literal"): {"Read", "Write", "Describe"},
    }
    # Each relay checkpoints its hash chain to csc.audit.v1; auditors read it (7.5.3).
    for service in SERVICES:
        expected[f"csc-{service}"] |= {("topic", topics.audit, "literal"): {"Write", "Describe"}}
    expected["csc-subscriber"] |= {("topic", topics.audit, "literal"): {"Read", "Describe"}}
    # The console follows the public topics, assigned every partition: no group, no writes.
    expected[CONSOLE] = {
        ("topic", name, "literal"): {"Read", "Describe"} for name in topics.all_event_topics()
    }
    assert set(users) == set(expected)
    for name, user in users.items():
        assert user["spec"]["authentication"]["type"] == "scram-sha-512", name
        assert _acls(user) == expected[name], name
    writers: dict[str, set[str]] = defaultdict(set)
    for name, user in users.items():
        for (kind, resource, _), operations in _acls(user).items():
            if kind == "topic" and "Write" in operations:
                writers[resource].add(name)
    for service in SERVICES:
        assert writers[topics.events(service)] == {f"csc-{service}"}, service


def test_prod_consumer_groups_are_those_the_acls_allow(prod: list[dict[str, Any]]) -> None:
    from csc_devkit.catalog import asyncapi_document

    users = of_kind(prod, "KafkaUser")
    receives = [
        op for op in asyncapi_document()["operations"].values() if op["action"] == "receive"
    ]
    assert receives
    for operation in receives:
        (group,) = operation["bindings"]["kafka"]["groupId"]["enum"]
        user = users[group]  # each consumer's group is named after its user
        assert "Read" in _acls(user)[("group", group, "literal")]


def test_prod_postgres_one_cluster_and_database_per_service(prod: list[dict[str, Any]]) -> None:
    clusters = of_kind(prod, "Cluster")
    config_maps = [c for c in of_kind(prod, "ConfigMap").values()]
    for service in SERVICES:
        cluster = clusters[f"csc-{service}-pg"]["spec"]
        assert cluster["instances"] >= 3, service
        assert cluster["bootstrap"]["initdb"] == {"database": service, "owner": service}
        assert cluster["affinity"]["podAntiAffinityType"] == "required", service
        settings = [c["data"] for c in config_maps if c["data"].get("POSTGRES_DB") == service]
        assert settings and settings[0]["POSTGRES_HOST"] == f"csc-{service}-pg-rw", service


def test_prod_services_check_tokens_from_the_identity_provider(
    prod: list[dict[str, Any]],
) -> None:
    # Every service asks for a token: intake and the consumers alike, reads and writes.
    commands = {"csc-intake", "csc-returns", "csc-capa", "csc-sla"}
    config_maps = of_kind(prod, "ConfigMap")
    deployments = of_kind(prod, "Deployment")
    policies = list(of_kind(prod, "NetworkPolicy").values())
    for name in commands:
        sources = [
            ref["configMapRef"]["name"]
            for container in pod_spec(deployments[name])["containers"]
            for ref in container.get("envFrom", [])
            if "configMapRef" in ref
        ]
        settings = {k: v for source in sources for k, v in config_maps[source]["data"].items()}
        assert settings.get("CSC_AUTH_JWKS_URL", "").startswith("https://"), name
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert any(
            selects(p["spec"]["podSelector"], labels)
            and any(port["port"] == 443 for rule in p["spec"].get("egress", [])
                    for port in rule.get("ports", []))
            for p in policies
        ), f"{name} cannot reach the identity provider"  # fmt: skip


def _pod_labels(prod: list[dict[str, Any]], name: str) -> dict[str, str]:
    labels: dict[str, str] = of_kind(prod, "Deployment")[name]["spec"]["template"]["metadata"][
        "labels"
    ]
    return labels


def _destinations(
    prod: list[dict[str, Any]], labels: dict[str, str]
) -> list[tuple[dict[str, Any], Any, str]]:
    """Every (peer, port, protocol) the policies selecting these pod labels let them reach."""
    found = []
    for policy in of_kind(prod, "NetworkPolicy").values():
        selector = policy["spec"]["podSelector"]
        if not selector or not selects(selector, labels):
            continue
        for rule in policy["spec"].get("egress", []):
            assert rule.get("to") and rule.get("ports"), f"{policy['metadata']['name']}: open rule"
            for peer in rule["to"]:
                for port in rule["ports"]:
                    found.append((peer, port["port"], port["protocol"]))
    return found


def test_prod_console_reaches_the_services_kafka_and_the_identity_provider_only(
    prod: list[dict[str, Any]],
) -> None:
    labels = _pod_labels(prod, CONSOLE)
    destinations = _destinations(prod, labels)
    service_pods = {f"csc-{s}": _pod_labels(prod, f"csc-{s}") for s in SERVICES}
    dns = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
           "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}  # fmt: skip
    kafka = {"podSelector": {"matchLabels": {"strimzi.io/cluster": "csc-kafka",
                                             "strimzi.io/kind": "Kafka"}}}  # fmt: skip
    seen_services: set[str] = set()
    for peer, port, protocol in destinations:
        if peer == dns:
            assert port == 53 and protocol in ("UDP", "TCP")
        elif peer == kafka:
            assert (port, protocol) == (9093, "TCP")
        elif "ipBlock" in peer:
            # The identity provider: HTTPS only (prod's networkpolicy-identity-provider).
            assert (port, protocol) == (443, "TCP"), peer
        else:
            # Nothing but the four services' pods, on the port their containers serve.
            assert set(peer) == {"podSelector"}, f"the console may reach {peer}"
            reached = [n for n, pod in service_pods.items() if selects(peer["podSelector"], pod)]
            assert reached, f"the console may reach {peer}"
            for name in reached:
                container = pod_spec(of_kind(prod, "Deployment")[name])["containers"][0]
                assert port in {p["containerPort"] for p in container["ports"]}, name
            seen_services |= set(reached)
            assert protocol == "TCP"
    assert seen_services == set(service_pods)
    ports = {port for _, port, _ in destinations}
    assert ports == {53, 9093, 8080, 443}, ports  # no database, nothing else
    # Each service admits the console as one of its HTTP clients.
    for name in service_pods:
        policy = of_kind(prod, "NetworkPolicy")[name]
        assert any(
            "namespaceSelector" not in peer and selects(peer.get("podSelector", {}), labels)
            for rule in policy["spec"]["ingress"]
            for peer in rule["from"]
        ), f"{name} does not admit the console"
    # And the Kafka listener admits it (Strimzi writes the brokers' policy from these peers).
    (cluster,) = of_kind(prod, "Kafka").values()
    peers = [p for listener in cluster["spec"]["kafka"]["listeners"]
             for p in listener["networkPolicyPeers"]]  # fmt: skip
    assert any("podSelector" in p and selects(p["podSelector"], labels) for p in peers)


def test_prod_console_is_reached_through_the_ingress_controller_only(
    prod: list[dict[str, Any]],
) -> None:
    labels = _pod_labels(prod, CONSOLE)
    own = [
        p
        for p in of_kind(prod, "NetworkPolicy").values()
        if p["spec"]["podSelector"] and selects(p["spec"]["podSelector"], labels)
    ]
    ingress_rules = [rule for p in own for rule in p["spec"].get("ingress", [])]
    assert ingress_rules, "the console admits nobody"
    # Prometheus scrapes every pod's http port (/metrics), the console's too.
    scrape = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ingress_rules = [rule for rule in ingress_rules if rule["from"] != [scrape]]
    for rule in ingress_rules:
        assert rule["from"] == [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
        ]
        assert [(p["port"], p["protocol"]) for p in rule["ports"]] == [("http", "TCP")]
    (ingress,) = of_kind(prod, "Ingress").values()
    spec = ingress["spec"]
    assert spec["ingressClassName"] == "nginx"
    hosts = {rule["host"] for rule in spec["rules"]}
    assert hosts <= {h for tls in spec["tls"] for h in tls["hosts"]}, "every host over TLS"
    for rule in spec["rules"]:
        for path in rule["http"]["paths"]:
            assert path["backend"]["service"] == {"name": CONSOLE, "port": {"name": "http"}}
    annotations = ingress["metadata"]["annotations"]
    # Live pages (SSE) need an unbuffered, long-lived stream.
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 600
    service = of_kind(prod, "Service")[CONSOLE]["spec"]
    assert selects({"matchLabels": service["selector"]}, labels)
    assert [p["name"] for p in service["ports"]] == ["http"]
    # Secure cookies: behind the ingress the console is reached over HTTPS only.
    config = of_kind(prod, "ConfigMap")
    deployment = of_kind(prod, "Deployment")[CONSOLE]
    sources = [
        ref["configMapRef"]["name"]
        for c in pod_spec(deployment)["containers"]
        for ref in c.get("envFrom", [])
    ]
    settings = {k: v for source in sources for k, v in config[source]["data"].items()}
    assert settings["CSC_CONSOLE_SECURE_COOKIES"] == "true"
    assert "CSC_CONSOLE_LOCAL_USERS" not in settings, "no local sign-in in prod"
    assert "CSC_AUTH_HS256_SECRET" not in settings
    for service_name in SERVICES:
        url = settings[f"CSC_{service_name.upper()}_URL"]
        assert url == f"http://csc-{service_name}", url
