#!/usr/bin/env python3
"""Build and push Berth's WSO2 images and its keystore-init sidecar; what buildspec.yml runs in
CodeBuild.

Decides which products to build (all, or those whose docker/<product>/ changed; EI 6.6 only when
named), tags them `<product version>-<build number>-<commit>` (never `latest`), builds with
BuildKit reusing a registry cache, pushes API Manager before Micro Integrator, and writes one
out/imageDetail-<product>.json per pushed image with its digest-pinned URI. A product that fails
does not stop the others: each is built and pushed on its own, and the exit status is non-zero
when any failed, naming them all.

With WSO2 subscription credentials (WSO2_REGISTRY_USER; buildspec.yml logs in to docker.wso2.com)
it builds from WSO2's subscription images, which carry WSO2's updates; without, from the Docker
Hub GA images. The image label `berth.wso2.image-source` says which.

Every WSO2 image gets the JDBC drivers pinned in DRIVERS (MySQL Connector/J and the PostgreSQL
driver), downloaded from Maven Central by coordinates and checked against the pinned sha256: a
driver without a pinned sha256 stops that product's build, never goes in unchecked. The image
records what went in (/home/wso2carbon/berth-jdbc-drivers.txt). JDBC_DRIVERS picks a subset by
name; JDBC_DRIVER_URL with JDBC_DRIVER_SHA256 adds one more driver.

No dependencies beyond the standard library: it runs on CodeBuild's stock image.

    python3 docker/build.py --dry-run              # print the docker commands, run nothing
    python3 docker/build.py --products changed --since HEAD~1
    python3 docker/build.py --products ei          # EI 6.6: only when named
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = ROOT / "out"
CACHE_REPOSITORY = "berth-build-cache"
# Files outside docker/<product>/ whose change means every image must be rebuilt.
SHARED_INPUTS = ("docker/build.py", "buildspec.yml")


@dataclass(frozen=True)
class Product:
    name: str
    repository: str
    version: str
    preset: str
    wso2_image: str
    """WSO2's image name, on Docker Hub as wso2/<name> and in the subscription registry."""
    opt_in: bool = False
    """Built only when named: never by `all` or `changed`."""
    wso2: bool = True
    """Built on a WSO2 product image (base image, update level, JDBC driver); False for Berth's
    own sidecar images, built from their Dockerfile alone."""


# API Manager first, as Berth deploys it: MI registers its services with APIM's service catalog at
# start (wso2/docker-apim docker-compose/apim-with-mi: MI depends_on api-manager service_healthy).
# EI 6.6 is opt-in: only Docker Hub's GA image or WSO2's subscription registry still provide it
# (its official Dockerfile downloads from Bintray, shut down), so a missing EI image must never
# block APIM and MI releases.
PRODUCTS: dict[str, Product] = {
    "apim": Product("apim", "wso2am", "4.7.0", "wso2am", "wso2am"),
    "mi": Product("mi", "wso2mi", "4.4.0", "wso2mi", "wso2mi"),
    "ei": Product("ei", "wso2ei", "6.6.0", "wso2ei", "wso2ei-integrator", opt_in=True),
    # The keystore-init sidecar (docker/keystore-init): specs pin or track berth-keystore-init,
    # and its push redeploys the services whose sidecar tracks it. After the products: no
    # product waits for it.
    "keystore-init": Product(
        "keystore-init", "berth-keystore-init", "1.0.0", "keystore-init", "", wso2=False
    ),
}
DEFAULT_PRODUCTS = [name for name, p in PRODUCTS.items() if not p.opt_in]
# WSO2's private registry: images with WSO2 Updates, tagged <product version>.<update level>
# (apim.docs.wso2.com "Docker image tags with Updates 2.0"; e.g. docker.wso2.com/wso2mi:4.1.0.41).
SUBSCRIPTION_REGISTRY = "docker.wso2.com"
GA, SUBSCRIPTION = "docker-hub-ga", "wso2-subscription"
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Driver:
    """A JDBC driver baked into every WSO2 image, by Maven Central coordinates, with the sha256
    the image build checks it against and where that value was read."""

    name: str
    group: str
    artifact: str
    version: str
    sha256: str
    """"" while no trustworthy value is known: the build refuses the driver, never skips the
    check."""
    sha256_source: str
    license: str

    @property
    def file(self) -> str:
        return f"{self.artifact}-{self.version}.jar"

    @property
    def url(self) -> str:
        group = self.group.replace(".", "/")
        return f"{MAVEN_CENTRAL}/{group}/{self.artifact}/{self.version}/{self.file}"


