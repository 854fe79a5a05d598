"""The refinement loop on an Optuna storage: real results retrain the meta-learner, which
steers the next proposals.

A :class:`Study` is an Optuna study with metarl's settings in its user attributes (the stored
format is :mod:`metarl.study._schema`'s). Each round is :func:`metarl.loop.refine`, the round
``MetaRLSampler`` and ``metarl compare`` run too; its proposals are enqueued as WAITING trials
and evaluated by the executor or by ``metarl worker`` processes.

Failures (the trainer raised, returned NaN/inf or no metric, or timed out) are FAIL trials with
the error text. They count towards the budget and are never proposed again, but they are not
given to the learner: no value is known, and imputing one would bias the surrogate. Trials of
a process that died stop heartbeating; they are failed and re-queued with the same params, and
neither the dead trial nor its copy is counted twice.

Failures are loud: each is printed (one line, on stderr) as it is stored, and the loop stops
with :class:`TooManyFailuresError` when the first trials all failed or ``max_consecutive_failures``
trials in a row failed with the same error.

Several processes may run one study (``metarl run`` on the same config, on several machines):
one of them holds the study's proposer lease (:mod:`metarl.study._lease`) and proposes, the
others evaluate its WAITING trials until the lease frees, so that no config is proposed twice.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from metarl._defaults import DEFAULT_LEARNER
from metarl.loop import (
    CV_GROWTH,
    initial_design,
    load_transfer,
    make_search_policy,
    refine,
    seed_streams,
)
from metarl.space import SearchSpace, config_from_optuna_params
from metarl.study import _schema as schema
from metarl.study._arguments import (
    built_learner,
    label_of,
    open_existing,
    resumed_direction,
    trainer_parts,
)
from metarl.study._checkpoint import save_checkpoint
from metarl.study._console import Console, quiet_optuna
from metarl.study._direction import direction_line, study_direction
from metarl.study._drain import Drain
from metarl.study._executors import Executor, make_executor
from metarl.study._fidelity import (
    check_fidelity_learner,
    check_fidelity_policy,
    check_fidelity_start,
    design_at_levels,
    loop_fidelity,
    round_proposals,
)
from metarl.study._lease import ProposerLease
from metarl.study._replicates import (
    check_study_replicates,
    merge_attrs,
    replicate_attrs,
    study_best,
)
from metarl.study._settings import (
    check_focus,
    check_heartbeat,
    check_settings,
    create_or_load,
    open_for_study,
    serving_heartbeat,
    stored_settings,
)
from metarl.study._storage import Heartbeat, _heartbeat, artifacts_dir, counts
from metarl.study._tell import Told
from metarl.study._tensorboard import TensorBoardLog, check_tensorboard
from metarl.study._trials import TooManyFailuresError, enqueue, failure_stop, history_of
from metarl.trainers import Trainer, TrainerSpec
from metarl.type_aliases import Config, Direction

#: ``callback(study, round_record)``, called after each round; returning False stops the
#: loop (SB3's convention), None or True continues.
Callback = Callable[["Study", dict[str, Any]], bool | None]
#: Folds of the learner-quality cross-validation (``cv_spearman``), measured in the rounds
#: where the training set has grown by 25 % since the last measurement
#: (:data:`metarl.loop.CV_GROWTH`); other rounds record None.
QUALITY_CV = 5


class Study:
    """A persistent, resumable refinement loop on an Optuna storage.

    Args:
        space: the search space (default: the trainer's ``.space``).
        trainer: a callable ``config -> dict of metrics``, or a :class:`TrainerSpec`
            (registered trainer, benchmark task, or ``module:function``).
        metric: the objective metric (default: the trainer's ``.metric``, else ``"value"``).
        direction: ``"minimize"`` or ``"maximize"``. Default: the trainer's, else read from
            the metric's name as ``metarl learner fit`` reads it (``cv_acc``, ``val_r2``:
            maximize; ``val_loss``, ``mse``, ``train_time``: minimize), else minimize
            (Optuna's default); either way one line on stderr says which and why.
        learner: a meta-learner or a ``make_learner`` name (default ``"gp"``).
        policy: a :class:`~metarl.agents.SearchPolicy`, a ``make_policy`` name, or
            ``"auto"`` (default: exact argmax of UCB where the design grid is enumerable,
            else local search; PPO by name, ``"ppo"``; with ``transfer`` data the predicted
            mean instead of UCB; see
            :func:`metarl.loop.make_search_policy`).
        policy_kwargs: keyword arguments for a policy given by name.
        learner_kwargs: keyword arguments for a learner given by name.
        storage: ``None`` (in memory), an RDB URL, or an Optuna storage.
        study_name: the Optuna study name (created, or loaded and checked against the space).
        n_init: random configs of the initial design (skipped when transfer data exist).
        batch_size: configs proposed per round.
        seed: seed of the initial design, the transfer draws, the learner and the policy.
        executor: ``"process"`` (default), ``"thread"``, ``"dask"``, ``"none"`` (only
            ``metarl worker`` processes evaluate), or an :class:`Executor` (the caller's:
            ``optimize`` leaves it open, for another call; shut it down when done).
        n_workers: parallel evaluations of the executor.
        timeout: seconds before a trainer call is failed (killed with the process executor);
            None: the executor's :class:`~metarl.study.AutoTimeout`.
        max_consecutive_failures: stop (raise :class:`TooManyFailuresError`) once this many
            trials in a row failed with the same error; None: never. The loop also stops
            when the whole initial design failed.
        transfer: warm-start data of other datasets (:func:`metarl.loop.load_transfer`):
            names of other studies in the same storage, CSV paths or DataFrames of past runs,
            benchmark task names (200 noisy evaluations each, drawn from the seed's
            ``"transfer"`` stream), or one ``(configs, values)`` pair whose configs carry
            their context. The learner fits each dataset's values as normal scores of their
            ranks within that dataset (datasets' raw metrics are not comparable).
        heartbeat_interval, grace_period: heartbeat settings of RDB storages (seconds;
            default 5 and ``2 * heartbeat_interval + 1``). A stored study keeps the ones it
            was created with, whoever resumes or serves it, so that every process judges a
            trial stale alike (different values given are ignored with a warning).
        artifacts: directory of the learner/policy checkpoints (default: beside a SQLite
            database, ``<db>.artifacts/<study>/``; none for other storages).
        focus: search only a subspace: a dict of :meth:`SearchSpace.restrict` keywords
            (``fixed``, ``ranges``, ``choices``, ``items``) or a restricted space. The
            initial design and every proposal keep to it, while the learner fits on every
            result of the study, inside and outside it; each round's record adds the
            focus, ``n_train_in_focus`` and ``cv_spearman_focus`` (see
            :func:`metarl.loop.refine`). A search setting, not the space: a study may be
            resumed with another focus or none (``metarl:settings`` keeps the one it was
            created with; each round's record names its own).
        tensorboard: a folder for TensorBoard logs (None: none), one subfolder per study:
            per round, the learner's quality and the search's progress (``rounds/``), and
            the training of a policy that logs with SB3 (PPO: episode reward = acquisition,
            entropy, explained variance; ``ppo_0/``). See :mod:`metarl.study._tensorboard`;
            needs ``pip install 'metarl[tensorboard]'``.
        replicates: re-evaluate the observed incumbent when the learner says it was
            probably a lucky draw (:class:`metarl.loop.Replicates`, an integer ``max_evals``,
            a dict of its keywords, or True; None: never, the default). A replicate is a
            trial with the same params and ``metarl:replicate_of`` (the number of the
            config's first trial); :attr:`best_trial` and :attr:`best_value` are then by the
            mean over a config's trials (:mod:`metarl.study._replicates`). Not with a
            Fidelity, transfer data or a policy that fits no learner (ValueError).
        fidelity_start: with a Fidelity, where a config never evaluated starts:
            ``"full"`` any level by gain per cost, full included; ``"low"`` a level below
            full; ``"auto"`` below full when the trainer continues configs from checkpoints
            (it reports ``metarl:continued_from``), else any level. None: ``"full"``
            (:data:`metarl.study._fidelity.DEFAULT_FIDELITY_START`). Refused (ValueError)
            on a space without a loop-chosen Fidelity.

    Multi-fidelity: on a space with a :class:`~metarl.space.Fidelity` (a training-subsample
    fraction, epochs; one the design does not search) the policy still designs configs at
    full fidelity, ranked by the learner's prediction there, and the loop chooses the
    fidelity each is trained at by expected gain per predicted trainer second, promoting to
    full fidelity the configs whose cheap results look promising
    (:mod:`metarl.loop._fidelity`; the initial design is spread over the levels, cheapest
    first). It needs the
    GP learner. Each trial stores its fidelity (a param, and ``metarl:fidelity``), and
    :attr:`best_trial` / :attr:`best_value` are the best *full-fidelity* result (Optuna's
    ``optuna_study.best_trial`` ranks every fidelity together).

    Every argument (learner and policy names, transfer sources included) is checked before
    the storage is written: a bad one leaves no study behind.

    Raises:
        StorageError: the storage cannot be opened, or the stored study has another space,
            or holds trials that are not metarl's.
        ValueError: a bad argument (the message names it).
    """

    def __init__(
        self,
        space: SearchSpace | None = None,
        trainer: Trainer | TrainerSpec | None = None,
        *,
        metric: str | None = None,
        direction: Direction | None = None,
        learner: Any = DEFAULT_LEARNER,
        policy: Any = "auto",
        learner_kwargs: dict[str, Any] | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        storage: str | BaseStorage | None = None,
        study_name: str = "metarl",
        n_init: int = 10,
        batch_size: int = 10,
        seed: int = 0,
        executor: str | Executor = "process",
        n_workers: int = 2,
        timeout: float | None = None,
        max_consecutive_failures: int | None = 5,
        transfer: Any = (),
        heartbeat_interval: int | None = None,
        grace_period: int | None = None,
        artifacts: str | Path | None = None,
        focus: Any = None,
        tensorboard: str | Path | None = None,
        replicates: Any = None,
        fidelity_start: str | None = None,
    ) -> None:
        self._trainer = trainer
        self.trainer_spec, built, self.space, self.metric = trainer_parts(trainer, space, metric)
        self._console = Console()
        chosen, why = study_direction(direction, built, self.metric)
        check_settings(
            chosen, n_init, batch_size, timeout, n_workers, executor, max_consecutive_failures,
            storage=storage, trainer=trainer,
        )  # fmt: skip
        check_heartbeat(study_name, heartbeat_interval, grace_period)
        tensorboard_dir = check_tensorboard(tensorboard)
        #: The subspace searched (None: the whole space).
        self.focus = check_focus(self.space, focus)
        searched = self.focus if self.focus is not None else self.space
        #: The fidelity the loop chooses per trial (None: the space has none).
        self.fidelity = loop_fidelity(self.space)
        #: Where a fresh config starts (None: the space has no loop fidelity).
        self.fidelity_start = check_fidelity_start(self.space, fidelity_start)
        self.n_init, self.batch_size, self.seed = n_init, batch_size, seed
        self.timeout, self.max_consecutive_failures = timeout, max_consecutive_failures
        self.executor, self.n_workers = executor, n_workers
        self._learner_name = label_of(learner)
        #: The learner as configured; each round fits a clone of it.
        self.learner = built_learner(learner, learner_kwargs)
        if self.fidelity is not None:
            check_fidelity_learner(self.learner)
        #: The learner fitted by the last round (None before the first fit).
        self.fitted_learner: Any = None
        self._heartbeat = serving_heartbeat(storage, study_name, heartbeat_interval, grace_period)
        self.study_name = study_name
        streams = seed_streams(seed)
        opened = open_existing(storage, self._heartbeat)
        chosen, why = resumed_direction(opened, study_name, chosen, why)
        self.direction: Direction = chosen  # type: ignore[assignment]
        if why is not None:  # not the caller's choice: say which, and why
            self._console.say(direction_line(self.direction, self.metric, why))
        self._transfer = load_transfer(
            transfer, self.space, metric=self.metric, storage=opened, rng=streams["transfer"],
            study_name=study_name,
        )  # fmt: skip
        self.policy = make_search_policy(
            policy, searched, policy_kwargs, transfer=self._transfer is not None, seed=seed
        )
        if self.fidelity is not None:
            check_fidelity_policy(self.policy)
        self._policy_name = label_of(policy)
        #: When a round re-evaluates a lucky-looking incumbent (None: never).
        self.replicates = check_study_replicates(
            self.space, replicates, self.policy, self._policy_name, self._transfer is not None
        )
        self._design = initial_design(
            searched, 0 if self._transfer is not None else n_init, streams["init"]
        )
        if self.fidelity is not None:
            self._design = design_at_levels(self.space, self.fidelity, self._design)
        self.storage = opened if opened is not None else open_for_study(storage, self._heartbeat)
        settings = stored_settings(
            self._learner_name, self._policy_name, n_init, batch_size, seed, timeout,
            self._heartbeat, self.focus,
        )  # fmt: skip
        spec = self.trainer_spec.to_dict() if self.trainer_spec is not None else None
        with quiet_optuna():  # no "A new study created ..." in the user's console
            self.optuna_study = create_or_load(
                self.storage, study_name, self.space, self.direction, self.metric, settings, spec
            )
        self.artifacts = Path(artifacts) if artifacts else artifacts_dir(self.storage, study_name)
        if self.artifacts is not None and (self.artifacts / "policy").exists():
            self.policy.load(self.artifacts / "policy")
        self._finished_before: set[int] = set()
        #: Writes each round to TensorBoard (None: ``tensorboard`` not set).
        self.tensorboard = TensorBoardLog.for_study(
            tensorboard_dir, study_name, self.policy, self._policy_name
        )

    # ------------------------------------------------------------------ data
    def trials(self, states: Sequence[TrialState] | None = None) -> list[FrozenTrial]:
        return self.optuna_study.get_trials(deepcopy=False, states=states)

    def config_of(self, trial: FrozenTrial) -> Config:
        """The metarl config of a stored trial."""
        return config_from_optuna_params(self.space, trial.params)

    def history(self) -> tuple[list[Config], np.ndarray]:
        """Completed ``(configs, values)`` of this study."""
        done = self.trials((TrialState.COMPLETE,))
        return [self.config_of(t) for t in done], np.asarray([t.value for t in done], float)

    @property
    def best_trial(self) -> FrozenTrial:
        """The best COMPLETE trial (Optuna's); with replicates, the first trial of the config
        with the best mean over its trials (:mod:`metarl.study._replicates`; that mean is
        :attr:`best_value`); with a Fidelity, the best at full fidelity (ValueError before
        any is complete, as Optuna's)."""
        return self._best()[0]

    @property
    def best_config(self) -> Config:
        return self.config_of(self.best_trial)

    @property
    def best_value(self) -> float:
        """The best trial's value; with replicates, the best config's mean over its trials."""
        return self._best()[1]

    def _best(self) -> tuple[FrozenTrial, float, int | None]:
        return study_best(self.space, self.optuna_study, self.direction, bool(self.replicates))

    @property
    def rounds(self) -> list[dict[str, Any]]:
        """Per-round records (origin, training size, learner CV Spearman, proposals, seconds)."""
        return schema.round_records(self.optuna_study.user_attrs)

    # ------------------------------------------------------------------ proposals
    def _propose(self, k: int, round_: int, lease: ProposerLease) -> dict[str, Any] | None:
        """One round of :func:`metarl.loop.refine` on the stored trials; enqueues its
        proposals as WAITING trials and returns the round's record (None, and nothing
        enqueued, when this process lost the proposer lease meanwhile)."""
        trials = self.trials()
        history = history_of(self.space, trials)
        tb = self.tensorboard
        with tb.policy_logging() if tb is not None else contextlib.nullcontext():
            step = refine(
                self.space, history, k, learner=self.learner, policy=self.policy,
                direction=self.direction, transfer=self._transfer, design=self._design,
                metric=self.metric, seed=self.seed, cv=QUALITY_CV, cv_growth=CV_GROWTH,
                label=self._policy_name, focus=self.focus, replicates=self.replicates,
            )  # fmt: skip
        if step.learner is not None:
            self.fitted_learner = step.learner
        attrs = {
            schema.ORIGIN: step.record["origin"],
            schema.ROUND: round_,
            schema.SEED: self.seed,
            schema.CONTEXT: dict(self.space.context_values),
        }
        configs, per_config, extra = round_proposals(
            self.space, step, history, trials, self.direction, self.focus, self.fidelity_start
        )
        per_config = merge_attrs(per_config, replicate_attrs(step, trials))
        if not lease.renew():  # a round may outlast the grace period of a stalled renewal
            return None
        enqueue(self.optuna_study, self.space, configs, attrs, per_config)
        return {"round": round_, **step.record, **extra}

    # ------------------------------------------------------------------ evaluation
    def _call_target(self) -> Trainer | TrainerSpec:
        if isinstance(self.executor, str) and self.executor == "thread":
            return self._trainer  # type: ignore[return-value]
        if self.trainer_spec is not None:
            return self.trainer_spec
        return self._trainer  # type: ignore[return-value]

    def _progress(self, trial: FrozenTrial, told: Told) -> None:
        if told.state == TrialState.FAIL:
            self._console.failed(trial.number, told.error)
            self._check_failures()
        if told.state is not None:
            self._console.stored(self._best_text)

    def _best_text(self) -> str:
        try:
            return f"best {self.metric}={self.best_value:.5g}"
        except ValueError:  # completed trials, none at full fidelity yet
            return f"best {self.metric}: none at full fidelity yet"

    def _check_failures(self) -> None:
        # only this call's results: a resume after fixing the trainer must not be refused
        # for the failures that stopped the last run
        new = [t for t in self.trials() if t.number not in self._finished_before]
        n_initial = len(self._design) or self.batch_size
        reason = failure_stop(new, n_initial, self.max_consecutive_failures)
        if reason is not None:
            raise TooManyFailuresError(self.study_name, reason)

    # ------------------------------------------------------------------ the loop
    def optimize(
        self, budget: int, *, progress: bool = False, callbacks: Sequence[Callback] = ()
    ) -> Study:
        """Run rounds until ``budget`` evaluations (COMPLETE + failed trials) are stored.

        Resumable: call it again (in this or a new process) after a crash and it continues
        from the storage. Several processes may optimize one study at once: the one holding
        the study's proposer lease proposes, the others evaluate its trials (and take the
        lease when it frees, e.g. when its holder has reached its budget or died).

        Args:
            budget: the evaluations to reach (those already stored count).
            progress: show a tqdm progress bar.
            callbacks: ``callback(study, round_record)``, called after each round, as SB3
                calls its callbacks: returning ``False`` stops the loop; ``None`` (no return)
                or ``True`` continues. (metarl 0.1.0 stopped on True, Optuna-style; such a
                callback now continues.)

        Raises:
            TooManyFailuresError: the first trials all failed, or ``max_consecutive_failures``
                in a row failed with the same error. Trials still running are failed as
                interrupted and re-queued, as on Ctrl-C.
        """
        if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1:
            raise ValueError(f"budget={budget!r}: expected a positive integer")
        if self._trainer is None and self.executor != "none":
            raise ValueError("no trainer: pass one, or use executor='none' with metarl workers")
        executor = None if self.executor == "none" else make_executor(self.executor, self.n_workers)
        if progress:
            self._console.open_bar(budget, min(budget, counts(self.trials())["done"]))
        self._finished_before = {t.number for t in self.trials() if t.state.is_finished()}
        interval, grace = _heartbeat(self.storage) or (1, 3.0)  # in memory: a local lock
        lease = ProposerLease(self.storage, self.optuna_study._study_id, interval, grace)
        drain = None
        try:
            with Heartbeat(self.storage) as hb, lease:
                drain = Drain(
                    self.optuna_study, self.space, self.metric, self._call_target(),
                    self.timeout, executor, hb, self._progress,
                )  # fmt: skip
                logged = [self.tensorboard] if self.tensorboard is not None else []
                self._loop(drain, lease, budget, [*logged, *callbacks])
        finally:
            if self.tensorboard is not None:
                self.tensorboard.close()
            if drain is not None:
                drain.release()  # interrupted or stopped: what ran here is re-queued
            if executor is not None and not isinstance(self.executor, Executor):
                executor.shutdown()  # one built here; the caller's is the caller's to shut
            self._console.close()
        return self

    def _loop(
        self, drain: Drain, lease: ProposerLease, budget: int, callbacks: Sequence[Callback]
    ) -> None:
        holding = said = False
        while counts(self.trials())["done"] < budget:
            if not lease.try_take():
                holding = False
                if not said:  # once per wait
                    said = True
                    self._console.waiting(lease.holder(), self.study_name)
                drain.run(budget, proposer=False)
                continue
            said = False
            if not holding:
                holding = True
                self.optuna_study.set_user_attr(schema.BUDGET, budget)
            drain.run(budget, proposer=True)  # what was left waiting
            c = counts(self.trials())
            if c["done"] >= budget:
                break
            self._check_failures()  # failures told by other processes count too
            round_ = len(self.rounds)
            t0 = time.perf_counter()
            k = min(self.batch_size, budget - c["done"] - c["pending"])
            record = self._propose(k, round_, lease)
            if record is None:
                continue  # the lease was lost: evaluate the new holder's trials
            if record["n_proposed"] == 0 and c["pending"] == 0:
                warnings.warn("the space is exhausted", stacklevel=3)
                break
            # the policy has state to keep
            if record["origin"] == self._policy_name and self.artifacts is not None:
                save_checkpoint(
                    self.artifacts, self.policy, self.fitted_learner, self.space, self.direction
                )
            drain.run(budget, proposer=True)
            record["seconds"] = round(time.perf_counter() - t0, 3)
            record["n_done"] = counts(self.trials())["done"]
            self.optuna_study.set_user_attr(schema.round_key(round_), record)
            if any([cb(self, record) is False for cb in callbacks]):  # all are called
                break

    def summary(self) -> dict[str, Any]:
        """Counts, the best config and value, and the learner quality per round."""
        c = counts(self.trials())
        out: dict[str, Any] = {"study": self.study_name, **c, "rounds": self.rounds}
        if c["complete"]:
            with contextlib.suppress(ValueError):  # none at full fidelity yet
                best, value, n = self._best()  # n: None unless ranked by mean (replicates)
                out |= {"best_value": value, "best_config": self.config_of(best)}
                out |= {"best_n_evals": n} if n is not None else {}
        return out

    def __repr__(self) -> str:
        return f"Study({self.study_name!r}, metric={self.metric!r}, direction={self.direction!r})"
