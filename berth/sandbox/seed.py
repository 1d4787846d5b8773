"""`berth sandbox up --seed`: the example dev environment set up as its operator would, so that a
push right after (`berth sandbox push wso2am:4.7.0-9`) deploys."""

from __future__ import annotations

import yaml

from berth.sandbox.sandbox import Sandbox, example_spec

# The first build of each image the examples track, as CodeBuild would push it.
FIRST_BUILDS = {"wso2am": "4.7.0-1", "wso2mi": "4.4.0-1", "wso2ei": "6.6.0-1"}


def seed_example(box: Sandbox, name: str = "wso2-dev.yaml", timeout: float = 120.0) -> str:
    """Push the first build of every image the example tracks, then upload the example (with the
    sandbox's network) as specs/<environment>/wso2.yaml and turn the sandbox until the run
    settles; the spec's S3 version id."""
    text = example_spec(name)
    document = yaml.safe_load(text)
    repositories = sorted({s["image"]["repository"] for s in document["services"].values()})
    for repository in repositories:
        box.push(repository, FIRST_BUILDS[repository])
    box.run_until_idle(timeout)
    version = box.upload_spec(box.adapt_spec(text), document["environment"])
    box.run_until_idle(timeout)
    return version
