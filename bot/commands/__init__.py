"""One module per CLI command; each exposes register(app). Heavy imports stay inside the command functions."""

import sys
from typing import NoReturn


def fail(message: str, code: int = 2) -> NoReturn:
    """One clear line on stderr and a non-zero exit; never a traceback."""
    print(message, file=sys.stderr)
    raise SystemExit(code)
