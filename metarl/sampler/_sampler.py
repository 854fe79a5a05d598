"""``MetaRLSampler``: run an existing Optuna objective unchanged, searched by metarl.

The space is inferred from the distributions of the completed trials. A parameter absent from
some trials is conditional: on a categorical parent whose values tell exactly when it is
present (``active_if``), else on a hidden presence flag ``"<name>?"``; either way an absent
parameter encodes as inactive. Parameters outside the inferred space (new, or with changing
distributions) are sampled by the independent sampler (random by default).
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    check_distribution_compatibility,
)
from optuna.samplers import BaseSampler, RandomSampler
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState

from metarl._defaults import DEFAULT_LEARNER, ENUMERABLE
from metarl.loop import REPLICATE_OF, History, make_search_policy, refine
from metarl.loop._replicates import round_settings
from metarl.sampler._transfer import PastData, check_sources, resolve, transfer_data, with_datasets
from metarl.space import Boolean, Categorical, Integer, SearchSpace, SpaceError, from_optuna
from metarl.space._optuna import StepGrid, step_grid, step_grids
from metarl.space._params import Param
from metarl.study._arguments import built_learner
from metarl.type_aliases import Config

#: Proposals a round makes beyond ``batch_size`` on a conditional space, to replace those
#: that repeat a trial (:func:`_repeats`).
_SPARE = 4

#: The most values an integer parent's inferred condition lists (``n_layers >= t``).
MAX_INTEGER_CONDITION = 256


def _find_parent(name: str, present: list[dict[str, Any]], params: dict[str, Param]) -> Any:
    """A parameter whose values decide exactly when ``name`` is present: a categorical one
    (the values seen with it), or an integer one with a threshold (present exactly when
    ``parent >= t``: per-layer parameters under ``n_layers``). Categorical parents are
    tried first: an integer's threshold is likelier to hold by chance on few trials."""
    kinds = [(p, q) for p, q in params.items() if isinstance(q, (Categorical, Boolean))]
    kinds += [(p, q) for p, q in params.items() if isinstance(q, Integer)]
    for p, param in kinds:
        if p == name:
            continue
        if any(name in t and p not in t for t in present):
            continue
        on = {repr(t[p]): t[p] for t in present if name in t and p in t}
        if not on:
            continue
        if isinstance(param, Integer):
            off_values = [t[p] for t in present if name not in t and p in t]
            t_min = min(int(v) for v in on.values())
            if all(int(v) < t_min for v in off_values) and (
                param.high - t_min < MAX_INTEGER_CONDITION
            ):
                return p, list(range(t_min, int(param.high) + 1))
            continue
        off = {repr(t[p]) for t in present if name not in t and p in t}
        if not (set(on) & off):
            return p, list(on.values())
    return None


def infer_space(
    distributions: dict[str, BaseDistribution], trial_params: Sequence[dict[str, Any]]
) -> SearchSpace:
    """A :class:`SearchSpace` for Optuna distributions observed over trials' params.

    A stepped distribution with many steps is an Integer over its step index
    (:func:`metarl.space.from_optuna`'s ``step_index``): the sampler converts its values
    (:func:`_indexed`, :func:`_as_value`).

    Args:
        distributions: name -> distribution (the relative search space).
        trial_params: the params of the observed trials (to find conditional parameters).
    """
    params: dict[str, Param] = dict(from_optuna(distributions, step_index=True).params)
    grids = step_grids(distributions)
    present = [_indexed(grids, tp) for tp in trial_params]
    for name in list(distributions):
        if all(name in t for t in present):
            continue
        found = _find_parent(name, present, {k: params[k] for k in distributions})
        if found is not None:
            parent, values = found
            params[name].active_if = {parent: values}
        else:
            params[f"{name}?"] = Boolean()
            params[name].active_if = {f"{name}?": [True]}
    try:
        return SearchSpace(params)
    except Exception:  # noqa: BLE001 - inferred conditions clash (cycle): use presence flags
        for name, p in list(params.items()):
            if p.active_if and not name.endswith("?"):
                params[f"{name}?"] = Boolean()
                p.active_if = {f"{name}?": [True]}
        return SearchSpace(params)


