"""What the library raises or warns about when the user's input is wrong or odd.

The CLI turns an `InputError` into a single line on stderr and exit status 2, with no traceback,
and prints each `DataWarning` as one `warning: ...` line. Library code never prints: it raises or
calls `warnings.warn(message, DataWarning)` with a message that names the file, key or video.
"""

from __future__ import annotations

from typing import Iterable


class InputError(ValueError):
    """Bad input from the user: a file, a config key, a video. The message is one line."""


class DataWarning(UserWarning):
    """Something in the user's data that is suspicious but does not stop the run."""


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`; did you mean 'epochs'?` for the known name nearest a misspelt one, else "": the end of
    an unknown-key message."""
    import difflib

    near = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean '{near[0]}'?" if near else ""


def unknown(message: str, name: str, known: Iterable[str]) -> InputError:
    """The error for a name that is not one of `known`: `message`, then the nearest known name."""
    return InputError(message + did_you_mean(name, known))
