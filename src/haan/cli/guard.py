"""How a command ends, whatever it does: `run_guarded` turns DataWarnings into `warning:` lines,
an InputError into one `error:` line and exit status 2, Ctrl-C into status 130 (and, on a second
line, what the interrupted command advises: a training run says the command that resumes it),
and a reader that closed stdout early into a quiet exit.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Callable

from haan.errors import DataWarning, InputError


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    if issubclass(category, DataWarning):
        print(f"warning: {message}", file=sys.stderr)
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


_default_showwarning = warnings.showwarning


# A reader that closed the pipe early (`haan data info --json | head -c 10`): stop quietly with
# the status a shell gives a program killed by SIGPIPE, as `ls | head` does.
BROKEN_PIPE_STATUS = 128 + 13


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def run_guarded(action: Callable[[], object], prog: str = "haan") -> int:
    """Run a command; 0 unless it returns an int status. DataWarnings as `warning:` lines, an
    InputError as one `error:` line and exit status 2, Ctrl-C as status 130, a closed stdout
    pipe as a quiet exit."""
    warnings.showwarning = _show_warning
    try:
        status = action()
        sys.stdout.flush()
        return status if isinstance(status, int) else 0
    except InputError as exc:
        # In a torchrun launch every process meets the same input: the first one reports it.
        if os.environ.get("RANK", "0") == "0":
            # One line per problem: an error that collects several (bad rows) has a line each.
            for line in str(exc).splitlines() or [""]:
                print(f"{prog}: error: {line}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        _silence_stdout()
        return BROKEN_PIPE_STATUS
    except KeyboardInterrupt as exc:
        print(f"{prog}: interrupted", file=sys.stderr)
        if str(exc):  # what to do next, from the command that was interrupted
            print(f"{prog}: {exc}", file=sys.stderr)
        return 130
    finally:
        warnings.showwarning = _default_showwarning
