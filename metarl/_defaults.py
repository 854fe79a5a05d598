"""metarl's default settings, importable without torch, SB3 or Optuna.

How they are applied (``"auto"``, defaults with transfer data) is :mod:`metarl.loop`'s
``make_search_policy``; these are the values.
"""

#: The largest design grid the ``"auto"`` policy searches exactly; beyond it, local search.
ENUMERABLE = 10**6
#: metarl's defaults, the best it measured under PROTOCOL.md (docs/RESULTS.md): a GP
#: meta-learner refitted every evaluation, and an optimistic acquisition (UCB, kappa = 2).
DEFAULT_LEARNER = "gp"
DEFAULT_POLICY_KWARGS: dict[str, object] = {"acquisition": "ucb", "kappa": 2.0}
#: With meta-data of other datasets (transfer), exploiting the pooled prediction measured
#: better at 10-25 evaluations than exploring (docs/RESULTS.md): the predicted mean.
DEFAULT_TRANSFER_POLICY_KWARGS: dict[str, object] = {"acquisition": "mean"}
#: With transfer data, the most rows of other datasets the GP learner is fitted on as one
#: GP pooled with the study's own results; beyond, it is fitted as RGPE (one GP per past
#: dataset, ranking-weighted). Set by cost: an exact pooled GP costs O(n^3) per round
#: (measured ~2-3 CPU s at 400-600 rows, ~23 s at 1,400, minutes beyond 3,000, hours at
#: 10,000). Not lower, because on HPOBench (1,400 rows) the pooled GP searched better at
#: 25 evaluations than RGPE (docs/RESULTS.md, issue 17).
TRANSFER_POOLED_MAX = 5000