# WSO2's images ship no JDBC driver (wso2.md; docker-apim #344). WSO2's own compose adds
# mysql-connector-j 9.7.0 from Maven Central (wso2/docker-apim v4.7.0.1,
# docker-compose/apim-with-mi/dockerfiles/apim/Dockerfile, ARG MYSQL_CONNECTOR_VERSION), without
# a checksum; helm-apim's README says to put the driver in the image. Berth's entrypoints find
# each driver by its jar name (berth_require_driver).
DRIVERS: dict[str, Driver] = {
    "mysql": Driver(
        "mysql", "com.mysql", "mysql-connector-j", "9.7.0",
        sha256="",
        sha256_source=(
            "not pinned yet: no copy of mysql-connector-j-9.7.0.jar or of Maven Central's "
            "mysql-connector-j-9.7.0.jar.sha256 could be read where this pin was written; "
            "copy the value from that .sha256 file"
        ),
        license="GPL-2.0 with the Universal FOSS Exception (Oracle)",
    ),
    "postgresql": Driver(
        "postgresql", "org.postgresql", "postgresql", "42.7.13",
        sha256="6e0e4cc2d8cae902084f8a2b18728b073a6fd9d1f87c9d8bff8f298c18185b93",
        sha256_source=(
            "sha256sum of postgresql-42.7.13.jar (Bundle-Version 42.7.13) in a Maven local "
            "repository (~/.m2/repository/org/postgresql/postgresql/42.7.13/) on 2026-12-08; "
            "not yet compared with Maven Central's postgresql-42.7.13.jar.sha256"
        ),
        license="BSD-2-Clause",
    ),
}  # fmt: skip


class BuildError(Exception):
    """A build that cannot go on; the message says why and what to set."""


def placeholder(name: str) -> str:
    """How a dry run shows a value it was not given: the variable's name in angle brackets."""
    return f"<{name}>"


@dataclass(frozen=True)
class BuildEnv:
    account: str
    region: str
    build_number: str
    revision: str
    source: str
    jdbc_driver_url: str = ""
    jdbc_driver_sha256: str = ""
    drivers: tuple[str, ...] = tuple(DRIVERS)
    """The pinned drivers every WSO2 image gets (JDBC_DRIVERS: names from DRIVERS)."""
    subscription: bool = False
    """WSO2 subscription credentials were given: build from docker.wso2.com."""
    update_levels: Mapping[str, str] = field(default_factory=dict)
    """Product name -> WSO2 update level of its subscription image (WSO2_<NAME>_UPDATE_LEVEL)."""
    placeholders: tuple[str, ...] = ()
    """Variables a dry run was not given, shown as <NAME>."""

    @property
    def registry(self) -> str:
        return f"{self.account}.dkr.ecr.{self.region}.amazonaws.com"

    @classmethod
    def from_environment(cls, env: Mapping[str, str], dry_run: bool = False) -> BuildEnv:
        """The build's settings; a dry run shows the AWS values it lacks as placeholders."""
        required = {
            "AWS_ACCOUNT_ID": env.get("AWS_ACCOUNT_ID", ""),
            "AWS_REGION": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION", ""),
            "CODEBUILD_BUILD_NUMBER": env.get("CODEBUILD_BUILD_NUMBER", ""),
            "CODEBUILD_RESOLVED_SOURCE_VERSION": env.get("CODEBUILD_RESOLVED_SOURCE_VERSION", ""),
        }
        missing = [name for name, value in required.items() if not value]
        if missing and not dry_run:
            raise BuildError(f"missing environment variables: {', '.join(missing)}")
        required |= {name: placeholder(name) for name in missing}
        url, sha = env.get("JDBC_DRIVER_URL", ""), env.get("JDBC_DRIVER_SHA256", "")
        if url and not SHA256.fullmatch(sha):
            raise BuildError(
                "JDBC_DRIVER_URL is set but JDBC_DRIVER_SHA256 is not a sha256 hex digest"
            )
        drivers = tuple(env.get("JDBC_DRIVERS", " ".join(DRIVERS)).replace(",", " ").split())
        unknown = [d for d in drivers if d not in DRIVERS]
        if unknown:
            raise BuildError(
                f"JDBC_DRIVERS names unknown drivers {unknown}; choose from {list(DRIVERS)}"
            )
        levels = {
            name: env[level_variable(name)] for name in PRODUCTS if env.get(level_variable(name))
        }
        return cls(
            account=required["AWS_ACCOUNT_ID"],
            region=required["AWS_REGION"],
            build_number=required["CODEBUILD_BUILD_NUMBER"],
            revision=required["CODEBUILD_RESOLVED_SOURCE_VERSION"],
            source=env.get("CODEBUILD_SOURCE_REPO_URL", "unknown"),
            jdbc_driver_url=url,
            jdbc_driver_sha256=sha,
            drivers=drivers,
            subscription=bool(env.get("WSO2_REGISTRY_USER")),
            update_levels=levels,
            placeholders=tuple(missing),
        )


