"""metarl: predict a training run's metric from its meta-features, and search with it.

Importing ``metarl`` registers its Gymnasium env ids (``"metarl/Design-v0"``) by entry-point
string, as importing a Gymnasium env package does, and imports the plug-in modules named in
``$METARL_PLUGINS`` (comma-separated; ``metarl run --import`` sets it for its workers).
"""

from metarl import _gym  # noqa: F401 - registers the Gymnasium env ids (no env code imported)
from metarl._plugins import import_env_plugins
from metarl._version import __version__
from metarl.sampler import MetaRLSampler
from metarl.space import (
    Boolean,
    Categorical,
    Fidelity,
    Float,
    Integer,
    SearchSpace,
    SpaceError,
    Subset,
)
from metarl.study import Study

import_env_plugins()  # last: a plug-in module imports metarl's subpackages

__all__ = [
    "Boolean",
    "Categorical",
    "Fidelity",
    "Float",
    "Integer",
    "MetaRLSampler",
    "SearchSpace",
    "SpaceError",
    "Study",
    "Subset",
    "__version__",
]
