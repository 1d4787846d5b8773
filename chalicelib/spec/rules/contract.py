"""What each WSO2 image reads at start, and the rules a spec must meet to run it.

The contract of each image is `docker/<folder>/config-contract.yaml`, beside its Dockerfile. The
Lambda package holds only app.py and chalicelib/, so this module keeps a copy of those manifests as
Python data; tests/unit/test_wso2_contract.py fails when the copy and the manifests drift apart.
`contract_problems` refuses a WSO2 service that omits a variable its image requires (or gives a
secret in plain text), and replica counts that WSO2's products cannot run as configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from chalicelib.spec.located import Path
    from chalicelib.spec.model import Service, Spec

Kind = Literal["environment", "secret"]


@dataclass(frozen=True)
class Variable:
    name: str
    kind: Kind
    """environment: a plain value under `environment`; secret: a reference under `secrets`."""
    required: bool
    meaning: str
    required_with: str | None = None
    """Required whenever this other variable is set."""
    required_unless: str | None = None
    """Required whenever this other variable is not set."""


@dataclass(frozen=True)
class Contract:
    product: str
    manifest: str
    """Where the manifest lives in the repository, named in messages."""
    variables: tuple[Variable, ...]

    def get(self, name: str) -> Variable | None:
        return next((v for v in self.variables if v.name == name), None)


def _v(
    name: str,
    kind: Kind,
    required: bool,
    meaning: str,
    with_: str | None = None,
    *,
    unless: str | None = None,
) -> Variable:
    return Variable(name, kind, required, meaning, with_, unless)


# Copied from docker/apim/config-contract.yaml (`variables`, then `entrypoint_variables`).
_APIM = Contract("wso2am", "docker/apim/config-contract.yaml", (
    _v("APIM_HOSTNAME", "environment", True,
       "Public host name of the management console, portals and REST APIs ([server] hostname); "
       "the load balancer serves it on 443 (proxyPort). Without it APIM redirects clients to "
       "localhost."),
    _v("APIM_GATEWAY_HOSTNAME", "environment", False,
       "Public host name of the API gateway, shown to API consumers as the gateway URLs "
       "([[apim.gateway.environment]] http/https endpoints). Defaults to APIM_HOSTNAME in "
       "development; required, and another host than APIM_HOSTNAME, elsewhere (helm-apim's "
       "gateway ingress has its own host)."),
    _v("APIM_WEBSOCKET_HOSTNAME", "environment", False,
       "Public host name of WebSocket APIs (ws://HOST:9099, wss://HOST:8099 in the gateway "
       "environment), as helm-apim's wsHostname. Defaults to APIM_GATEWAY_HOSTNAME; the load "
       "balancer forwards 9099/8099 on it."),
    _v("APIM_WEBSUB_HOSTNAME", "environment", False,
       "Public host name of WebSub event receivers (http://HOST:9021, https://HOST:8021), as "
       "helm-apim's websubHostname. Defaults to APIM_GATEWAY_HOSTNAME; the load balancer "
       "forwards 9021/8021 on it."),
    _v("NODE_IP", "environment", False,
       "This task's IP address ([server] node_ip), as helm-apim passes the pod IP. Derived from "
       "the task's network interface when absent; set it only to override."),
    _v("APIM_ADMIN_PASSWORD", "secret", True,
       "Password of the super admin `admin` ([super_admin] password), created on first start."),
    _v("APIM_DB_URL", "environment", True,
       "JDBC URL of the API Manager database ([database.apim_db] url), e.g. "
       "jdbc:mysql://host:3306/WSO2AM_DB or jdbc:postgresql://host:5432/wso2am_db; write `&` as "
       "`&amp;`. Create its tables first with <APIM_HOME>/dbscripts/apimgt/mysql.sql or "
       "postgresql.sql."),
    _v("SHARED_DB_URL", "environment", True,
       "JDBC URL of the shared (registry and user store) database ([database.shared_db] url); "
       "tables from <APIM_HOME>/dbscripts/mysql.sql or postgresql.sql. Write `&` as `&amp;`."),
    _v("APIM_DB_USER", "environment", True,
       "Database user for both databases (apim_db and shared_db username)."),
    _v("DB_PASSWORD", "secret", True, "Password of APIM_DB_USER (apim_db and shared_db password)."),
    _v("DB_TYPE", "environment", False,
       "Database type for both databases as the config mapper names it: mysql or postgre. Derived "
       "from APIM_DB_URL (jdbc:mysql: or jdbc:postgresql:) when absent."),
    _v("DB_DRIVER", "environment", False,
       "JDBC driver class for both databases. Derived from APIM_DB_URL when absent: "
       "com.mysql.cj.jdbc.Driver or org.postgresql.Driver. Both drivers' jars are in the image "
       "(docker/build.py DRIVERS); the entrypoint stops with status 72 when none serves the URL."),
    _v("KEYSTORE_PASSWORD", "secret", False,
       "Password of wso2carbon.jks and of its key ([keystore.primary] and [keystore.tls]). "
       "Required when BERTH_KEYSTORE_B64 is given; the default opens only the store shipped in "
       "the image."),
    _v("TRUSTSTORE_PASSWORD", "secret", False,
       "Password of client-truststore.jks ([truststore]). Required when BERTH_TRUSTSTORE_B64 is "
       "given; the default opens only the store shipped in the image."),
    _v("WSO2_ENCRYPTION_KEY", "secret", True,
       "Symmetric key for data APIM encrypts ([encryption] key, AES/GCM/NoPadding): 64 hexadecimal "
       "characters (openssl rand -hex 32), identical on every node, set before the first start and "
       "never changed (what it encrypted lives in the databases)."),
    _v("APIM_HA_PEER_HOST", "environment", False,
       "Set by Berth on each node of a service with `ha: true`, never by hand: the other node's "
       "Service Connect name. Setting it appends ha.toml (WSO2's two-node pattern, helm-apim "
       "all-in-one instance-1/2): throttle events duplicated to the peer's broker "
       "(tcp://PEER:5672), decisions read locally."),
    _v("APIM_HA_NODE_1_HOST", "environment", False,
       "Set by Berth with `ha: true`: node 1's Service Connect name, the first throttling "
       "url_group (tcp://NODE1:9611, ssl://NODE1:9711).", "APIM_HA_PEER_HOST"),
    _v("APIM_HA_NODE_2_HOST", "environment", False,
       "Set by Berth with `ha: true`: node 2's Service Connect name, the second throttling "
       "url_group (tcp://NODE2:9611, ssl://NODE2:9711).", "APIM_HA_PEER_HOST"),
    _v("BERTH_KEYSTORE_B64", "secret", False,
       "The keystore (JKS or PKCS12) as one base64 string; written over "
       "repository/resources/security/wso2carbon.jks before start. Its certificate must carry the "
       "host names clients use (the shipped one is for localhost)."),
    _v("BERTH_TRUSTSTORE_B64", "secret", False,
       "The truststore as one base64 string; written over "
       "repository/resources/security/client-truststore.jks before start. It must trust the "
       "keystore's certificate (APIM calls itself over HTTPS)."),
    _v("BERTH_TRUSTED_CERTS_PEM", "secret", False,
       "The peers' certificates, PEM (APIM's for MI, MI's for APIM), imported into "
       "client-truststore.jks at every start as berth-peer-1, berth-peer-2, ... so that TLS calls "
       "between the products verify with real stores. Not with a keystore-init truststore: put "
       "them into that store."),
))  # fmt: skip

# Copied from docker/mi/config-contract.yaml (`variables`, then `entrypoint_variables`).
_MI = Contract("wso2mi", "docker/mi/config-contract.yaml", (
    _v("MI_HOSTNAME", "environment", True,
       "Host name APIM and other clients reach this service at ([server] hostname); the service "
       "catalog puts it into the endpoint URLs it registers with APIM."),
    _v("APIM_HOST", "environment", True,
       "Host name of API Manager as MI reaches it; MI registers its services at "
       "https://APIM_HOST:9443 ([[service_catalog]] apim_host) at start, so APIM must be up "
       "first."),
    _v("APIM_SERVICE_CATALOG_USER", "environment", False,
       "APIM user MI logs in to the service catalog as ([[service_catalog]] username): a user "
       "with APIM's Internal/creator role (scopes service_catalog:service_view and "
       "service_catalog:service_write), not the super admin.", "APIM_SERVICE_CATALOG_PASSWORD"),
    _v("APIM_SERVICE_CATALOG_PASSWORD", "secret", False,
       "Password of APIM_SERVICE_CATALOG_USER ([[service_catalog]] password).",
       "APIM_SERVICE_CATALOG_USER"),
    _v("MI_MANAGEMENT_USER", "environment", False,
       "User of MI's management API on 9164 ([[internal_apis.users]] user.name), for the MI "
       "dashboard and apictl."),
    _v("MI_MANAGEMENT_PASSWORD", "secret", False,
       "Password of MI_MANAGEMENT_USER ([[internal_apis.users]] user.password). The default is "
       "WSO2's stock admin/admin, which `berth validate` refuses outside development "
       "environments."),
    _v("KEYSTORE_PASSWORD", "secret", False,
       "Password of wso2carbon.jks and of its key ([keystore.primary]). Required when "
       "BERTH_KEYSTORE_B64 is given; the default opens only the store shipped in the image."),
    _v("TRUSTSTORE_PASSWORD", "secret", False,
       "Password of client-truststore.jks ([truststore]), which must trust APIM's certificate. "
       "Required when BERTH_TRUSTSTORE_B64 is given."),
    _v("MI_COORDINATION_DB_URL", "environment", False,
       "JDBC URL of the coordination database that several MI tasks share "
       "(WSO2_COORDINATION_DB); setting it turns coordination on. Tables from "
       "<MI_HOME>/dbscripts/mysql/mysql_cluster.sql or dbscripts/postgres/postgresql_cluster.sql. "
       "Write `&` as `&amp;`."),
    _v("MI_COORDINATION_DB_USER", "environment", False,
       "Database user for the coordination database.", "MI_COORDINATION_DB_URL"),
    _v("MI_COORDINATION_DB_PASSWORD", "secret", False,
       "Password of MI_COORDINATION_DB_USER.", "MI_COORDINATION_DB_URL"),
    _v("MI_COORDINATION_DB_DRIVER", "environment", False,
       "JDBC driver class for the coordination database. Derived from MI_COORDINATION_DB_URL when "
       "absent (com.mysql.cj.jdbc.Driver or org.postgresql.Driver); the jar is added at build "
       "time."),
    _v("MI_NODE_ID", "environment", False,
       "This task's name among the coordinating tasks ([cluster_config] node_id) and in the MI "
       "dashboard ([dashboard_config] node_id). Defaults to the task's host name, unique per "
       "task."),
    _v("MI_DASHBOARD_URL", "environment", False,
       "URL of the MI dashboard / ICP API this node registers with ([dashboard_config] "
       "dashboard_url, e.g. https://dashboard:9743/dashboard/api/); setting it turns registration "
       "on."),
    _v("MI_DASHBOARD_GROUP_ID", "environment", False,
       "The group this node is shown in on the dashboard ([dashboard_config] group_id).",
       "MI_DASHBOARD_URL"),
    _v("MI_MANAGEMENT_HOSTNAME", "environment", False,
       "Address at which the dashboard reaches this task's management API ([dashboard_config] "
       "management_hostname). Defaults to the task's own IP address."),
    _v("APIM_ADMIN_PASSWORD", "secret", False,
       "Password of APIM's super admin `admin`, with which MI logs in to the service catalog when "
       "no APIM_SERVICE_CATALOG_USER is given; development environments only (`berth validate` "
       "refuses it elsewhere).", unless="APIM_SERVICE_CATALOG_PASSWORD"),
    _v("BERTH_KEYSTORE_B64", "secret", False,
       "The keystore (JKS or PKCS12) as one base64 string; written over "
       "repository/resources/security/wso2carbon.jks before start."),
    _v("BERTH_TRUSTSTORE_B64", "secret", False,
       "The truststore as one base64 string; written over "
       "repository/resources/security/client-truststore.jks before start. It must trust APIM's "
       "certificate for the service catalog."),
    _v("BERTH_TRUSTED_CERTS_PEM", "secret", False,
       "The peers' certificates, PEM (APIM's for MI, MI's for APIM), imported into "
       "client-truststore.jks at every start as berth-peer-1, berth-peer-2, ... so that TLS calls "
       "between the products verify with real stores. Not with a keystore-init truststore: put "
       "them into that store."),
))  # fmt: skip

# docker/ei/config-contract.yaml: EI 6.6 is configured through XML and Berth adds no overlay.
_EI = Contract("wso2ei", "docker/ei/config-contract.yaml", ())

CONTRACTS: dict[str, Contract] = {c.product: c for c in (_APIM, _MI, _EI)}

# MI's coordination: several MI tasks share scheduled tasks and message processors only through a
# coordination database (helm-mi `mi/confs/deployment.toml` [[datasource]] WSO2_COORDINATION_DB
# and [cluster_config]; product-micro-integrator TasksDSComponent.java).
MI_COORDINATION_URL = "MI_COORDINATION_DB_URL"


def required_names(product: str) -> tuple[str, ...]:
    """The variables an image never starts without (not counting `required_with`)."""
    contract = CONTRACTS.get(product)
    return tuple(v.name for v in contract.variables if v.required) if contract else ()


def _given(svc: Service, name: str) -> bool:
    return bool(svc.environment.get(name)) or name in svc.secrets


def _missing(contract: Contract, at: Path, v: Variable) -> tuple[Path, str]:
    why = f"required by {contract.product}"
    if v.required_with:
        why += f" when {v.required_with} is set"
    if v.required_unless:
        why += f" unless {v.required_unless} is set"
    if v.kind == "secret":
        fix = (
            f"add {v.name} under secrets as a Secrets Manager or SSM parameter ARN "
            f"(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)"
        )
    else:
        fix = f"add {v.name} under environment"
    where: Path = (*at, "secrets" if v.kind == "secret" else "environment")
    return where, f"{v.name} is missing, {why}: {v.meaning} Fix: {fix} (see {contract.manifest})"


def _variable_problems(at: Path, svc: Service, contract: Contract) -> list[tuple[Path, str]]:
    # spec_rules imports this module; its generic rule already refuses secret-looking names.
    from .names import SECRET_LOOKING_NAME

    problems: list[tuple[Path, str]] = []
    for v in contract.variables:
        if v.kind == "secret" and v.name in svc.environment:
            if SECRET_LOOKING_NAME.search(v.name):
                continue  # refused there as "looks like a secret"
            # Plain text in the task definition is readable by anyone who may describe it; the
            # image's contract says this value is a secret (helm-apim takes it from secretKeyRef).
            problems.append((
                (*at, "environment", v.name),
                f"{v.name} is a secret for {contract.product}: move it under secrets as a Secrets "
                f"Manager or SSM parameter ARN; plain values are readable in the task definition "
                f"(see {contract.manifest})",
            ))  # fmt: skip
            continue
        needed = (
            v.required
            or (v.required_with is not None and _given(svc, v.required_with))
            or (v.required_unless is not None and not _given(svc, v.required_unless))
        )
        if needed and not _given(svc, v.name):
            problems.append(_missing(contract, at, v))
    return problems


def _replica_problems(at: Path, svc: Service) -> list[tuple[Path, str]]:
    where: Path = (*at, "desiredCount")
    if svc.product == "wso2am" and svc.desired_count > 1 and not svc.ha:
        # wso2/helm-apim all-in-one: HA is two single-replica deployments (instance-1,
        # instance-2), each with [apim.event_hub] event_duplicate_url at its peer's 5672 and its
        # own [apim.throttling] url_group (9611/9711); wso2/aws-apim pattern-1 writes peer IPs
        # in the same way. Identical replicas behind one service throttle and receive events as
        # isolated nodes.
        return [(where, (
            f"{svc.desired_count} replicas of wso2am would throttle and receive events as "
            "isolated nodes: WSO2's high availability is two single-replica nodes, each with "
            "event_duplicate_url pointing at its peer and both nodes' throttling url_groups "
            "(helm-apim all-in-one instance-1/2). Use desiredCount: 1, or ha: true for that "
            "two-node pair (see docs/wso2.md, \"High availability\")"
        ))]  # fmt: skip
    if svc.product == "wso2ei" and svc.desired_count > 1:
        # docker/ei adds no configuration: each EI 6.6 task keeps its registry, user store and
        # message stores in its own embedded H2 (WSO2's defaults), so replicas share nothing.
        return [(where, (
            f"{svc.desired_count} replicas of wso2ei would be {svc.desired_count} unrelated "
            "servers: Berth's EI 6.6 image adds no configuration, so each task keeps its "
            "registry, users and message stores in its own embedded H2 database and none is "
            "shared or clustered. Use desiredCount: 1, or Micro Integrator (wso2mi) with "
            "MI_COORDINATION_DB_URL for several tasks (see docs/wso2.md, \"EI 6.6\")"
        ))]  # fmt: skip
    if svc.product == "wso2mi" and svc.desired_count > 1 and not _given(svc, MI_COORDINATION_URL):
        # helm-mi: MI replicas need WSO2_COORDINATION_DB and a node id each, or every replica
        # runs every scheduled task and message processor.
        return [(where, (
            f"{svc.desired_count} replicas of wso2mi need the coordination database, or each "
            "runs every scheduled task and message processor on its own: set "
            f"{MI_COORDINATION_URL} under environment (with MI_COORDINATION_DB_USER, and "
            "MI_COORDINATION_DB_PASSWORD under secrets), or use desiredCount: 1 "
            "(see docker/mi/config-contract.yaml)"
        ))]  # fmt: skip
    return []


# Each store and the password that opens it. docker/apim and docker/mi config-contract.yaml:
# KEYSTORE_PASSWORD "Required when BERTH_KEYSTORE_B64 is given; the default opens only the store
# shipped in the image" (and TRUSTSTORE_PASSWORD with BERTH_TRUSTSTORE_B64). The store may be the
# product's own secret or its keystore-init sidecar's; the password is always the product's, as
# WSO2 opens the store ([keystore.primary], [truststore] in deployment.toml).
STORE_PASSWORDS = (
    ("BERTH_KEYSTORE_B64", "KEYSTORE_PASSWORD"),
    ("BERTH_TRUSTSTORE_B64", "TRUSTSTORE_PASSWORD"),
)


def _store_at(at: Path, svc: Service, store: str) -> Path | None:
    """Where the spec gives a store: the product's secrets, or a keystore-init sidecar's."""
    if store in svc.secrets:
        return (*at, "secrets", store)
    for container, sidecar in sorted(svc.containers.items()):
        if sidecar.preset == "keystore-init" and store in sidecar.secrets:
            return (*at, "containers", container, "secrets", store)
    return None


def _store_password_problems(at: Path, svc: Service, contract: Contract) -> list[tuple[Path, str]]:
    problems: list[tuple[Path, str]] = []
    for store, password in STORE_PASSWORDS:
        where = _store_at(at, svc, store)
        if contract.get(password) is None or where is None or password in svc.secrets:
            continue
        service = ".".join(map(str, at))
        elsewhere = [c for c, s in sorted(svc.containers.items()) if password in s.secrets]
        note = (
            f" ({', '.join(elsewhere)} has it, but {contract.product} opens the store)"
            if elsewhere else ""
        )  # fmt: skip
        problems.append((where, (
            f"{store} is given without {password}{note}: {contract.product} would open your store "
            f"with the password of the store shipped in the image (wso2carbon) and stop at start. "
            f"Fix: add {password} under {service}.secrets as a Secrets Manager or SSM parameter "
            f"ARN (see {contract.manifest})"
        )))  # fmt: skip
    return problems


def _peer_problems(at: Path, svc: Service, contract: Contract) -> list[tuple[Path, str]]:
    """BERTH_TRUSTED_CERTS_PEM goes into the truststore the entrypoint has; keystore-init's
    arrives through the config volume after the entrypoint ran (WSO2's entrypoint copies it over
    the product home), so the import would be lost and the container stops with status 78."""
    pem = "BERTH_TRUSTED_CERTS_PEM"
    if contract.get(pem) is None or pem not in svc.secrets:
        return []
    if not any(
        c.preset == "keystore-init" and "BERTH_TRUSTSTORE_B64" in c.secrets
        for c in svc.containers.values()
    ):
        return []
    return [((*at, "secrets", pem), (
        f"{pem} cannot be imported into a truststore that keystore-init writes: WSO2's "
        "entrypoint copies keystore-init's store over the product home after Berth's entrypoint "
        "ran. Fix: put the peers' certificates into the truststore given to keystore-init "
        f"(keytool -importcert), and remove {pem} (see {contract.manifest})"
    ))]  # fmt: skip


def contract_problems(spec: Spec) -> list[tuple[Path, str]]:
    """Every WSO2 service against its image's contract: required variables present, secrets
    given as references, replica counts the product can run; each problem is (path, reason)."""
    problems: list[tuple[Path, str]] = []
    for name, svc in spec.services.items():
        contract = CONTRACTS.get(svc.product)
        if contract is None:
            continue
        at: Path = ("services", name)
        problems += _variable_problems(at, svc, contract)
        problems += _replica_problems(at, svc)
        problems += _store_password_problems(at, svc, contract)
        problems += _peer_problems(at, svc, contract)
    return problems
