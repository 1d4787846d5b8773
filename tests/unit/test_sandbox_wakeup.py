"""`berth sandbox up`'s loop waits on events instead of polling: it sleeps until woken or until
the simulated ECS's next due time, and loses no wake that arrives while it turns. On a fake
clock: the number of turns is what is counted, never a time."""

from __future__ import annotations

import threading

from berth.sandbox.wakeup import serve, wake_on_work


class World:
    """A fake clock, a wake that behaves as threading.Event on it, and a scripted outside.

    `wait(timeout)` returns at once when the wake is set; otherwise the clock moves on to the
    timeout, or (with none) `idle` seconds pass and the next scripted arrival sets the wake. No
    arrival left: the outside stops the loop, as Ctrl-C would.
    """

    def __init__(self, arrivals: list[str] | None = None, idle: float = 3600.0) -> None:
        self.now = 0.0
        self.flag = False
        self.stop = False
        self.idle = idle
        self.arrivals = list(arrivals or [])
        self.work: list[str] = []
        self.waits: list[float | None] = []
        self.steps: list[float] = []
        self.due: float | None = None

    def clock(self) -> float:
        return self.now

    def clear(self) -> None:
        self.flag = False

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        if self.flag:
            return True
        if timeout is not None:
            self.now += timeout
            return False
        self.now += self.idle
        if self.arrivals:
            self.work.append(self.arrivals.pop(0))
        else:
            self.stop = True
        self.flag = True
        return True

    def step(self) -> bool:
        self.steps.append(self.now)
        if self.due is not None and self.now >= self.due:
            self.due = None
            return True
        if self.work:
            self.work.pop(0)
            return True
        return False

    def next_due(self) -> float | None:
        return self.due

    def serve(self) -> int:
        return serve(self.step, self.next_due, self, lambda: self.stop, self.clock)


def test_an_idle_sandbox_turns_once_and_sleeps_until_woken():
    world = World(idle=3600.0)
    turns = world.serve()
    # An hour idle: one turn that found nothing, then one wait with no timeout (no polling).
    assert turns == 1
    assert world.waits == [None]


def test_work_given_wakes_the_loop_which_turns_until_nothing_moves():
    world = World(arrivals=["push", "upload"], idle=600.0)
    world.serve()
    # Each arrival: the turn that handles it, one more that finds nothing, then asleep again.
    assert world.steps == [0.0, 600.0, 600.0, 1200.0, 1200.0]
    assert world.waits == [None, None, None]


def test_a_rollout_due_later_is_slept_until_not_polled():
    world = World(idle=60.0)
    world.due = 2.5  # the simulated ECS decides a rollout at 2.5 s
    world.serve()
    assert world.waits[0] == 2.5  # asleep exactly until then
    assert world.steps[:2] == [0.0, 2.5]
    assert world.waits[1:] == [None]  # nothing due any more: asleep until woken


def test_a_wake_during_a_turn_that_found_nothing_is_not_lost():
    world = World()

    def step() -> bool:
        world.steps.append(world.now)
        if len(world.steps) == 1:
            world.flag = True  # a message sent while this turn drained the queues
        else:
            world.stop = True
        return False

    serve(step, world.next_due, world, lambda: world.stop, world.clock)
    # The wait after the first turn returned at once: the second turn ran with the clock
    # unmoved, not an idle hour later.
    assert world.steps == [0.0, 0.0]


def test_a_stop_requested_as_a_turn_begins_ends_the_loop():
    wake, stop = threading.Event(), threading.Event()

    def step() -> bool:
        stop.set()  # Ctrl-C during the turn: the handler sets stop, then wake
        wake.set()
        return False

    assert serve(step, lambda: None, wake, stop.is_set) == 1  # returns, never blocks


class Backend:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *a, **k: self.calls.append(name)


def test_messages_sent_and_ecs_work_set_the_wake_reads_do_not():
    wake = threading.Event()
    sqs, ecs = Backend(), Backend()
    wake_on_work(wake, sqs, ecs)
    ecs.describe_services()
    sqs.receive_message()
    assert not wake.is_set()
    for call in (sqs.send_message, ecs.update_service, ecs.create_service, ecs.run_task,
                 ecs.stop_task, ecs.delete_service):  # fmt: skip
        wake.clear()
        call()
        assert wake.is_set(), call


def test_a_hook_waiting_on_a_person_is_asked_again_no_sooner_than_the_shortest_wait():
    from types import SimpleNamespace

    from berth.sandbox.ecs_sim.progress import Rollout
    from berth.sandbox.ecs_sim.strategies import advance_stages

    asked: list[str] = []
    sim = SimpleNamespace(
        account="123456789012", region="us-east-1", time_scale=0.001, shortest_wait=1.0,
        lifecycle={}, hook_invocations=[], traffic={},
        # Berth's approval gate: not yet approved, ask again in 60 s.
        invoke_hook=lambda arn, payload: asked.append(arn)
        or {"hookStatus": "IN_PROGRESS", "callBackDelay": 60},
    )  # fmt: skip
    hook = {"hookTargetArn": "arn:aws:lambda:us-east-1:123456789012:function:h",
            "lifecycleStages": ["PRE_SCALE_UP"]}  # fmt: skip
    service = SimpleNamespace(
        deployment_configuration={"strategy": "BLUE_GREEN", "lifecycleHooks": [hook]},
        deployments=[], cluster_name="wso2-dev", name="dev-apim",
        arn="arn:aws:ecs:us-east-1:123456789012:service/wso2-dev/dev-apim",
    )  # fmt: skip
    rollout = Rollout("k", "ecs-svc/1", "td", announced_at=0.0)
    assert advance_stages(sim, service, {"id": "ecs-svc/1"}, rollout, now=100.0) == "waiting"
    # 60 simulated seconds are 0.06 s at this scale; `up`'s loop would turn 16 times a second.
    assert len(asked) == 1 and rollout.due_at == 101.0
