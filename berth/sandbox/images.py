"""Images in the sandbox ECR: pushed as a build pushes them (with the event ECR sends), or
imported under an exact digest (for replay).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from berth.sandbox.ecs_sim.task_play import BROKEN_HEALTH_MARKER
from berth.sandbox.names import ACCOUNT, REGION
from berth.sandbox.routing import put_event


def put_image(ecr: Any, repository: str, tag: str, broken_health_check: bool = False) -> str:
    """Put an image manifest into a sandbox ECR repository; its digest."""
    layer = hashlib.sha256(f"{repository}:{tag}:{broken_health_check}".encode()).hexdigest()
    annotations = {"org.opencontainers.image.version": tag}
    if broken_health_check:
        annotations[BROKEN_HEALTH_MARKER] = "failing"
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "size": 0,
            "digest": "sha256:" + "0" * 64,
        },
        # moto derives the digest from the layer digests: one layer per build makes it unique.
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "size": 0,
                "digest": f"sha256:{layer}",
            }
        ],
        "annotations": annotations,
    }
    image = ecr.put_image(
        repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag
    )["image"]
    return str(image["imageId"]["imageDigest"])


def push_image(
    ecr: Any, events: Any, repository: str, tag: str, broken_health_check: bool = False
) -> str:
    """Put an image into a sandbox ECR and emit the event ECR sends (moto sends none)."""
    digest = put_image(ecr, repository, tag, broken_health_check)
    detail = {
        "result": "SUCCESS",
        "repository-name": repository,
        "image-digest": digest,
        "action-type": "PUSH",
        "image-tag": tag,
    }
    put_event(events, "aws.ecr", "ECR Image Action", detail, [])
    return digest


def import_image(repository: str, tag: str, digest: str) -> bool:
    """Make the sandbox ECR hold `digest` under `tag`, as after a real push of that image
    (moto derives digests from manifests, so an exact digest is put into its backend);
    False when the repository does not exist or already holds the digest."""
    from moto.ecr.models import Image, ecr_backends

    repo = ecr_backends[ACCOUNT][REGION].repositories.get(repository)
    if repo is None or any(i.image_digest == digest for i in repo.images):
        return False
    annotations = {"berth.sandbox/imported": "true"}
    manifest = json.dumps({"schemaVersion": 2, "annotations": annotations})
    repo.images.append(Image(ACCOUNT, tag, manifest, repository, digest=digest))
    return True
