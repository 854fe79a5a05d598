"""Type aliases shared across metarl (one place, as in SB3's ``type_aliases.py``)."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

#: A scalar a config can hold for one parameter.
Value = str | int | float | bool | None
#: A configuration: parameter name -> value (a Subset holds a tuple of items).
Config = dict[str, Any]
#: Values of many configs, one row each (see ``SearchSpace.to_matrix``); NaN = inactive.
ConfigMatrix = np.ndarray
#: Optimisation direction of a metric.
Direction = Literal["minimize", "maximize"]
#: Which acquisition ranks configs: the ``acquisition=`` keyword of policies, design
#: environments and ``metarl.learners.acquisition`` (see there).
AcquisitionKind = Literal["mean", "ucb", "lcb", "ei"]
