"""The record of one fix applied to a model's reply.

Both steps from reply to trial write it: reading the reply (``_parse``: code fence, prose,
truncation) and fitting its values into their distributions (``_repair``). Each ends up in
the trial's ``llm_repairs`` user attribute. Imports nothing of this package.
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Repair:
    """One fix applied to a reply.

    Attributes:
        kind: ``extracted``, ``syntax``, ``truncated``, ``positional``, ``unusable``,
            ``coerced``, ``clipped``, ``snapped``, ``nearest_choice``, ``dropped_value``,
            ``unknown_key``, ``renamed_key``, ``missing``, ``duplicate``, ``empty``, ``extra``.
        param: The parameter concerned, or :obj:`None` for the reply as a whole.
        detail: What happened, for people.
    """

    kind: str
    param: str | None
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "param": self.param, "detail": self.detail}
