"""Platform-neutral things the assistant shows and hears: prompts out, answers in, messages for others."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

PromptKind = Literal[
    "notice",  # text only, nothing to answer
    "choice",  # pick one of choices
    "date",  # a date, YYYY-MM-DD
    "text",  # free text (max_length)
    "checklist",  # pick any number of choices (multi-select)
    "member",  # pick a practice member (choices hold the allowed members)
    "form",  # several fields answered together (a Slack modal, an Adaptive Card, one-by-one in the terminal)
    "draft",  # a letter to review; choices say what to do with it
    "confirm",  # yes / no
    "file",  # a document sent as a file: text is the note with it, header its title; ref names what to send
]


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class FormField:
    """One field of a form prompt; kind is one of the single-answer prompt kinds."""

    name: str
    label: str
    kind: Literal["choice", "date", "text", "member", "checklist", "count", "amount"] = "text"  # count/amount: typed
    choices: tuple[Choice, ...] = ()
    required: bool = True
    max_length: int = 200
    default: str | None = None
    hint: str | None = None
    # (field, value or values): asked only when that field's answer is one of them (a checklist: includes one)
    only_if: tuple[str, str | tuple[str, ...]] | None = None


@dataclass(frozen=True)
class Prompt:
    """Something to show a person. `ref` addresses the answer back: "run:<id>:<step>:<version>" or "consult:<id>"."""

    kind: PromptKind
    text: str
    ref: str | None = None
    choices: tuple[Choice, ...] = ()
    fields: tuple[FormField, ...] = ()
    body: str | None = None  # the full text of a draft letter
    error: str | None = None  # why the previous answer was not accepted (shown with the re-asked question)
    header: str | None = None  # e.g. "RR-2026-0042 · due 2026-12-24 · 28 days left · step: Review"
    max_length: int = 500
    default: str | None = None
    field_errors: dict[str, str] = field(default_factory=dict)  # a form answered wrongly: what is wrong, by field
    can_go_back: bool = False  # a step of a run that came through others: "back" returns to the one before
    filename: str | None = None  # a file prompt's file name (its content is made when it is sent)

    @property
    def expects_answer(self) -> bool:
        return self.kind not in ("notice", "file") and self.ref is not None


@dataclass(frozen=True)
class Answer:
    """What a person answered to the prompt with this ref. value: str, list[str] (checklist) or dict (form)."""

    ref: str
    value: Any
    actor: str  # the practice member's name


@dataclass(frozen=True)
class Outbound:
    """A message for someone other than the person in the conversation: a member's DM or the records channel."""

    target_kind: Literal["member", "channel"]
    target: str  # member name, or channel name/id
    prompts: tuple[Prompt, ...]
    phi_free: bool = True  # channel posts must be; the renderer refuses otherwise


@dataclass(frozen=True)
class Origin:
    """Where an interaction came from: the platform, the person's id there, and the message they answered.

    With a chat platform as origin, what the person is to see is written to the outbox with the change and sent
    after commit; the terminal (origin None) shows the reply itself.
    """

    platform: str  # slack | teams
    user_id: str
    message: dict[str, Any] | None = None  # the platform's address of the message answered, ticked once taken
    hold_form: bool = False  # the adapter opens a form itself at once (a Slack modal while the trigger is fresh)


@dataclass
class Reply:
    """The assistant's answer to one inbound interaction."""

    prompts: list[Prompt] = field(default_factory=list)
    outbound: list[Outbound] = field(default_factory=list)
    duplicate: bool = False  # the same interaction was handled before; nothing changed
    accepted: bool = False  # the answer was taken (a step moved on, a consult answer was recorded)
    queued: list[int] = field(default_factory=list)  # outbox rows written with it (sent after commit)
    held: int | None = None  # the outbox row holding a form the adapter opens itself (released if it can't)


def prompt_to_dict(prompt: Prompt) -> dict[str, Any]:
    """A prompt as JSON-able data (an outbox row's payload)."""
    return asdict(prompt)


def prompt_from_dict(data: dict[str, Any]) -> Prompt:
    """The prompt an outbox row holds."""
    values = dict(data)
    values["choices"] = tuple(Choice(**c) for c in values.get("choices") or ())
    values["fields"] = tuple(
        FormField(**{**f, "choices": tuple(Choice(**c) for c in f.get("choices") or ()), "only_if": _only_if(f)})
        for f in values.get("fields") or ()
    )
    return Prompt(**values)


def _only_if(field: dict[str, Any]) -> tuple[str, str | tuple[str, ...]] | None:
    """A field's only_if as declared: JSON gives its values back as a list."""
    condition = field.get("only_if")
    if not condition:
        return None
    name, wanted = condition
    return (name, tuple(wanted) if isinstance(wanted, list | tuple) else wanted)