def _indexed(grids: dict[str, StepGrid], params: dict[str, Any]) -> dict[str, Any]:
    """Optuna ``params`` with the values of the parameters in ``grids`` as step indices (the
    form of :func:`infer_space`'s Integers)."""
    if not grids:
        return dict(params)
    return {k: grids[k].index(v) if k in grids else v for k, v in params.items()}


def _config(space: SearchSpace, params: dict[str, Any]) -> Config:
    cfg: Config = {}
    for name in space.names:
        if name.endswith("?") and name[:-1] in space.names:
            cfg[name] = name[:-1] in params
        elif name in params:
            cfg[name] = params[name]
    # drop values the inferred conditions call inactive (keeps to_matrix's checks happy)
    act = space.active_matrix(_loose(space, cfg))[0]
    return {n: v for n, v in cfg.items() if act[space.names.index(n)]}


def _loose(space: SearchSpace, cfg: Config) -> np.ndarray:
    M = np.full((1, space.n_columns), np.nan)
    for name, v in cfg.items():
        M[0, space.column_slices[name]] = space.params[name].from_value(v)
    return M


def _repeats(
    space: SearchSpace, proposals: list[Config], asked: list[dict[str, Any]]
) -> np.ndarray:
    """(len(proposals),) bool: which proposals repeat a trial whose params are ``asked``.

    A define-by-run objective asks its next parameter from the answers it got so far, so a
    proposal that gives every parameter a trial asked the value it got runs that trial
    again, whatever it says of parameters the trial never asked (an inferred space may
    hold those, e.g. behind presence flags where no parent explains them).
    """
    if not proposals or not asked:
        return np.zeros(len(proposals), dtype=bool)
    P = space.to_matrix(proposals)
    out = np.zeros(len(proposals), dtype=bool)
    for params in asked:
        try:
            cfg = _config(space, params)
            D = _loose(space, cfg)[0]
        except (SpaceError, ValueError):  # a value outside the inferred space: no repeat
            continue
        sl = space.column_slices
        cols = [c for n in cfg if n in params for c in range(sl[n].start, sl[n].stop)]
        if not cols:
            continue
        D = D[cols]
        out |= np.isclose(P[:, cols], D, rtol=1e-12, atol=0.0).all(axis=1)
    return out


#: No value from the past studies (``None`` may be a categorical choice).
_UNSET = object()


def _common(seen: Sequence[dict[str, BaseDistribution]]) -> dict[str, BaseDistribution]:
    """The distributions every one of ``seen`` that has the name agrees on (not single)."""
    dists: dict[str, BaseDistribution] = {}
    clash: set[str] = set()
    for trial_dists in seen:
        for name, d in trial_dists.items():
            if name in dists and dists[name] != d:
                clash.add(name)
            dists.setdefault(name, d)
    return {k: d for k, d in dists.items() if k not in clash and not d.single()}


def _as_value(d: BaseDistribution, v: Any) -> Any:
    """A config value of :func:`infer_space`'s parameter for ``d`` -> its Optuna value (a
    wide stepped distribution's step index -> the value on its grid)."""
    grid = step_grid(d)
    return grid.value(v) if grid is not None else _to_optuna_value(d, v)


def _to_optuna_value(d: BaseDistribution, v: Any) -> Any:
    if isinstance(d, IntDistribution):
        return int(v)
    if isinstance(d, FloatDistribution):
        return float(v)
    if isinstance(d, CategoricalDistribution) and isinstance(v, (bool, np.bool_)):
        return bool(v)
    return v


