"""Pre-flight: a change whose services reference something missing deploys nothing (issue 14,
finding 8: the first service rolled out, then the second failed on a missing subnet)."""

from __future__ import annotations

import yaml

from berth.sandbox.sandbox import example_spec
from tests.integration.helpers import refused_untouched, statuses


def test_a_subnet_deleted_under_the_second_service_deploys_neither(sandbox):
    # The environment's fence still lists the subnet (the operator has not caught up): only
    # EC2 knows it is gone.
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    kept, deleted = sandbox.subnets
    document = yaml.safe_load(sandbox.adapt_spec(example_spec()))
    document["network"]["subnets"] = [kept]
    document["services"]["mi"]["network"] = {
        "subnets": [deleted], "securityGroups": [sandbox.security_group],
    }  # fmt: skip
    sandbox.client("ec2").delete_subnet(SubnetId=deleted)
    assert refused_untouched(sandbox, yaml.safe_dump(document, sort_keys=False)) == [
        f"services.mi.network.subnets[0]: subnet {deleted} does not exist; name a subnet of this "
        "account and region. Nothing was deployed: every service of a change is checked before "
        "the first one starts"
    ]
    assert statuses(sandbox) == [(None, "REJECTED")]


def test_a_missing_secret_is_refused_before_any_task_definition(sandbox):
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:wso2/dev/never-created"
    text = sandbox.adapt_spec(example_spec()).replace(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:wso2/dev/db", missing, 1
    )
    assert refused_untouched(sandbox, text) == [
        f"services.apim.secrets.DB_PASSWORD: secret {missing} does not exist; create the secret "
        "first (docs/wso2.md lists what each product needs). Nothing was deployed: every "
        "service of a change is checked before the first one starts"
    ]
