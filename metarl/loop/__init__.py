"""The refinement loop's one round, written once for every search in metarl.

``Study`` (on an Optuna storage), ``MetaRLSampler`` (inside ``optuna.Study.optimize``) and
``metarl compare`` (an in-memory history, one benchmark run) all run the same steps:

- :func:`initial_design`: distinct random configs of the design grid, drawn from the run's
  ``"init"`` stream (:func:`seed_streams`), so every search with one seed starts alike;
- :func:`round_seed`: each round's random parts, seeded from the run's seed and the number
  of configs seen, so a round replays whatever ran before it (a resumed run too);
- :func:`load_transfer`: meta-data of other datasets (benchmark tasks, stored studies, CSV
  files or DataFrames), snapped to the grid, checked and de-duplicated;
- :func:`zero_shot`: a ranked portfolio for a dataset with no evaluation yet (the round on an
  empty history, fitted on transfer data only), and :func:`holdout_scores`, how such
  portfolios rank each transfer dataset held out;
- :func:`make_search_policy`: ``"auto"`` and the measured-best default policy settings;
- :func:`refine`: fit the meta-learner on the history (and transfer data, ranked within each
  dataset), then propose the next configs, with a record of the round; beyond
  ``TRANSFER_POOLED_MAX`` transfer rows a GP learner is fitted as RGPE
  (:func:`transfer_learner`);
- :func:`choose_fidelity`: with a :class:`~metarl.space.Fidelity` in the space, the fidelity
  each proposal is evaluated at (gain at full fidelity per second predicted by a
  :class:`CostModel`), and promotions of promising cheap results to full fidelity;
- :func:`recommend`: the noise-aware incumbent, the evaluated config with the best
  posterior mean of the learner the round fits;
- :class:`Replicates`: ``refine(replicates=...)`` re-evaluates the observed incumbent (the
  config with the best mean over its evaluations, :func:`observed_incumbent`) when the
  learner says it was probably a lucky draw.

The round is pure: the caller keeps the history and evaluates the proposals.
"""

from metarl.loop._design import initial_design, round_seed, seed_streams
from metarl.loop._fidelity import CostModel, choose_fidelity
from metarl.loop._incumbent import best_predicted, recommend
from metarl.loop._policy import default_policy_kwargs, make_search_policy, resolve_policy_name
from metarl.loop._replicates import (
    REPLICATE_OF,
    Replicates,
    check_replicates,
    config_groups,
    n_replicates,
    observed_incumbent,
    replicate_due,
    seen_count,
)
from metarl.loop._round import CV_GROWTH, History, Round, cv_due, refine
from metarl.loop._transfer import (
    TRANSFER_SIZE,
    TransferData,
    context_label,
    holdout_scores,
    load_transfer,
    transfer_learner,
    zero_shot,
)

__all__ = [
    "CV_GROWTH",
    "CostModel",
    "TRANSFER_SIZE",
    "History",
    "REPLICATE_OF",
    "Replicates",
    "Round",
    "TransferData",
    "best_predicted",
    "check_replicates",
    "choose_fidelity",
    "config_groups",
    "context_label",
    "cv_due",
    "default_policy_kwargs",
    "holdout_scores",
    "initial_design",
    "load_transfer",
    "make_search_policy",
    "n_replicates",
    "observed_incumbent",
    "recommend",
    "refine",
    "replicate_due",
    "resolve_policy_name",
    "round_seed",
    "transfer_learner",
    "seed_streams",
    "seen_count",
    "zero_shot",
]
