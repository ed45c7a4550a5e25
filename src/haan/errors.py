"""What the library raises or warns about when the user's input is wrong or odd.

The CLI turns an `InputError` into a single line on stderr and exit status 2, with no traceback,
and prints each `DataWarning` as one `warning: ...` line. Library code never prints: it raises or
calls `warnings.warn(message, DataWarning)` with a message that names the file, key or video.
"""

from __future__ import annotations


class InputError(ValueError):
    """Bad input from the user: a file, a config key, a video. The message is one line."""


class DataWarning(UserWarning):
    """Something in the user's data that is suspicious but does not stop the run."""