def _check_strategies(
    learner: Any, policy: Any, policy_kwargs: dict[str, Any] | None, enumerable: int, transfer: bool
) -> None:
    """Build the learner and the policy once, as ``Study`` does before it stores anything, so
    that a misspelt name or keyword fails at construction, not after the startup trials.

    The space is unknown until trials complete, so the policy is built on a stand-in space;
    ``"auto"`` passes where either policy it may run builds (exhaustive search up
    to ``enumerable`` configs, local search beyond). Its cost is the first import of the
    learners and policies (torch), which the first round would pay anyway.

    Raises:
        ValueError: one line naming the bad name or keyword.
    """
    built_learner(learner, None)
    if not isinstance(policy, str):
        return
    # Boolean parameters: 2 configs (exhaustive), and over ``enumerable`` (local search)
    widths = [1, max(enumerable, 1).bit_length()] if policy == "auto" else [1]
    errors: list[ValueError] = []
    for k in widths:
        stand_in = SearchSpace({f"x{i}": Boolean() for i in range(k)})
        try:
            make_search_policy(
                policy, stand_in, policy_kwargs, enumerable=enumerable, transfer=transfer
            )
            return
        except ValueError as e:
            if str(e) not in map(str, errors):
                errors.append(e)
    if len(errors) == 1:
        raise errors[0]
    raise ValueError(
        f"policy 'auto': policy_kwargs={policy_kwargs!r} fit neither policy it may run "
        f"({'; '.join(map(str, errors))})"
    )


def _study_key(study: Study) -> tuple[Any, int, str]:
    """What tells ``study`` apart from another study the sampler serves: its storage (an RDB
    storage's URL, so that a study loaded again is the same study; another storage's
    identity), its id there and its name."""
    storage = study._storage  # noqa: SLF001 - as Optuna's samplers read it
    url = getattr(getattr(storage, "_backend", storage), "url", None)  # _CachedStorage wraps
    return (url if isinstance(url, str) else id(storage)), study._study_id, study.study_name  # noqa: SLF001


