"""Every sentence people read: jinja2 templates from templates/, overridable by the practice."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@lru_cache(maxsize=8)
def environment(practice_dir: str | None = None) -> SandboxedEnvironment:
    """The template environment: the practice's own folder first, then ours.

    Sandboxed, StrictUndefined (a missing value is an error, never a blank), autoescaped for HTML.
    Values passed in are always data: user text is never parsed as template source.
    """
    loaders = [FileSystemLoader(practice_dir)] if practice_dir else []
    loaders.append(FileSystemLoader(str(TEMPLATES)))
    env = SandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html", "htm", "html.j2"], default_for_string=False, default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,  # templates are read once: no file-time check on every message
    )
    env.filters["longdate"] = lambda d: f"{d:%B} {d.day}, {d:%Y}" if d else ""
    env.filters["money"] = lambda cents: f"${cents / 100:,.2f}"
    env.filters["stepname"] = lambda step: say("steps.name", step=step)
    return env


_practice_dir: str | None = None


def use_practice_templates(folder: Path | None) -> None:
    """Let a practice override any template by dropping a file of the same name in its folder."""
    global _practice_dir
    _practice_dir = str(folder) if folder else None


def practice_templates() -> str | None:
    """The folder of the practice's own templates in use (None: the built-in ones)."""
    return _practice_dir


def render(name: str, **context: Any) -> str:
    """Render one template file by name, e.g. render("letters/acknowledgement.en.md.j2", ...)."""
    return environment(_practice_dir).get_template(name).render(**context).strip()


def say(key: str, **context: Any) -> str:
    """One short message: the macro `name` in templates/chat.j2, or `file.name` in templates/file.j2."""
    file, _, name = key.rpartition(".")
    template = f"{file or 'chat'}.j2"
    module = environment(_practice_dir).get_template(template).module
    macro = getattr(module, name, None)
    if macro is None:
        raise KeyError(f"templates/{template} has no message named {name!r}")
    return str(macro(**context)).strip()


def precompile() -> None:
    """Compile every template now (start-up), not when the first person needs one."""
    env = environment(_practice_dir)
    for name in env.list_templates(filter_func=lambda n: n.endswith(".j2")):
        env.get_template(name)
