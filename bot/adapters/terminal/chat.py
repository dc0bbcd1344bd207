"""The terminal chat: the embedded, local way to run the conversation (and proof the core is platform-neutral)."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from typing import IO, Any

from bot.answers import read_field
from bot.engine import Invalid
from bot.prompts import Answer, FormField, Outbound, Prompt, Reply
from bot.refs import parse_consult
from bot.services.conversation import Conversation
from bot.text import say

SWEEP_EVERY_SECONDS = 30.0
# typed where an answer was expected, these are commands, not answers (no answer looks like them);
# read-only ones only: "cancel …" or "extend …" inside an answer might be part of the answer, so those need a "/"
COMMAND_LINE = re.compile(r"^(help|list|settings|(status|resume)\s+rr-\d{4}-\d+)\s*$")
BACK = ("back", "/back")


class InputEnded(Exception):
    """Standard input ended while a question was open."""


class Quit(Exception):
    """The person typed quit in the middle of a question."""


class LeftQuestion(Exception):
    """The person typed a /command in the middle of a question: back to the command line (nothing was sent)."""


class FieldBack(Exception):
    """The person typed "back" in a form: to the field before (or, at the first, to the step before)."""


class TerminalChat:
    """Reads one answer per line, prints prompts as plain text; works the same with a terminal or a pipe."""

    def __init__(
        self,
        conversation: Conversation,
        actor: str,
        *,
        stdin: IO[str] = sys.stdin,
        stdout: IO[str] = sys.stdout,
        sweep: Callable[[Callable[[Outbound], None]], Any] | None = None,
        send_now: Callable[[], list[str]] | None = None,
    ):
        self.conversation = conversation
        self.actor = actor
        self.stdin = stdin
        self.stdout = stdout
        self.sweep = sweep
        self.send_now = send_now  # sends what a reply queued (emails) and says what did not go
        self.last_sweep = 0.0
        self.interactive = stdin.isatty()

    # ---------------------------------------------------------------- output
    def say(self, text: str = "") -> None:
        print(text, file=self.stdout, flush=True)

    def show(self, prompt: Prompt) -> None:
        if prompt.header:
            self.say(f"[{prompt.header}]")
        if prompt.error:
            self.say(say("terminal.error", reason=prompt.error))
        self.say(prompt.text)
        if prompt.body and not prompt.error:  # asked again: the letter is already on screen
            self.say(say("terminal.draft_rule"))
            self.say(prompt.body)
            self.say(say("terminal.draft_rule"))
        if prompt.kind in ("choice", "member", "draft", "checklist", "confirm"):
            for number, choice in enumerate(prompt.choices, 1):
                self.say(f"  {number}. {choice.label}")
            if prompt.kind == "checklist":
                self.say(say("terminal.checklist_hint"))
        elif prompt.kind == "date":
            self.say(say("terminal.date_hint", default=prompt.default))

    def deliver(self, message: Outbound) -> None:
        """Messages for others: in the terminal everyone shares one screen, so show where each one went."""
        if message.target_kind == "channel":  # the terminal has no records channel: nothing was posted anywhere
            return
        for prompt in message.prompts:
            text = f"[{prompt.header}] {prompt.text}" if prompt.header else prompt.text
            self.say(say("terminal.outbound", kind=message.target_kind, target=message.target, text=text))

    # ----------------------------------------------------------------- input
    def read_line(self, label: str, *, in_question: bool) -> str:
        self.maybe_sweep()
        if self.interactive:
            self.stdout.write("> ")
            self.stdout.flush()
        line = self.stdin.readline()
        if not line:
            if in_question:
                raise InputEnded
            raise EOFError
        return line.rstrip("\r\n")

    def maybe_sweep(self) -> None:
        if self.sweep and time.monotonic() - self.last_sweep >= SWEEP_EVERY_SECONDS:
            self.last_sweep = time.monotonic()
            self.sweep(self.deliver)

    # ------------------------------------------------------------------ loop
    def run(self) -> int:
        """The whole session: reminders, resume open work, then commands until quit or end of input."""
        try:
            return self.session()
        except Quit:
            self.say(say("terminal.bye"))
            return 0

    def session(self) -> int:
        self.say(say("terminal.welcome", actor=self.actor))
        self.maybe_sweep()
        for card in self.conversation.waiting_consults(self.actor):
            self.handle(Reply(prompts=[card]))
        for run_id in self.conversation.open_runs(self.actor):
            reply = self.conversation.current(run_id, self.actor)
            if reply.prompts:
                self.say(say("terminal.resuming"))
                self.handle(reply)
        while True:
            try:
                line = self.read_line("", in_question=False).strip()
            except EOFError:
                return 0
            if not line:
                continue
            if line.lower().lstrip("/") in ("quit", "exit", "q"):
                self.say(say("terminal.bye"))
                return 0
            self.handle(self.conversation.command(self.actor, line.lstrip("/") if line.startswith("/") else line))

    def handle(self, reply: Reply) -> None:
        """Show a reply; while it asks something, ask, send the answer and show the next reply."""
        while True:
            for message in reply.outbound:
                self.deliver(message)
            if reply.queued and self.send_now is not None:
                for problem in self.send_now():
                    self.say(problem)
            question = None
            for prompt in reply.prompts:
                if prompt.expects_answer and prompt.kind != "form" or prompt.kind != "form":
                    self.show(prompt)
                if prompt.expects_answer:
                    question = prompt
            if question is None:
                return
            try:
                value = self.ask(question)
            except LeftQuestion:
                return
            next_reply = self.conversation.answer(Answer(ref=question.ref, value=value, actor=self.actor))
            if self.stays_put(question, next_reply):
                self.handle(
                    Reply(prompts=[p for p in next_reply.prompts if p.kind == "notice"], outbound=next_reply.outbound)
                )
                self.say(say("terminal.paused", ref=question.header or ""))
                return
            reply = next_reply

    def stays_put(self, asked: Prompt, reply: Reply) -> bool:
        """An accepted answer that leaves the run on the same step ("not yet"): go back to the command line."""
        if any(p.error for p in reply.prompts) or asked.kind == "checklist":  # the checklist waits for the rest
            return False
        step = (asked.ref or "").split(":")[2:3]
        return any(p.expects_answer and (p.ref or "").split(":")[2:3] == step for p in reply.prompts) and not any(
            p.kind == "form" for p in reply.prompts if p.expects_answer
        )

    def ask(self, prompt: Prompt) -> Any:
        if prompt.kind == "form":
            return self.ask_form(prompt)
        if parse_consult(prompt.ref) is not None:  # a consult card: the answer, then the note that goes with it
            return self.ask_consult(prompt)
        line = self.read_line(prompt.kind, in_question=True)
        if line.strip().lower() in BACK and prompt.kind != "text":
            self.handle(self.conversation.back(self.actor, prompt.ref))
            raise LeftQuestion
        self.check_command(line, prompt)
        if not line.strip() and prompt.default is not None and prompt.kind in ("date", "text"):
            return prompt.default
        if prompt.kind == "checklist" and line.strip().lower() == "all":
            return [c.value for c in prompt.choices]
        return line

    def ask_consult(self, prompt: Prompt) -> dict[str, str]:
        line = self.read_line(prompt.kind, in_question=True)
        self.check_command(line, prompt)
        if ":" in line:  # "1: happy to look on Thursday", all on one line
            answer, note = (part.strip() for part in line.split(":", 1))
            return {"answer": answer, "note": note}
        note = ""
        while not note.strip():  # every answer carries a few words for the person who asked
            self.say(say("consults.note_prompt"))
            note = self.read_line("note", in_question=True)
            self.check_command(note, prompt)
        return {"answer": line.strip(), "note": note.strip()}

    def ask_form(self, prompt: Prompt) -> dict[str, Any]:
        """A form, one field at a time, each checked as it is typed; then the whole form is sent.

        Each accepted field is kept with the run, so quitting half-way and coming back starts where it stopped;
        "back" goes to the field before.
        """
        if prompt.header:
            self.say(f"[{prompt.header}]")
        if prompt.error:
            self.say(say("terminal.error", reason=prompt.error))
        self.say(prompt.text)
        values: dict[str, Any] = self.conversation.kept_form(prompt.ref or "")
        names = [f.name for f in prompt.fields]
        values = {k: v for k, v in values.items() if k in names}
        # the form came back with a field at fault (e.g. no ground ticked): that field is asked again, whatever was kept
        wrong = [name for name in names if name in prompt.field_errors]
        for name in wrong:
            values.pop(name, None)
        if values:
            self.say(say("terminal.form_kept", count=len(values)))
        index = next((i for i, name in enumerate(names) if name not in values), len(names))
        redo_all = index == len(names) and bool(prompt.error)  # wrong as a whole: every field again
        if redo_all:
            index = 0
        while index < len(names):
            field = prompt.fields[index]
            if not self.applies(prompt, field, values):  # e.g. the summary's agreement, for a copy
                values.pop(field.name, None)
                index += 1
                continue
            if field.name in values and not redo_all:  # kept from before: not asked twice
                index += 1
                continue
            try:
                values[field.name] = self.ask_field(prompt, field, values)
            except FieldBack:
                index -= 1
                while index >= 0 and not self.applies(prompt, prompt.fields[index], values):
                    index -= 1
                if index < 0:
                    self.handle(self.conversation.back(self.actor, prompt.ref))
                    raise LeftQuestion from None
                values.pop(prompt.fields[index].name, None)
                continue
            self.keep(prompt, values)
            index += 1
        return values

    def applies(self, prompt: Prompt, field: FormField, values: dict[str, Any]) -> bool:
        """A field asked only after a certain answer to another (the form's only_if) is skipped otherwise."""
        if field.only_if is None:
            return True
        other, wanted = field.only_if
        accepted = wanted if isinstance(wanted, tuple) else (wanted,)
        spec = next((f for f in prompt.fields if f.name == other), None)
        try:
            answer = read_field(spec, values[other]) if spec is not None and other in values else None
        except Invalid:
            return False
        if isinstance(answer, list | tuple):
            return any(value in accepted for value in answer)
        return answer in accepted

    def keep(self, prompt: Prompt, values: dict[str, Any]) -> None:
        self.conversation.keep_form(prompt.ref or "", values)

    def ask_field(self, prompt: Prompt, field: FormField, values: dict[str, Any]) -> str:
        """One field, re-asked until the flow accepts it (the same checks as the whole form, bounds included)."""
        self.say(say("terminal.field", field=field))
        for number, choice in enumerate(field.choices, 1):
            self.say(f"  {number}. {choice.label}")
        while True:
            line = self.read_line(field.name, in_question=True)
            if line.strip().lower() in BACK:
                raise FieldBack
            self.check_command(line, prompt)
            try:
                read_field(field, line)
                problem = self.conversation.validate_form(prompt.ref, {**values, field.name: line}).get(field.name)
            except Invalid as exc:
                problem = exc.reason
            if problem:
                self.say(say("terminal.error", reason=problem))
                continue
            return line

    def check_command(self, line: str, prompt: Prompt) -> None:
        """quit, or a /command typed where an answer was expected: leave the question (nothing is sent)."""
        word = line.strip().lower()
        if word.lstrip("/") in ("quit", "exit"):
            raise Quit
        if not word.startswith("/") and not COMMAND_LINE.match(word):
            return
        if word == "/cancel":  # this question's own run: an unfinished intake is simply dropped
            self.handle(self.conversation.discard(prompt.ref, self.actor))
        else:
            self.handle(self.conversation.command(self.actor, line.strip().lstrip("/")))
        raise LeftQuestion
