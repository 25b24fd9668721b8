"""Exceptions with a meaning for the build.

`DropSample` is how any stage says "this one sample cannot be used": the runner counts it under
its `reason` and carries on, so bad input never fails a shard and is never lost silently.
`RecipeError` is a user mistake in a recipe; the CLI prints its one line and exits with code 2.
"""


def first_line(e: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none): what a one-line
    error quotes of a library's multi-line message."""
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


class ToolkitError(Exception):
    """Base class for errors the CLI reports as one readable line."""


class RecipeError(ToolkitError):
    """A recipe that cannot be used: unknown key, wrong type, missing value, unknown kind."""


class DropSample(Exception):
    """One sample is unusable; `reason` is the counter it is reported under."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