def level_variable(name: str) -> str:
    return f"WSO2_{name.upper()}_UPDATE_LEVEL"


def tag_for(product: Product, env: BuildEnv) -> str:
    """`4.7.0-12-a1b2c3d`: the product version, then what Berth's tracks order builds by."""
    revision = env.revision if env.revision.startswith("<") else env.revision[:7]
    return f"{product.version}-{env.build_number}-{revision}"


def base_image(product: Product, env: BuildEnv, dry_run: bool = False) -> tuple[str, str]:
    """The WSO2 image to build from, and which kind it is (the `berth.wso2.image-source` label).

    Docker Hub's images are GA releases without WSO2's updates; the subscription registry's carry
    them and are tagged with an update level (wso2/helm-apim README; WSO2 "Docker image tags with
    Updates 2.0")."""
    if not env.subscription:
        return f"wso2/{product.wso2_image}:{product.version}", GA
    level = env.update_levels.get(product.name)
    if not level:
        if not dry_run:
            raise BuildError(
                f"{product.name}: WSO2 subscription credentials are given but "
                f"{level_variable(product.name)} is not: subscription images are tagged "
                f"<version>.<update level>; pick one from "
                f"https://{SUBSCRIPTION_REGISTRY}/tags.php?repo={product.wso2_image}"
            )
        level = placeholder(level_variable(product.name))
    image = f"{SUBSCRIPTION_REGISTRY}/{product.wso2_image}:{product.version}.{level}"
    return image, SUBSCRIPTION


def changed_products(changed_files: Sequence[str]) -> list[str]:
    """The default products whose build inputs are among `changed_files`, in push order (opt-in
    products are built only when named)."""
    if any(path in SHARED_INPUTS for path in changed_files):
        return list(DEFAULT_PRODUCTS)
    return [
        name
        for name in DEFAULT_PRODUCTS
        if any(p.startswith(f"docker/{name}/") for p in changed_files)
    ]


def driver_triples(env: BuildEnv, dry_run: bool = False) -> str:
    """The JDBC_DRIVERS build argument: `file sha256 url` for each driver, space-separated, as
    the Dockerfiles' install step reads it. A driver without a pinned sha256 is refused (a dry
    run shows a placeholder instead)."""
    triples = []
    for name in env.drivers:
        driver = DRIVERS[name]
        sha = driver.sha256
        if not SHA256.fullmatch(sha):
            if not dry_run:
                raise BuildError(
                    f"JDBC driver {driver.file} has no pinned sha256 in docker/build.py DRIVERS "
                    f"({driver.sha256_source}): set it from {driver.url}.sha256, or leave "
                    f"{name} out of JDBC_DRIVERS"
                )
            sha = placeholder(f"{driver.file}.sha256")
        triples.append(f"{driver.file} {sha} {driver.url}")
    if env.jdbc_driver_url:
        file = env.jdbc_driver_url.rstrip("/").rsplit("/", 1)[-1]
        triples.append(f"{file} {env.jdbc_driver_sha256} {env.jdbc_driver_url}")
    return " ".join(triples)


def _wso2_args(product: Product, env: BuildEnv, dry_run: bool) -> dict[str, str]:
    base, source = base_image(product, env, dry_run)
    return {
        "WSO2_VERSION": product.version,
        "WSO2_BASE_IMAGE": base,
        "WSO2_IMAGE_SOURCE": source,
        "JDBC_DRIVERS": driver_triples(env, dry_run),
    }


