#!/usr/bin/env python3
"""Build and push Berth's WSO2 images; what buildspec.yml runs in CodeBuild.

Decides which products to build (all, or those whose docker/<product>/ changed), tags them
`<product version>-<build number>-<commit>` (never `latest`), builds with BuildKit reusing a
registry cache, pushes integration runtimes before API Manager, and writes one
out/imageDetail-<product>.json per pushed image with its digest-pinned URI.

No dependencies beyond the standard library: it runs on CodeBuild's stock image.

    python3 docker/build.py --dry-run              # print the docker commands, run nothing
    python3 docker/build.py --products changed --since HEAD~1
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


# Integration runtimes first: APIM's APIs call them, and Berth deploys them first too.
PRODUCTS: dict[str, Product] = {
    "ei": Product("ei", "wso2ei", "6.6.0", "wso2ei"),
    "mi": Product("mi", "wso2mi", "4.4.0", "wso2mi"),
    "apim": Product("apim", "wso2am", "4.7.0", "wso2am"),
}


class BuildError(Exception):
    """A build that cannot go on; the message says why and what to set."""


@dataclass(frozen=True)
class BuildEnv:
    account: str
    region: str
    build_number: str
    revision: str
    source: str
    jdbc_driver_url: str = ""
    jdbc_driver_sha256: str = ""

    @property
    def registry(self) -> str:
        return f"{self.account}.dkr.ecr.{self.region}.amazonaws.com"

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> BuildEnv:
        required = {
            "AWS_ACCOUNT_ID": env.get("AWS_ACCOUNT_ID", ""),
            "AWS_REGION": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION", ""),
            "CODEBUILD_BUILD_NUMBER": env.get("CODEBUILD_BUILD_NUMBER", ""),
            "CODEBUILD_RESOLVED_SOURCE_VERSION": env.get("CODEBUILD_RESOLVED_SOURCE_VERSION", ""),
        }
        missing = [name for name, value in required.items() if not value]
        if missing:
            raise BuildError(f"missing environment variables: {', '.join(missing)}")
        url, sha = env.get("JDBC_DRIVER_URL", ""), env.get("JDBC_DRIVER_SHA256", "")
        if url and len(sha) != 64:
            raise BuildError(
                "JDBC_DRIVER_URL is set but JDBC_DRIVER_SHA256 is not a sha256 hex digest"
            )
        return cls(
            account=required["AWS_ACCOUNT_ID"],
            region=required["AWS_REGION"],
            build_number=required["CODEBUILD_BUILD_NUMBER"],
            revision=required["CODEBUILD_RESOLVED_SOURCE_VERSION"],
            source=env.get("CODEBUILD_SOURCE_REPO_URL", "unknown"),
            jdbc_driver_url=url,
            jdbc_driver_sha256=sha,
        )


def tag_for(product: Product, env: BuildEnv) -> str:
    """`4.7.0-12-a1b2c3d`: the product version, then what Berth's tracks order builds by."""
    return f"{product.version}-{env.build_number}-{env.revision[:7]}"


def changed_products(changed_files: Sequence[str]) -> list[str]:
    """The products whose build inputs are among `changed_files`, in push order."""
    if any(path in SHARED_INPUTS for path in changed_files):
        return list(PRODUCTS)
    return [
        name for name in PRODUCTS if any(p.startswith(f"docker/{name}/") for p in changed_files)
    ]


def build_command(product: Product, env: BuildEnv) -> list[str]:
    image = f"{env.registry}/{product.repository}:{tag_for(product, env)}"
    cache = f"{env.registry}/{CACHE_REPOSITORY}:{product.name}"
    args = {
        "WSO2_VERSION": product.version,
        "BUILD_VERSION": tag_for(product, env),
        "BUILD_REVISION": env.revision,
        "BUILD_SOURCE": env.source,
    }
    if env.jdbc_driver_url:
        args |= {
            "JDBC_DRIVER_URL": env.jdbc_driver_url,
            "JDBC_DRIVER_SHA256": env.jdbc_driver_sha256,
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
        return list(PRODUCTS)
    if products == "changed":
        files = git_changed_files(since)
        if files is None:
            print(f"build: cannot diff against {since}; building every image", file=sys.stderr)
            return list(PRODUCTS)
        return changed_products(files)
    chosen = products.replace(",", " ").split()
    unknown = [p for p in chosen if p not in PRODUCTS]
    if unknown:
        raise BuildError(
            f"unknown products {unknown}; choose from {list(PRODUCTS)}, 'all' or 'changed'"
        )
    return [p for p in PRODUCTS if p in chosen]


def run(argv: Sequence[str], environ: Mapping[str, str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--products", default="all", help="all, changed, or names (ei mi apim)")
    parser.add_argument(
        "--since", default="HEAD~1", help="with --products changed: the commit to diff against"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the commands instead of running them"
    )
    args = parser.parse_args(argv)
    try:
        env = BuildEnv.from_environment(environ)
        names = select(args.products, args.since)
        if not names:
            print("build: no image inputs changed; nothing to build")
            return 0
        OUT.mkdir(exist_ok=True)
        for name in names:
            product = PRODUCTS[name]
            command = build_command(product, env)
            print("+ " + shlex.join(command), flush=True)
            if args.dry_run:
                continue
            subprocess.run(command, check=True)
            metadata = json.loads((OUT / f"{name}.metadata.json").read_text())
            detail = image_detail(product, env, metadata)
            (OUT / f"imageDetail-{name}.json").write_text(json.dumps(detail, indent=2) + "\n")
            print(f"build: pushed {detail['ImageURI']} ({tag_for(product, env)})", flush=True)
    except BuildError as exc:
        print(f"build: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(
            f"build: {shlex.join(exc.cmd)} failed with exit status {exc.returncode}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:], os.environ))
