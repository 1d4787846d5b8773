"""Write tests/corpus/specs/: hostile spec files, each a way a spec upload can be wrong.

Deterministic: run it again after changing the list (python tests/corpus/make_corpus.py).
Each file's name says what is wrong with it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent / "specs"
BASE = (Path(__file__).resolve().parents[2] / "examples" / "wso2-dev.yaml").read_text()


def variant(old: str, new: str) -> bytes:
    assert old in BASE, old
    return BASE.replace(old, new, 1).encode()


def cases() -> dict[str, bytes]:
    c: dict[str, bytes] = {}
    # -- not a document at all
    c["empty.yaml"] = b""
    c["whitespace-only.yaml"] = b"   \n\n\t\n"
    c["comment-only.yaml"] = b"# nothing here\n"
    c["binary-zeros.yaml"] = bytes(512)
    c["binary-random.yaml"] = bytes((i * 37 + 11) % 256 for i in range(2048))
    c["binary-png-header.yaml"] = b"\x89PNG\r\n\x1a\n" + bytes(64)
    c["invalid-utf8.yaml"] = b"berth: 1\nenvironment: \xff\xfe\n"
    c["invalid-utf8-lone-continuation.yaml"] = b"berth: 1\ncluster: \x80\x80\n"
    c["latin1-text.yaml"] = "berth: 1\nenvironment: caf\u00e9\n".encode("latin-1")
    c["control-characters.yaml"] = b"berth: 1\nenvironment: \x01\x02\n"
    c["top-level-list.yaml"] = b"- berth: 1\n- environment: dev\n"
    c["top-level-scalar.yaml"] = b"just a string\n"
    c["top-level-number.yaml"] = b"42\n"
    c["top-level-null.yaml"] = b"null\n"
    c["json-array.json"] = b"[1, 2, 3]"
    c["not-berth.yaml"] = b"apiVersion: v1\nkind: Pod\n"
    c["two-documents.yaml"] = BASE.encode() + b"\n---\n" + BASE.encode()
    # -- malformed YAML and JSON
    c["unclosed-flow-mapping.yaml"] = variant('image: {repository: wso2mi, track: "4.4.*"}', 'image: {repository: wso2mi, track: "4.4.*"')
    c["unclosed-flow-sequence.yaml"] = variant("dependsOn: [apim]", "dependsOn: [apim")
    c["unclosed-quote.yaml"] = variant('track: "~4.7"', 'track: "~4.7')
    c["tab-indentation.yaml"] = variant("    cpu: 2048", "\tcpu: 2048")
    c["bad-indentation.yaml"] = variant("    cpu: 2048\n", "      cpu: 2048\n")
    c["stray-colon.yaml"] = variant("cluster: wso2-dev", "cluster: wso2-dev: extra")
    c["undefined-alias.yaml"] = variant("cluster: wso2-dev", "cluster: *nowhere")
    c["unknown-tag.yaml"] = variant("cluster: wso2-dev", "cluster: !custom wso2-dev")
    c["python-object-tag.yaml"] = variant("cluster: wso2-dev", "cluster: !!python/object/apply:os.system ['true']")
    c["binary-tag.yaml"] = variant("cluster: wso2-dev", "cluster: !!binary aGVsbG8=")
    c["merge-key.yaml"] = variant("services:\n", "defaults: &d {cpu: 1024}\nservices:\n").replace(b"  mi:\n", b"  mi:\n    <<: *d\n", 1)
    c["truncated-json.json"] = b'{"berth": 1, "environment": "dev", "services": {'
    c["json-trailing-comma.json"] = b'{"berth": 1, "environment": "dev",}'
    c["json-single-quotes.json"] = b"{'berth': 1}"
    # -- duplicate keys
    c["duplicate-top-level-key.yaml"] = variant("cluster: wso2-dev", "cluster: wso2-dev\ncluster: other")
    c["duplicate-service.yaml"] = BASE.replace("  apim:\n", "  mi:\n    image: wso2mi\n  apim:\n", 1).encode()
    c["duplicate-environment-variable.yaml"] = variant("      APIM_HOST: apim.dev.wso2.internal", "      APIM_HOST: a\n      APIM_HOST: b")
    # -- size, depth and expansion
    c["too-large.yaml"] = BASE.encode() + b"# " + b"x" * (300 * 1024) + b"\n"
    c["too-large-comment-lines.yaml"] = BASE.encode() + (b"# padding padding padding\n" * 12000)
    c["deeply-nested-flow.yaml"] = b"berth: 1\nx: " + b"[" * 200 + b"]" * 200 + b"\n"
    c["deeply-nested-block.yaml"] = b"berth: 1\n" + b"".join(b"  " * i + f"k{i}:\n".encode() for i in range(60)) + b"  " * 60 + b"v: 1\n"
    bomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for name, prev in zip("bcdefghi", "abcdefgh", strict=True):
        bomb.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    c["billion-laughs.yaml"] = ("berth: 1\n" + "\n".join(bomb) + "\n").encode()
    c["alias-fan-out.yaml"] = ("berth: 1\nx: &x [" + ",".join(["1"] * 200) + "]\ny: [" + ",".join(["*x"] * 200) + "]\n").encode()
    # -- missing or wrong top-level fields
    c["missing-berth.yaml"] = variant("berth: 1\n", "")
    c["berth-version-2.yaml"] = variant("berth: 1", "berth: 2")
    c["berth-version-string.yaml"] = variant("berth: 1", "berth: one")
    c["missing-environment.yaml"] = variant("environment: dev\n", "")
    c["missing-cluster.yaml"] = variant("cluster: wso2-dev\n", "")
    c["missing-services.yaml"] = BASE[: BASE.index("services:")].encode()
    c["empty-services.yaml"] = BASE[: BASE.index("services:")].encode() + b"services: {}\n"
    c["services-is-a-list.yaml"] = BASE[: BASE.index("services:")].encode() + b"services: [mi, apim]\n"
    c["environment-uppercase.yaml"] = variant("environment: dev", "environment: Dev")
    c["environment-mismatch.yaml"] = variant("environment: dev", "environment: prod")
    c["environment-number.yaml"] = variant("environment: dev", "environment: 7")
    c["cluster-with-spaces.yaml"] = variant("cluster: wso2-dev", "cluster: wso2 dev")
    c["launch-type-unknown.yaml"] = variant("logGroup: /berth/dev", "logGroup: /berth/dev\nlaunchType: LAMBDA")
    c["tags-is-a-list.yaml"] = variant("tags:\n  team: integration", "tags: [integration]")
    # -- unknown fields
    for where, old, new in [
        ("top", "cluster: wso2-dev", "cluster: wso2-dev\nclustr: x"),
        ("service", "    cpu: 2048", "    cpu: 2048\n    cpus: 2"),
        ("service-desiredcont", "    memory: 2048\n    desiredCount: 2", "    memory: 2048\n    desiredCont: 2"),
        ("image", 'track: "4.4.*"}', 'track: "4.4.*", tag: latest}'),
        ("network", "  securityGroups: [sg-0a1b2c3d4e5f60001]", "  securityGroups: [sg-0a1b2c3d4e5f60001]\n  subnet: x"),
        ("load-balancer", "      containerPort: 8243", "      containerPort: 8243\n      port: 8243"),
        ("deployment", "      maximumPercent: 200", "      maximumPercent: 200\n      maxPercent: 200"),
        ("snake-case", "    desiredCount: 2\n    environment:\n      MI_HOSTNAME", "    desired_count: 2\n    environment:\n      MI_HOSTNAME"),
    ]:
        c[f"unknown-field-{where}.yaml"] = variant(old, new)
    # -- wrong types
    for field, old, new in [
        ("cpu-string", "    cpu: 2048", "    cpu: lots"),
        ("cpu-negative", "    cpu: 2048", "    cpu: -2048"),
        ("memory-float", "    memory: 4096", "    memory: 4096.5"),
        ("desired-count-string", "    memory: 2048\n    desiredCount: 2", "    memory: 2048\n    desiredCount: two"),
        ("desired-count-huge", "    memory: 2048\n    desiredCount: 2", "    memory: 2048\n    desiredCount: 100000"),
        ("environment-value-map", "      APIM_HOST: apim.dev.wso2.internal", "      APIM_HOST: {host: x}"),
        ("depends-on-string", "dependsOn: [apim]", "dependsOn: apim"),
        ("product-unknown", "product: wso2am ", "product: wso2is "),
        ("image-number", 'image: {repository: wso2am, track: "~4.7"}', "image: 42"),
        ("image-empty-repository", 'image: {repository: wso2am, track: "~4.7"}', 'image: {repository: "", track: "~4.7"}'),
        ("network-subnets-empty", "  subnets: [subnet-0a1b2c3d4e5f60001, subnet-0a1b2c3d4e5f60002]", "  subnets: []"),
        ("network-subnet-bad-id", "  subnets: [subnet-0a1b2c3d4e5f60001, subnet-0a1b2c3d4e5f60002]", "  subnets: [vpc-123]"),
        ("assign-public-ip-string", "  securityGroups: [sg-0a1b2c3d4e5f60001]", "  securityGroups: [sg-0a1b2c3d4e5f60001]\n  assignPublicIp: maybe"),
        ("min-healthy-over-100", "      minimumHealthyPercent: 100", "      minimumHealthyPercent: 150"),
        ("max-percent-under-100", "      maximumPercent: 200", "      maximumPercent: 50"),
        ("circuit-breaker-string", "      maximumPercent: 200", "      maximumPercent: 200\n      circuitBreaker: on"),
        ("execution-role-not-arn", "executionRoleArn: arn:aws:iam::123456789012:role/berth-task-execution-dev-dev", "executionRoleArn: berth-task-execution"),
        ("target-group-not-arn", "      targetGroupArn: arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/apim-dev/0123456789abcdef", "      targetGroupArn: apim-dev"),
        ("container-port-zero", "      containerPort: 8243", "      containerPort: 0"),
        ("stop-timeout-too-long", "    cpu: 2048", "    cpu: 2048\n    stopTimeout: 600"),
        ("architecture-unknown", "    cpu: 2048", "    cpu: 2048\n    architecture: RISCV"),
        ("health-check-interval-too-short", "    cpu: 2048", "    cpu: 2048\n    healthCheck: {command: [CMD, 'true'], interval: 1}"),
        ("health-check-start-period-too-long", "    cpu: 2048", "    cpu: 2048\n    healthCheck: {command: [CMD, 'true'], startPeriod: 900}"),
        ("service-name-uppercase", "  apim:\n", "  APIM:\n"),
        ("heap-too-small", "    cpu: 2048", "    cpu: 2048\n    heap: 16"),
    ]:
        c[f"wrong-type-{field}.yaml"] = variant(old, new)
    mi_environment = BASE.index("    environment:\n      MI_HOSTNAME")
    c["wrong-type-environment-is-list.yaml"] = (BASE[:mi_environment] + "    environment: [APIM_HOST]\n" + BASE[BASE.index("    secrets:", mi_environment):]).encode()
    # -- Fargate sizes
    for cpu, memory in [(2048, 3000), (2048, 2048), (1024, 1024), (1024, 9216), (256, 4096), (512, 512), (4096, 4096), (3000, 4096), (100, 512), (16384, 16384)]:
        c[f"fargate-cpu{cpu}-memory{memory}.yaml"] = variant("    cpu: 2048\n    memory: 4096", f"    cpu: {cpu}\n    memory: {memory}")
    c["heap-larger-than-memory.yaml"] = variant("    cpu: 2048", "    cpu: 2048\n    heap: 8192")
    # -- secrets
    for name in ["DB_PASSWORD", "ADMIN_PASSWD", "API_TOKEN", "CLIENT_SECRET", "PRIVATE_KEY", "STRIPE_API_KEY", "AWS_ACCESS_KEY", "DB_CREDENTIALS", "keystore_password"]:
        c[f"plaintext-secret-{name.lower()}.yaml"] = variant("      APIM_HOST: apim.dev.wso2.internal", f"      {name}: hunter2")
    for label, value in [("plain-value", "hunter2"), ("s3-arn", "arn:aws:s3:::bucket/key"), ("kms-arn", "arn:aws:kms:us-east-1:123456789012:key/abc"), ("short-account", "arn:aws:secretsmanager:us-east-1:123:secret:x"), ("ssm-name-only", "/wso2/dev/db")]:
        c[f"secret-not-an-arn-{label}.yaml"] = variant("arn:aws:secretsmanager:us-east-1:123456789012:secret:wso2/dev/db", value)
    c["secret-also-in-environment.yaml"] = variant("      APIM_HOSTNAME: api.dev.example.com", "      APIM_HOSTNAME: api.dev.example.com\n      WSO2_ENCRYPTION_KEY_ID: x").replace(b"      APIM_DB_USER:", b"      DB_PASSWORD_FILE: /x\n      APIM_DB_USER:", 1)
    c["apim-without-encryption-key.yaml"] = variant("      WSO2_ENCRYPTION_KEY: arn:aws:secretsmanager:us-east-1:123456789012:secret:wso2/dev/encryption-key\n", "")
    # -- the images' configuration contracts (docker/<image>/config-contract.yaml) and replicas
    c["apim-without-database-url.yaml"] = variant("      APIM_DB_URL: jdbc:mysql://wso2-dev.cluster-c1a2b3c4d5e6.us-east-1.rds.amazonaws.com:3306/WSO2AM_DB?useSSL=true\n", "")
    c["apim-without-admin-password.yaml"] = variant("      APIM_ADMIN_PASSWORD: arn:aws:secretsmanager:us-east-1:123456789012:secret:wso2/dev/admin-password\n", "")
    c["mi-without-apim-host.yaml"] = variant("      APIM_HOST: apim.dev.wso2.internal\n", "")
    c["mi-coordination-without-user.yaml"] = variant("      MI_COORDINATION_DB_USER: wso2mi\n", "")
    c["encryption-key-in-environment.yaml"] = variant("      WSO2_ENCRYPTION_KEY: arn:aws:secretsmanager:us-east-1:123456789012:secret:wso2/dev/encryption-key\n", "").replace(b"      APIM_DB_USER: wso2am\n", b"      APIM_DB_USER: wso2am\n      WSO2_ENCRYPTION_KEY: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n", 1)
    c["apim-two-replicas.yaml"] = variant("    desiredCount: 1\n", "    desiredCount: 2\n")
    c["mi-replicas-without-coordination.yaml"] = variant("      MI_COORDINATION_DB_URL: jdbc:mysql://wso2-dev.cluster-c1a2b3c4d5e6.us-east-1.rds.amazonaws.com:3306/WSO2MI_COORDINATION_DB?useSSL=true\n", "").replace(b"      MI_COORDINATION_DB_USER: wso2mi\n", b"", 1).replace(b"      MI_COORDINATION_DB_PASSWORD: arn:aws:secretsmanager:us-east-1:123456789012:secret:wso2/dev/mi-coordination-db\n", b"", 1)
    c["secrets-without-execution-role.yaml"] = variant("executionRoleArn: arn:aws:iam::123456789012:role/berth-task-execution-dev-dev\n", "")
    # -- dependencies, images, ports
    c["depends-on-cycle.yaml"] = variant("    cpu: 2048\n    memory: 4096", "    cpu: 2048\n    memory: 4096\n    dependsOn: [mi]")
    c["depends-on-self.yaml"] = variant("dependsOn: [apim]", "dependsOn: [mi]")
    c["depends-on-unknown.yaml"] = variant("dependsOn: [apim]", "dependsOn: [esb]")
    c["depends-on-typo.yaml"] = variant("dependsOn: [apim]", "dependsOn: [apmi]")
    c["image-with-tag.yaml"] = variant("repository: wso2am,", "repository: wso2am:4.7.0,")
    c["image-with-digest.yaml"] = variant("repository: wso2am,", "repository: wso2am@sha256:abc,")
    c["image-string-with-tag.yaml"] = variant('image: {repository: wso2am, track: "~4.7"}', "image: wso2am:latest")
    c["track-bad-range.yaml"] = variant('track: "~4.7"', 'track: ">=4.7 <<5"')
    c["track-empty.yaml"] = variant('track: "~4.7"', 'track: ""')
    c["duplicate-ports.yaml"] = variant("    cpu: 2048", "    cpu: 2048\n    ports: [9443, 8243, 8243]")
    c["port-out-of-range.yaml"] = variant("    cpu: 2048", "    cpu: 2048\n    ports: [70000]")
    c["load-balancer-port-not-exposed.yaml"] = variant("      containerPort: 8243", "      containerPort: 8080")
    c["fargate-without-network.yaml"] = BASE.replace(BASE[BASE.index("network:"):BASE.index("tags:")], "").encode()
    return c


def main() -> None:
    if HERE.exists():
        shutil.rmtree(HERE)
    HERE.mkdir(parents=True)
    for name, data in sorted(cases().items()):
        (HERE / name).write_bytes(data)
    print(f"wrote {len(cases())} files to {HERE}")


if __name__ == "__main__":
    main()
