"""Text cut to a length, marked where it was cut: for prompts, trial records and notes."""

from __future__ import annotations


TRUNCATED = " [...truncated]"
"""What ends a text that was cut."""


def truncate(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else its start and :data:`TRUNCATED`.

    The result is never longer than ``limit``; below the marker's length it is the bare start.

        >>> truncate("one two three", 100)
        'one two three'
        >>> truncate("x" * 40, 20)
        'xxxxx [...truncated]'
    """
    if len(text) <= limit:
        return text
    if limit <= len(TRUNCATED):
        return text[: max(limit, 0)]
    return text[: limit - len(TRUNCATED)] + TRUNCATED