class MetaRLSampler(BaseSampler):
    """An Optuna sampler driven by a meta-learner and a metarl search policy.

    ``optuna.create_study(sampler=MetaRLSampler())`` runs any objective (``trial.suggest_*``,
    define-by-run, conditional parameters) unchanged, with ``n_jobs=1`` or more. Each batch
    of proposals is one :func:`metarl.loop.refine` round, the round ``Study`` and ``metarl
    compare`` run, on the completed trials (failed and running ones excluded).

    The defaults are the best configuration metarl measured under ``PROTOCOL.md``
    (``docs/RESULTS.md``): a GP meta-learner refitted after every result, one proposal per
    fit, the exact argmax of UCB (kappa 2) over the design grid, and local search with restarts
    on it where the grid is too large to enumerate.

    The startup trials come from ``independent_sampler``, not from the loop's
    :func:`~metarl.loop.initial_design`: a define-by-run objective reveals its space only
    through its trials, and the design needs the space before the first one.

    With ``transfer``, past studies (or runs) of other datasets warm-start every round as
    ``Study(transfer=...)`` does: the inferred space gains a context feature ``"dataset"``
    (each source's label, this study's ``dataset``), each dataset's values are ranked within
    it (:func:`metarl.loop.load_transfer`, :func:`metarl.loop.refine`), the policy ranks by
    the predicted mean (``"auto"``'s transfer defaults), and no startup trial is random
    when the past studies reveal the space: the first trial is already the learner's best.

    Args:
        learner: a meta-learner or a ``make_learner`` name (default ``"gp"``).
        policy: a search policy, a ``make_policy`` name, or ``"auto"``: ``"exhaustive"``
            (exact argmax of the acquisition) where the design grid has at most
            ``enumerable`` configs, else ``"local_search"``
            (:func:`metarl.loop.make_search_policy`); ``"ppo"`` for the PPO design agent.
        policy_kwargs: keyword arguments of a policy given by name (for ``"auto"``, over
            its defaults: UCB with kappa 2, ``metarl.loop.default_policy_kwargs``, and a
            trust region for local search).
        n_startup_trials: completed trials sampled by ``independent_sampler`` first
            (default 10, or 0 with ``transfer``).
        batch_size: configs proposed per learner fit; they are handed out to the next trials
            until a new result arrives.
        seed: seed of the policy, of the learner's fits and of the default independent
            sampler: with a seed, a deterministic objective and ``n_jobs=1``, a run replays
            exactly (``docs/REPRODUCIBILITY.md``). With ``n_jobs > 1`` it does not: Optuna
            reseeds the independent sampler from the OS, and results arrive in any order.
            None: a seed drawn from the OS.
        independent_sampler: for startup trials and parameters outside the inferred space
            (default ``RandomSampler(seed)``).
        enumerable: the grid size up to which ``"auto"`` searches exhaustively.
        transfer: past data of other datasets of the same objective: a mapping ``{dataset:
            source}``, a list of sources or one source; a source is an ``optuna.Study``
            (same direction), the name of a study in the same storage, or a CSV path or
            DataFrame of runs (a column per parameter and ``value``, or the table of
            ``study.trials_dataframe()``). A source's dataset defaults to its study name or
            file stem. Read when the first round needs them. Where a past study has a
            parameter of another kind or with other choices than the objective's, the first
            trial's value of it is the independent sampler's, with a warning naming the
            parameter and the source.
        dataset: this study's dataset, the context value of its own trials (default: the
            study's name).
        replicates: re-evaluate the observed incumbent (the config with the best mean over
            its trials) when the learner says it was probably a lucky draw
            (:class:`metarl.loop.Replicates`, an integer ``max_evals``, a dict of its
            keywords, or True; None: never, the default). A replicate is a new trial with
            the same params and the user attribute ``metarl:replicate_of`` (the number of
            the config's first COMPLETE trial). Optuna's ``study.best_trial`` still ranks
            single trials: the best mean is for the caller to take (group the COMPLETE
            trials by params). Not with transfer or a policy that fits no learner.

    One instance may serve several studies in turn (a loop over datasets): what it queues
    or hands out is kept per study (its storage, id and name), so a study gets only the
    proposals of rounds on its own trials.

    A misspelt learner or policy name, or a keyword the policy does not take, raises
    ``ValueError`` here, as ``Study`` does, not after the startup trials.

    A multi-objective study (``directions=[...]``) is not supported: every trial is then
    sampled by ``independent_sampler`` (random by default), announced once by a
    ``UserWarning``, as Optuna's samplers announce a feature they do not support.
    """

    def __init__(
        self,
        *,
        learner: Any = DEFAULT_LEARNER,
        policy: Any = "auto",
        policy_kwargs: dict[str, Any] | None = None,
        n_startup_trials: int | None = None,
        batch_size: int = 1,
        seed: int | None = None,
        independent_sampler: BaseSampler | None = None,
        enumerable: int = ENUMERABLE,
        transfer: Any = None,
        dataset: str | None = None,
        replicates: Any = None,
    ) -> None:
        self._sources = check_sources(transfer)
        _check_strategies(learner, policy, policy_kwargs, enumerable, bool(self._sources))
        self.replicates = round_settings(replicates, policy, None, bool(self._sources))
        if n_startup_trials is None:
            n_startup_trials = 0 if self._sources else 10
        if n_startup_trials < (0 if self._sources else 1) or batch_size < 1:
            raise ValueError(
                "batch_size must be a positive integer, n_startup_trials too (>= 0 with transfer)"
            )
        self.transfer = transfer
        self.dataset = dataset
        # the sources, read on first use, and the study they were read for
        self._past: tuple[Any, list[PastData]] | None = None
        self._transfer_cache: tuple[Any, Any] | None = None
        self.learner = learner
        self.policy = policy
        self.policy_kwargs = None if policy_kwargs is None else dict(policy_kwargs)
        self.n_startup_trials = n_startup_trials
        self.batch_size = batch_size
        self.seed = seed
        # the rounds' seed (the learner's random starts): drawn once when none is given
        self._loop_seed = seed if seed is not None else int(np.random.default_rng().integers(2**31))
        self.enumerable = enumerable
        self._independent = independent_sampler or RandomSampler(seed=seed)
        self._lock = threading.RLock()
        self._queue: list[tuple[Config, int | None]] = []  # (proposal, replicate_of)
        self._queue_key: Any = None
        # (study key, trial number) -> proposal (cache per trial); a sampler may serve
        # several studies (F9): every per-study cache holds the study's key
        self._given: dict[tuple[Any, int], Config] = {}
        self._policy_obj: Any = None
        self._policy_space: Any = None
        # trial number -> the past studies' space, for trials started before any completed
        self._from_past_trials: dict[tuple[Any, int], dict[str, BaseDistribution]] = {}
        self._warned: set[str] = set()  # parameters whose past distribution mismatched
        self._warned_multi = False  # the multi-objective fallback was announced
        # (study key, trial number) of COMPLETE trials announced as set apart
        self._warned_trials: set[tuple[Any, int]] = set()

    def __getstate__(self) -> dict[str, Any]:
        # the lock is process-local and the encoded past trials a cache rebuilt on demand;
        # the rest (learner, policy, random states, proposals handed out) travels, so that
        # a restored sampler continues the study as the original would
        state = self.__dict__.copy()
        del state["_lock"]
        state["_transfer_cache"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def reseed_rng(self) -> None:
        self._independent.reseed_rng()

    # ------------------------------------------------------------------ search space
    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if study._is_multi_objective():
            self._warn_multi_objective()
            return {}
        done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if len(done) < self.n_startup_trials:
            return {}
        # before the first trial completes, past studies reveal the space: their round's
        # proposal is handed out parameter by parameter in sample_independent, where the
        # objective's own distribution is known (a past study's other choices or kind of a
        # parameter must not reach Optuna as this trial's relative search space). After it,
        # the space is the parameters the objective suggests, with its own distributions
        # (a parameter it dropped would read as conditional; a past range is not this one's)
        if not done:
            if self._sources:
                self._propose_from_past(study, trial)
            return {}
        return _common([t.distributions for t in done])

    def _warn_multi_objective(self) -> None:
        with self._lock:
            if self._warned_multi:
                return
            self._warned_multi = True
        fallback = type(self._independent).__name__
        warnings.warn(
            "MetaRLSampler does not support multi-objective optimization: every trial of "
            f"this study is sampled by the independent sampler ({fallback})",
            UserWarning,
            stacklevel=3,
        )

    def _propose_from_past(self, study: Study, trial: FrozenTrial) -> None:
        """The past studies' proposal for ``trial``, started before any trial completed."""
        space = self._past_space(study)
        at = (_study_key(study), trial.number)
        with self._lock:
            if space and at not in self._given:
                nxt = self._next(study, space)
                if nxt is not None:
                    self._given[at] = nxt[0]
            self._from_past_trials[at] = space

    def _past_space(self, study: Study) -> dict[str, BaseDistribution]:
        """The space the past studies reveal (empty without any, or for tables)."""
        return _common([past.distributions for past in self._past_data(study)])

    def _past_data(self, study: Study) -> list[PastData]:
        """The transfer sources, read once per study (studies by name from its storage)."""
        key = _study_key(study)
        with self._lock:
            if self._past is None or self._past[0] != key:
                self._past = key, resolve(self._sources, study, self._own_dataset(study))
            return self._past[1]

    def _own_dataset(self, study: Study) -> str:
        return self.dataset if self.dataset is not None else study.study_name

    # ------------------------------------------------------------------ proposals
    def _make_policy(self, space: SearchSpace) -> Any:
        """The policy for ``space``, built again only when the inferred space changes."""
        if self._policy_obj is None or self._policy_space != space.fingerprint():
            pol = make_search_policy(
                self.policy,
                space,
                self.policy_kwargs,
                enumerable=self.enumerable,
                seed=self.seed,
                transfer=bool(self._sources),
            )
            self._policy_obj, self._policy_space = pol, space.fingerprint()
        return self._policy_obj

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        at = (_study_key(study), trial.number)
        with self._lock:
            if at not in self._given:
                nxt = self._next(study, search_space)
                if nxt is None:
                    return {}
                cfg, replicate_of = nxt
                self._given[at] = cfg
                if replicate_of is not None:
                    study._storage.set_trial_user_attr(  # noqa: SLF001 - as Optuna's samplers
                        trial._trial_id, REPLICATE_OF, replicate_of
                    )
            cfg = self._given[at]
        out = {}
        for name, d in search_space.items():
            if name in cfg:
                v = _as_value(d, cfg[name])
                if d._contains(d.to_internal_repr(v)):
                    out[name] = v
        return out

    def _next(
        self, study: Study, search_space: dict[str, BaseDistribution]
    ) -> tuple[Config, int | None] | None:
        trials = study.get_trials(deepcopy=False)
        done = [t for t in trials if t.state == TrialState.COMPLETE]
        # the study too: another study may reach the same count over the same names
        key = (_study_key(study), len(done), tuple(sorted(search_space)))
        if key != self._queue_key or not self._queue:
            self._queue = self._propose(study, search_space, trials, done)
            self._queue_key = key
        return self._queue.pop(0) if self._queue else None

    def _propose(
        self,
        study: Study,
        search_space: dict[str, BaseDistribution],
        trials: list[FrozenTrial],
        done: list[FrozenTrial],
    ) -> list[tuple[Config, int | None]]:
        """One round of :func:`metarl.loop.refine` on the study's trials: its proposals,
        each with the number of the trial it replicates (None: a new config)."""
        names = set(search_space)
        this = _study_key(study)
        past = self._past_data(study)
        grids = step_grids(search_space)  # wide stepped parameters: searched by step index
        # the study's own trials tell which parameters are conditional; the past trials only
        # before the first one completes (they reveal the space of the first proposals)
        observed = [t.params for t in done] or [p for data in past for p in data.params]
        space = infer_space(
            search_space, [{k: params[k] for k in params if k in names} for params in observed]
        )
        transfer = None
        if past:
            own = self._own_dataset(study)
            space = with_datasets(space, [p.label for p in past], own)
            transfer = self._transfer_data(this, space, past, grids)
        used: list[FrozenTrial] = []  # the COMPLETE trials the learner fits, in order
        configs: list[Config] = []
        failed, pending = [], []
        for t in done:
            try:
                c = _config(space, _indexed(grids, t.params))
                space.validate(c)
            except (ValueError, TypeError, KeyError) as e:
                # enqueued with a value off the objective's range or grid (Optuna warns and
                # evaluates it as given): the learner cannot encode it, the rest still counts
                why = str(e).removeprefix("config #0: ")
                self._warn_trial(
                    (this, t.number),
                    f"params {t.params} are outside the sampler's space ({why}): "
                    "left out of its rounds",
                )
                continue
            if math.isfinite(t.value):
                used.append(t)
                configs.append(c)
                continue
            # a diverged objective (Optuna stores +-inf as COMPLETE; NaN is FAIL already):
            # no value a learner can fit, so the config is spent, as a failed trial's is
            why = f"value {t.value} is not finite: its config counts as failed (not proposed again)"
            self._warn_trial((this, t.number), why)
            failed.append(c)
        for t in trials:
            if t.state == TrialState.COMPLETE:
                continue
            try:
                space.validate(c := _config(space, _indexed(grids, t.params)))
            except Exception:  # noqa: BLE001 - a running trial's params are partial
                continue
            (pending if t.state in (TrialState.RUNNING, TrialState.WAITING) else failed).append(c)
        pending += [c for (k, _), c in self._given.items() if k == this and c not in pending]
        history = History.from_configs(
            space, configs, [float(t.value) for t in used], failed, pending
        )
        learner = self.learner
        if isinstance(learner, str):
            from metarl.learners import make_learner  # torch: only once a round is due

            learner = make_learner(learner)
        direction = "minimize" if study.direction == StudyDirection.MINIMIZE else "maximize"
        step = refine(
            space,
            history,
            self.batch_size + (_SPARE if space.conditional else 0),
            learner=learner,
            policy=self._make_policy(space),
            direction=direction,
            transfer=transfer,
            seed=self._loop_seed,
            replicates=self.replicates,
        )
        asked = [_indexed(grids, t.params) for t in trials if t.state != TrialState.RUNNING]
        repeats = _repeats(space, step.configs, asked)
        # a replicate repeats a trial on purpose: it passes, recorded as such
        fresh = [
            (c, None if row is None else used[row].number)
            for c, r, row in zip(step.configs, repeats, step.replicate_of)
            if row is not None or not r
        ]
        if not fresh:
            warnings.warn(
                "MetaRLSampler: every proposal of this round repeats a trial; the next trial "
                "is left to the independent sampler",
                stacklevel=2,
            )
        return fresh[: self.batch_size]

    def _warn_trial(self, at: tuple[Any, int], why: str) -> None:
        """Announce once per trial (``(study key, number)``) that the rounds treat a COMPLETE
        trial apart."""
        if at in self._warned_trials:
            return
        self._warned_trials.add(at)
        warnings.warn(f"MetaRLSampler: trial {at[1]}'s {why}", UserWarning, stacklevel=4)

    def _transfer_data(
        self, study: Any, space: SearchSpace, past: list[PastData], grids: dict[str, StepGrid]
    ) -> Any:
        """The past trials encoded in ``space`` (cached while the study, by its key, and the
        inferred space stay)."""
        key = (study, space.fingerprint(), tuple(sorted(grids.items())))
        if self._transfer_cache is None or self._transfer_cache[0] != key:
            data = transfer_data(space, past, lambda s, p: _config(s, _indexed(grids, p)))
            self._transfer_cache = (key, data)
        return self._transfer_cache[1]

    # ------------------------------------------------------------------ independent
    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        v = self._from_past((_study_key(study), trial.number), param_name, param_distribution)
        if v is not _UNSET:
            return v
        return self._independent.sample_independent(study, trial, param_name, param_distribution)

    def _from_past(self, at: tuple[Any, int], name: str, dist: BaseDistribution) -> Any:
        """The value the past studies' proposal gives ``name`` in the trial ``at`` (study key,
        number) started before any trial completed (``_UNSET``: none, or one that the
        objective's ``dist`` refuses)."""
        with self._lock:
            space = self._from_past_trials.get(at)
            cfg = self._given.get(at, {})
        if not space or name not in space or name not in cfg:
            return _UNSET
        try:
            check_distribution_compatibility(space[name], dist)
        except ValueError:
            self._warn_mismatch(name, space[name], dist)
            return _UNSET
        v = _to_optuna_value(dist, _as_value(space[name], cfg[name]))
        try:
            return v if dist._contains(dist.to_internal_repr(v)) else _UNSET
        except (ValueError, TypeError):
            return _UNSET

    def _warn_mismatch(self, name: str, past: BaseDistribution, own: BaseDistribution) -> None:
        with self._lock:
            if name in self._warned:
                return
            self._warned.add(name)
            sources = self._past[1] if self._past is not None else []
            labels = [p.label for p in sources if name in p.distributions]
        warnings.warn(
            f"MetaRLSampler: transfer: parameter {name!r} is {past} in "
            f"{', '.join(map(repr, labels))} but {own} in the objective: its first value is "
            "the independent sampler's (the past trials whose value fits the objective's "
            "distribution still count from the second trial on)",
            UserWarning,
            stacklevel=3,
        )

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._independent.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._independent.after_trial(study, trial, state, values)
        at = (_study_key(study), trial.number)
        with self._lock:
            self._given.pop(at, None)
            self._from_past_trials.pop(at, None)
