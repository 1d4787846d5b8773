"""The account of the images Berth deploys is the stage's own, never an event's (issue 34)."""

from __future__ import annotations

from types import SimpleNamespace

from chalicelib.handlers import _function_account
from chalicelib.settings import Settings
from tests.fakes import in_memory_berth
from tests.unit.test_flows import SPEC, upload

BASE = {"AWS_REGION": "us-east-1", "BERTH_SPEC_BUCKET": "specs", "BERTH_TOPIC_ARN": "arn:t"}


def test_the_stage_account_is_the_one_the_stack_sets():
    assert Settings.from_environment({**BASE, "BERTH_ACCOUNT": "111122223333"}).account == (
        "111122223333"
    )
    assert Settings.from_environment(BASE).account is None


def test_without_it_the_invoked_functions_arn_names_the_account():
    arn = "arn:aws:lambda:us-east-1:111122223333:function:berth-dev-on_spec_uploaded"
    assert _function_account(SimpleNamespace(invoked_function_arn=arn)) == "111122223333"
    assert _function_account(SimpleNamespace(invoked_function_arn=arn + ":live")) == (
        "111122223333"
    )  # an alias's ARN
    assert _function_account(None) is None
    assert _function_account(SimpleNamespace(invoked_function_arn="")) is None


def test_a_stage_that_knows_no_account_deploys_nothing_and_says_why():
    berth = in_memory_berth()
    berth.settings.account = None
    [outcome] = upload(berth, SPEC, "v1")
    assert (outcome.action, outcome.reason) == ("rejected", "the stage's account is unknown")
    [note] = berth.notifier.published
    assert note.errors == [
        "Berth does not know its own account: set BERTH_ACCOUNT (the stack sets it)"
    ]
