"""BERTH_NOTIFY_STARTED against the sandbox: by default (or `false`) an image update tells SNS
its outcome only; `true` tells its start too, one sns:Publish more; a wide run's start summary
is told either way."""

from __future__ import annotations

from collections import Counter

import pytest
import yaml

from berth.sandbox.sandbox import example_spec
from tests.integration.helpers import deploy_example, history, statuses
from tests.integration.test_cost import IMAGE_UPDATE


@pytest.mark.parametrize("variable", [None, "false"])
def test_by_default_an_image_update_tells_only_its_outcome(sandbox, variable):
    deploy_example(sandbox)
    if variable is not None:
        sandbox.renew_clients(BERTH_NOTIFY_STARTED=variable)
    seen, mark = len(statuses(sandbox)), sandbox.recorder.mark()
    sandbox.push("wso2am", "4.7.0-2")
    sandbox.run_until_idle()

    assert statuses(sandbox)[seen:] == [("apim", "COMPLETED")]
    assert [n.subject for n in sandbox.notifications[seen:]] == ["[dev] apim 4.7.0-2 deployed"]
    assert sandbox.recorder.counts(mark) == IMAGE_UPDATE
    assert sandbox.recorder.counts(mark)["sns:Publish"] == 1
    assert history("apim")[0].status == "COMPLETED"


def test_with_started_an_image_update_tells_its_start_and_its_outcome_one_call_more(sandbox):
    deploy_example(sandbox)
    sandbox.renew_clients(BERTH_NOTIFY_STARTED="true")
    seen, mark = len(statuses(sandbox)), sandbox.recorder.mark()
    sandbox.push("wso2am", "4.7.0-2")
    sandbox.run_until_idle()

    assert statuses(sandbox)[seen:] == [("apim", "STARTED"), ("apim", "COMPLETED")]
    assert [n.subject for n in sandbox.notifications[seen:]] == [
        "[dev] apim 4.7.0-2 deploying", "[dev] apim 4.7.0-2 deployed",
    ]  # fmt: skip
    assert sandbox.recorder.counts(mark) == IMAGE_UPDATE + Counter({"sns:Publish": 1})
    assert history("apim")[0].status == "COMPLETED"


def test_by_default_a_wide_run_still_tells_its_start_and_its_summary(sandbox):
    deploy_example(sandbox)
    sandbox.renew_clients(BERTH_WIDE_RUN="1")
    both = yaml.safe_load(sandbox.adapt_spec(example_spec()))
    for service in both["services"].values():
        service["environment"]["EDITED_ON"] = "monday"
    seen = len(statuses(sandbox))
    sandbox.upload_spec(yaml.safe_dump(both, sort_keys=False))
    sandbox.run_until_idle()

    subjects = [n.subject for n in sandbox.notifications[seen:]]
    assert subjects[0].startswith("[dev] deploying 2 services: spec ")
    assert subjects[1:] == ["[dev] run of 2 services: 2 completed"]
