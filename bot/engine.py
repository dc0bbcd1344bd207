"""The flow engine: a pure function from (flow, run state, answer) to (new state, prompts, effects)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar

from bot.prompts import Prompt
from bot.refs import RunRef

if TYPE_CHECKING:
    from bot.config import PracticeSettings
    from bot.store import Consult, RecordsRequest


TRAIL = "_trail"  # kept among a run's answers: the steps it came through, for "back"
TRAIL_LENGTH = 40


class Invalid(Exception):
    """An answer that cannot be taken; the question is asked again with this reason (or per-field reasons)."""

    def __init__(self, reason: str, fields: dict[str, str] | None = None):
        super().__init__(reason)
        self.reason = reason
        self.fields = fields or {}


@dataclass(frozen=True)
class Go:
    """A transition: go to step `to`, when the named guard (a method of the flow) says yes, or always.

    `to` may be "@method": the flow method (ctx, value) -> step name decides (e.g. back to where the person was).
    """

    to: str
    when: str | None = None


@dataclass(frozen=True)
class Step:
    """One step of a flow, declared by the names of the flow's methods that do its parts.

    ask:  ctx -> list[Prompt]            what the person sees
    read: (ctx, raw) -> value            checks the answer; raises Invalid to ask again
    do:   (ctx, value) -> list[Effect]   what changes when the answer is taken
    then: transitions, the first whose guard holds wins
    """

    ask: str
    read: str | None = None
    do: str | None = None
    then: tuple[Go, ...] = ()
    final: bool = False
    remember: str | None = None  # (ctx, value) -> what to keep in the run's answers (drops secrets)
    forget: tuple[str, ...] = ()  # answers to drop once this step is answered (a one-time "come back to")


@dataclass(frozen=True)
class Effect:
    """A change for the runner to make (save, schedule, ping, audit); data only."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunState:
    """Where a run stands. Persisted in flow_runs; the version goes up with every accepted answer."""

    step: str
    answers: dict[str, Any]
    version: int = 0
    status: str = "active"  # active | done | cancelled


@dataclass(frozen=True)
class Ctx:
    """Everything a flow may read: the practice, today's date, who is answering, the request so far."""

    practice: PracticeSettings
    today: date
    actor: str
    run_id: int
    state: RunState
    request: RecordsRequest | None = None
    consults: tuple[Consult, ...] = ()
    consulted: tuple[str, ...] = ()  # members asked about this request (they took part in the decision)
    can_email: bool = False  # SMTP is configured: phone consults can get their summary by email first
    value: Any = None  # the answer being read, for guards
    # the client's name when the practice keeps it (phi_in_chat), opened only when a check needs it
    client_name: Callable[[], str] = field(default=lambda: "")

    def ref(self) -> str:
        return str(RunRef(self.run_id, self.state.step, self.state.version))


@dataclass(frozen=True)
class Advance:
    state: RunState
    effects: list[Effect]


class Flow:
    """Base for declarative flows: subclasses declare Step attributes, guards and actions as methods."""

    name: ClassVar[str]
    first: ClassVar[str]
    steps: ClassVar[dict[str, Step]]
    # steps done once and never returned to with "back" (the step after one offers no way back to it)
    no_way_back: ClassVar[tuple[str, ...]] = ()

    def allows_back(self, ctx: Ctx) -> bool:
        """Whether "back" can move this run now (a flow may say no, e.g. once its subject is finished)."""
        return True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.steps = {k: v for k, v in vars(cls).items() if isinstance(v, Step)}
        for name, step in cls.steps.items():
            dynamic = [g.to[1:] for g in step.then if g.to.startswith("@")]
            names = (step.ask, step.read, step.do, step.remember, *(g.when for g in step.then), *dynamic)
            for method in filter(None, names):
                if not callable(getattr(cls, method, None)):
                    raise TypeError(f"{cls.__name__}.{name} names {method!r}, which the flow does not define")
            for go in step.then:
                if not go.to.startswith("@") and go.to not in cls.steps:
                    raise TypeError(f"{cls.__name__}.{name} goes to unknown step {go.to!r}")


def start(flow: Flow, first: str | None = None) -> RunState:
    """A new run at the flow's first step (or at `first`, when the flow says where this one opens)."""
    return RunState(step=first or flow.first, answers={}, version=0)


def prompts(flow: Flow, ctx: Ctx) -> list[Prompt]:
    """The prompts for the run's current step, each addressed with the run's (step, version)."""
    step = flow.steps[ctx.state.step]
    shown = getattr(flow, step.ask)(ctx)
    trail = ctx.state.answers.get(TRAIL) or []
    back = bool(trail) and trail[-1] not in flow.no_way_back and flow.allows_back(ctx)
    return [p if p.kind == "notice" else replace(p, ref=ctx.ref(), can_go_back=back) for p in shown]


def advance(flow: Flow, ctx: Ctx, raw: Any) -> Advance:
    """Take an answer to the current step: check it, pick the next step, list the effects. Raises Invalid."""
    state = ctx.state
    step = flow.steps[state.step]
    value = getattr(flow, step.read)(ctx, raw) if step.read else raw
    kept = getattr(flow, step.remember)(ctx, value) if step.remember else value
    answers = {**state.answers, state.step: _jsonable(kept)}
    # guards and actions see this answer among the answers
    ctx = replace(ctx, value=value, state=replace(state, answers=answers))
    effects = list(getattr(flow, step.do)(ctx, value)) if step.do else []
    go = next((go for go in step.then if go.when is None or getattr(flow, go.when)(ctx, value)), None)
    nxt = None if go is None else getattr(flow, go.to[1:])(ctx, value) if go.to.startswith("@") else go.to
    if nxt is not None and nxt not in flow.steps:
        raise ValueError(f"{type(flow).__name__} chose unknown step {nxt!r}")
    status = "done" if step.final and nxt is None else state.status
    answers = {k: v for k, v in answers.items() if k not in step.forget}
    if nxt is not None and nxt != state.step:  # the way back: the steps this run came through, latest last
        answers[TRAIL] = [*answers.get(TRAIL, []), state.step][-TRAIL_LENGTH:]
    new_state = RunState(step=nxt or state.step, answers=answers, version=state.version + 1, status=status)
    return Advance(state=new_state, effects=effects)


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