def build_command(product: Product, env: BuildEnv, dry_run: bool = False) -> list[str]:
    image = f"{env.registry}/{product.repository}:{tag_for(product, env)}"
    cache = f"{env.registry}/{CACHE_REPOSITORY}:{product.name}"
    args = _wso2_args(product, env, dry_run) if product.wso2 else {}
    args |= {
        "BUILD_VERSION": tag_for(product, env),
        "BUILD_REVISION": env.revision,
        "BUILD_SOURCE": env.source,
    }
    command = ["docker", "buildx", "build", "--pull", "--platform", "linux/amd64"]
    for key, value in args.items():
        command += ["--build-arg", f"{key}={value}"]
    command += [
        "--cache-from", f"type=registry,ref={cache}",
        "--cache-to", f"type=registry,ref={cache},mode=max,image-manifest=true,oci-mediatypes=true",
        "--tag", image,
        "--metadata-file", str(OUT / f"{product.name}.metadata.json"),
        "--push",
        str(HERE / product.name),
    ]  # fmt: skip
    return command


def image_detail(
    product: Product, env: BuildEnv, metadata: Mapping[str, object]
) -> dict[str, object]:
    """The artifact CodeBuild keeps for a pushed image: its URI pinned by digest, and its tag."""
    digest = metadata.get("containerimage.digest")
    if not isinstance(digest, str) or not digest.startswith("sha256:"):
        raise BuildError(
            f"{product.name}: the push reported no image digest; treating it as failed"
        )
    return {
        "ImageURI": f"{env.registry}/{product.repository}@{digest}",
        "ImageTags": [tag_for(product, env)],
        "Repository": product.repository,
    }


def git_changed_files(since: str) -> list[str] | None:
    try:
        out = subprocess.run(
            ["git", "diff", "--name-only", since, "HEAD"],
            cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    return [line for line in out.splitlines() if line]


def select(products: str, since: str) -> list[str]:
    if products == "all":
        return list(DEFAULT_PRODUCTS)
    if products == "changed":
        files = git_changed_files(since)
        if files is None:
            print(f"build: cannot diff against {since}; building every image", file=sys.stderr)
            return list(DEFAULT_PRODUCTS)
        return changed_products(files)
    chosen = products.replace(",", " ").split()
    unknown = [p for p in chosen if p not in PRODUCTS]
    if unknown:
        raise BuildError(
            f"unknown products {unknown}; choose from {list(PRODUCTS)}, 'all' or 'changed'"
        )
    return [p for p in PRODUCTS if p in chosen]


def build_one(product: Product, env: BuildEnv, dry_run: bool) -> None:
    """Build and push one image; raise BuildError or CalledProcessError when it fails."""
    command = build_command(product, env, dry_run)
    print("+ " + shlex.join(command), flush=True)
    if dry_run:
        return
    subprocess.run(command, check=True)
    metadata = json.loads((OUT / f"{product.name}.metadata.json").read_text())
    detail = image_detail(product, env, metadata)
    (OUT / f"imageDetail-{product.name}.json").write_text(json.dumps(detail, indent=2) + "\n")
    print(f"build: pushed {detail['ImageURI']} ({tag_for(product, env)})", flush=True)


def run(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--products",
        default="all",
        help=f"all ({' '.join(DEFAULT_PRODUCTS)}), changed, or names ({' '.join(PRODUCTS)}); "
        "ei is built only when named",
    )
    parser.add_argument(
        "--since", default="HEAD~1", help="with --products changed: the commit to diff against"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the commands instead of running them"
    )
    args = parser.parse_args(argv)
    try:
        env = BuildEnv.from_environment(environ, dry_run=args.dry_run)
        names = select(args.products, args.since)
    except BuildError as exc:
        print(f"build: {exc}", file=sys.stderr)
        return 2
    if env.placeholders:
        print(
            f"build: dry run without {', '.join(env.placeholders)}: shown as placeholders",
            file=sys.stderr,
        )
    if not names:
        print("build: no image inputs changed; nothing to build")
        return 0
    OUT.mkdir(exist_ok=True)
    failed: dict[str, str] = {}
    for name in names:
        # Each product on its own: one that fails never stops another's push.
        try:
            build_one(PRODUCTS[name], env, args.dry_run)
        except BuildError as exc:
            failed[name] = str(exc)
        except subprocess.CalledProcessError as exc:
            failed[name] = f"{shlex.join(exc.cmd)} failed with exit status {exc.returncode}"
        if name in failed:
            print(f"build: {name} failed: {failed[name]}", file=sys.stderr, flush=True)
    if failed:
        built = [n for n in names if n not in failed]
        print(
            f"build: {len(failed)} of {len(names)} images failed ({', '.join(failed)}); "
            f"{'built: ' + ', '.join(built) if built else 'none built'}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:], os.environ))
