"""Every hostile spec in tests/corpus/specs is rejected cleanly when uploaded, and nothing moves."""

from __future__ import annotations

from pathlib import Path

from chalicelib import handlers
from tests.integration.helpers import deploy_example, live_image
from tests.reliability.conftest import FIGURES

CORPUS = sorted((Path(__file__).resolve().parents[1] / "corpus" / "specs").iterdir())


def test_the_corpus_is_large_enough():
    assert len(CORPUS) >= 100


def test_every_hostile_spec_is_rejected_with_a_located_message_and_nothing_deployed(sandbox):
    deploy_example(sandbox)
    before = {name: live_image(sandbox, name) for name in ("mi", "apim")}
    accepted = handlers.berth().store.accepted_spec("dev")
    mark = sandbox.recorder.mark()
    seen = len(sandbox.notifications)
    since = len(sandbox.deliveries)
    for path in CORPUS:
        sandbox.upload_spec(path.read_bytes(), name=path.name)
    sandbox.run_until_idle(timeout=120)

    notes = sandbox.notifications[seen:]
    rejected = {
        n.document["spec"]["key"].rsplit("/", 1)[-1]: n
        for n in notes
        if n.document["status"] == "REJECTED"
    }
    errors = [d.error for d in sandbox.deliveries[since:] if d.error]
    FIGURES["hostile specs"].update(
        inputs=len(CORPUS),
        rejected_cleanly=len(rejected),
        ecs_mutations=len(sandbox.recorder.ecs_mutations(mark)),
        unhandled_exceptions=len(errors),
    )
    assert errors == []
    assert sorted(rejected) == sorted(p.name for p in CORPUS)
    assert len(notes) == len(CORPUS)  # one notification each, nothing else
    for name, note in rejected.items():
        assert note.document["errors"], name
        for error in note.document["errors"]:
            if error.startswith("… and "):  # the notification's cap on errors (NOTIFIED_ERRORS)
                continue
            assert error.startswith(f"s3://berth-specs-123456789012-dev/specs/dev/{name}"), error
            assert "Traceback" not in error
        assert note.subject.startswith("[dev] spec rejected: ")
    assert sandbox.recorder.ecs_mutations(mark) == []
    assert {name: live_image(sandbox, name) for name in ("mi", "apim")} == before
    assert handlers.berth().store.accepted_spec("dev") == accepted
