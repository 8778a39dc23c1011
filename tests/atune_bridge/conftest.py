"""Shared by the bridge's tests in the folders below (``format/``, ``runner/``, ``engine/``,
mirroring ``atune_bridge``'s rooms) and the command tests here: ``toy_project``, the toy A-Tune
project the runner and the ``tune`` command run on, is imported from this folder."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
