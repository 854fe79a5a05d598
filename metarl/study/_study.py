"""The refinement loop: real results retrain the meta-learner, which steers the next proposals.

A :class:`Study` is an Optuna study with metarl's settings in its user attributes:

- ``metarl:space`` (the space's dict form), ``metarl:fingerprint``, ``metarl:metric``,
  ``metarl:trainer`` (a :class:`TrainerSpec`, so that ``metarl worker`` can rebuild it),
  ``metarl:settings``, and ``metarl:round:NNNN`` (per round: training size, the learner's
  cross-validated Spearman, proposals, seconds).
- Each config is a trial: params in Optuna's distributions (``to_optuna``; inactive conditional
  params are absent), ``value`` the objective metric, every trainer metric a user attribute,
  plus ``metarl:context``, ``metarl:seed``, ``metarl:round``, ``metarl:origin``,
  ``metarl:worker`` and, for failures, ``metarl:error``.

Failures (the trainer raised, returned NaN/inf or no metric, or timed out) are FAIL trials with
the error text. They count towards the budget and their configs are never proposed again
(every stored config is in the policy's ``exclude``), but they are not given to the learner as
values: no value is known, and imputing one would bias the surrogate.

Trials of a process that died stop heartbeating; they are failed and re-queued with the same
params (``metarl:requeued``), and neither the dead trial nor its copy is counted twice.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from metarl._defaults import DEFAULT_LEARNER
from metarl.space import SearchSpace, config_from_optuna_params, config_to_optuna_params, to_optuna
from metarl.study._executors import Executor, make_executor
from metarl.study._storage import (
    ERROR,
    Heartbeat,
    StorageError,
    artifacts_dir,
    counts,
    open_storage,
    pop_waiting,
    requeue_stale,
)
from metarl.study._trainer import (
    Trainer,
    TrainerError,
    TrainerSpec,
    objective_value,
    storable,
)
from metarl.type_aliases import Config, Direction

Callback = Callable[["Study", dict[str, Any]], bool | None]


def _space_of(trainer: Any) -> SearchSpace | None:
    space = getattr(trainer, "space", None)
    return space if isinstance(space, SearchSpace) else None


class Study:
    """A persistent, resumable refinement loop on an Optuna storage.

    Args:
        space: the search space (default: the trainer's ``.space``).
        trainer: a callable ``config -> dict of metrics``, or a :class:`TrainerSpec`
            (registered trainer, benchmark task, or ``module:function``).
        metric: the objective metric (default: the trainer's ``.metric``, else ``"value"``).
        direction: ``"minimize"`` or ``"maximize"`` (default: the trainer's, else minimize).
        learner: a meta-learner or a ``make_learner`` name (default ``"gp"``).
        policy: a :class:`~metarl.agents.SearchPolicy`, a ``make_policy`` name, or
            ``"auto"`` (default: exact argmax of UCB where the design grid is enumerable,
            else PPO; see ``metarl.agents.resolve_policy_name``; with ``transfer`` data the
            predicted mean instead of UCB, see ``metarl.agents.default_policy_kwargs``).
        policy_kwargs: keyword arguments for a policy given by name.
        learner_kwargs: keyword arguments for a learner given by name.
        storage: ``None`` (in memory), an RDB URL, or an Optuna storage.
        study_name: the Optuna study name (created, or loaded and checked against the space).
        n_init: random configs of the initial design (skipped when transfer data exist).
        batch_size: configs proposed per round.
        seed: seed of the initial design and the policy.
        executor: ``"process"`` (default), ``"thread"``, ``"dask"``, ``"none"`` (only
            ``metarl worker`` processes evaluate), or an :class:`Executor`.
        n_workers: parallel evaluations of the executor.
        timeout: seconds before a trainer call is failed (killed with the process executor).
        transfer: ``(configs, values)`` warm-start data, or names of other studies in the
            same storage whose completed results join the learner's training set (configs
            carry their own context values, so the space should declare the context). With
            transfer data, the learner fits each context's values as normal scores of their
            ranks within that context (datasets' raw metrics are not comparable).
        heartbeat_interval, grace_period: heartbeat settings of RDB storages (seconds).
        artifacts: directory of the learner/policy checkpoints (default: beside a SQLite
            database, ``<db>.artifacts/<study>/``; none for other storages).

    Raises:
        StorageError: the storage cannot be opened, or the stored study has another space.
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
        transfer: Sequence[str] | tuple[Sequence[Config], Sequence[float]] = (),
        heartbeat_interval: int = 5,
        grace_period: int | None = None,
        artifacts: str | Path | None = None,
    ) -> None:
        self.trainer_spec = TrainerSpec.of(trainer) if trainer is not None else None
        self._trainer = trainer
        built = trainer.build() if isinstance(trainer, TrainerSpec) else trainer
        self.space = space if space is not None else _space_of(built)
        if self.space is None:
            raise ValueError("space: none given and the trainer has no .space")
        self.metric = metric or getattr(built, "metric", None) or "value"
        self.direction: Direction = direction or getattr(built, "direction", None) or "minimize"
        if self.direction not in ("minimize", "maximize"):
            raise ValueError(f"direction {self.direction!r}: expected 'minimize' or 'maximize'")
        for name, v in (("n_init", n_init), ("batch_size", batch_size)):
            if not isinstance(v, int) or v < (0 if name == "n_init" else 1):
                raise ValueError(f"{name}={v!r}: expected a non-negative integer")
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout={timeout!r}: expected a positive number of seconds")
        self.n_init, self.batch_size, self.seed = n_init, batch_size, seed
        self.timeout = timeout
        self.executor, self.n_workers = executor, n_workers
        self.learner = self._make_learner(learner, learner_kwargs or {})
        self.policy = self._make_policy(policy, policy_kwargs, transfer=bool(transfer))
        self._learner_name = learner if isinstance(learner, str) else type(learner).__name__
        self._policy_name = policy if isinstance(policy, str) else type(policy).__name__
        self._heartbeat = {"heartbeat_interval": heartbeat_interval, "grace_period": grace_period}
        self.storage = open_storage(
            storage, heartbeat_interval=heartbeat_interval, grace_period=grace_period
        )
        self.study_name = study_name
        self.optuna_study = self._create_or_load()
        self.artifacts = Path(artifacts) if artifacts else artifacts_dir(self.storage, study_name)
        self._transfer = self._load_transfer(transfer)
        self._restore_checkpoint()

    # ------------------------------------------------------------------ construction
    def _make_learner(self, learner: Any, kwargs: dict[str, Any]) -> Any:
        if not isinstance(learner, str):
            return learner
        from metarl.learners import make_learner

        return make_learner(learner, **kwargs)

    def _make_policy(self, policy: Any, kwargs: dict[str, Any] | None, transfer: bool) -> Any:
        if not isinstance(policy, str):
            return policy
        from metarl.agents import make_policy_for

        p = make_policy_for(policy, self.space, kwargs, transfer=transfer)
        p.reseed(self.seed)
        return p

    def _settings(self) -> dict[str, Any]:
        return {
            "learner": self._learner_name,
            "policy": self._policy_name,
            "n_init": self.n_init,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "timeout": self.timeout,
            **self._heartbeat,  # workers must judge staleness as this process does
        }

    def _create_or_load(self) -> optuna.Study:
        fp = self.space.fingerprint()
        try:
            study = optuna.load_study(study_name=self.study_name, storage=self.storage)
        except KeyError:
            study = None
        if study is not None:
            stored = study.user_attrs.get("metarl:fingerprint")
            if stored is None:
                raise StorageError(f"study {self.study_name!r} exists and is not a metarl study")
            if stored != fp:
                raise StorageError(
                    f"study {self.study_name!r} exists with a different space "
                    f"(fingerprint {stored} != {fp}); use another study_name"
                )
            if study.direction.name.lower() != self.direction:
                raise StorageError(
                    f"study {self.study_name!r} exists with direction "
                    f"{study.direction.name.lower()!r}, not {self.direction!r}"
                )
            if study.user_attrs.get("metarl:metric") != self.metric:
                raise StorageError(
                    f"study {self.study_name!r} exists with metric "
                    f"{study.user_attrs.get('metarl:metric')!r}, not {self.metric!r}"
                )
            return study
        study = optuna.create_study(
            study_name=self.study_name, storage=self.storage, direction=self.direction
        )
        study.set_user_attr("metarl:space", self.space.to_dict())
        study.set_user_attr("metarl:fingerprint", fp)
        study.set_user_attr("metarl:metric", self.metric)
        study.set_user_attr("metarl:settings", self._settings())
        if self.trainer_spec is not None:
            study.set_user_attr("metarl:trainer", self.trainer_spec.to_dict())
        return study

    def _load_transfer(self, transfer: Any) -> tuple[list[Config], np.ndarray]:
        if isinstance(transfer, tuple) and len(transfer) == 2 and not isinstance(transfer[0], str):
            return list(transfer[0]), np.asarray(transfer[1], dtype=np.float64)
        configs: list[Config] = []
        values: list[float] = []
        for name in transfer:
            try:
                other = optuna.load_study(study_name=name, storage=self.storage)
            except KeyError:
                tc, tv = _task_transfer(name, self.seed)
                configs += tc
                values += list(tv)
                continue
            d = other.user_attrs.get("metarl:space")
            if d is None:
                raise ValueError(f"transfer: study {name!r} is not a metarl study")
            other_space = SearchSpace.from_dict(d)
            for t in other.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
                cfg = config_from_optuna_params(other_space, t.params)
                cfg.update(other_space.context_values)
                configs.append(cfg)
                values.append(float(t.value))
        return configs, np.asarray(values, dtype=np.float64)

    # ------------------------------------------------------------------ checkpoints
    def _restore_checkpoint(self) -> None:
        if self.artifacts is None or not (self.artifacts / "policy").exists():
            return
        self.policy.load(self.artifacts / "policy")

    def _checkpoint(self) -> None:
        if self.artifacts is None:
            return
        self.artifacts.mkdir(parents=True, exist_ok=True)
        self.policy.save(self.artifacts / "policy")
        if hasattr(self.learner, "n_features_in_"):
            # imported here: evaluation processes import this module and must start fast
            from metarl.learners import save_learner

            save_learner(
                self.learner,
                self.artifacts / "learner.mrl",
                space=self.space,
                directions=[self.direction],
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
        return self.optuna_study.best_trial

    @property
    def best_config(self) -> Config:
        return self.config_of(self.best_trial)

    @property
    def best_value(self) -> float:
        return float(self.best_trial.value)

    @property
    def rounds(self) -> list[dict[str, Any]]:
        """Per-round records (training size, learner CV Spearman, proposals, seconds)."""
        attrs = self.optuna_study.user_attrs
        return [attrs[k] for k in sorted(attrs) if k.startswith("metarl:round:")]

    # ------------------------------------------------------------------ proposals
    def _enqueue(self, configs: Sequence[Config], origin: str, round_: int) -> None:
        dists = to_optuna(self.space)
        for cfg in configs:
            params = config_to_optuna_params(self.space, cfg)
            self.optuna_study.add_trial(
                optuna.trial.create_trial(
                    state=TrialState.WAITING,
                    params=params,
                    distributions={k: dists[k] for k in params},
                    user_attrs={
                        "metarl:origin": origin,
                        "metarl:round": round_,
                        "metarl:seed": self.seed,
                        "metarl:context": dict(self.space.context_values),
                    },
                )
            )

    def _fit(self) -> tuple[int, float | None]:
        configs, y = self.history()
        tconf, ty = self._transfer
        if self.space.context:
            configs = [{**self.space.context_values, **c} for c in configs]
        configs, y = configs + tconf, np.concatenate([y, ty])
        if len(y) < 2:
            return len(y), None
        if len(ty):  # pooled studies: rank within each context (dataset), see the docstring
            from metarl.learners import group_normal_scores

            keys = [repr(sorted((k, c.get(k)) for k in self.space.context)) for c in configs]
            y = group_normal_scores(y, np.asarray(keys))
        X = self.space.encode(configs)
        self.learner.fit(X, y, target_names=[self.metric])
        return len(y), _cv_spearman(self.learner, X, y, self.seed)

    def _propose(self, k: int, round_: int, n_stored: int) -> dict[str, Any]:
        exclude = [self.config_of(t) for t in self.trials()]
        n_train, rho = 0, None
        n_transfer = len(self._transfer[1])
        if n_stored < self.n_init and n_transfer == 0:
            k = min(k, self.n_init - n_stored)
            origin = "init"
            configs = self._random(k, exclude, round_)
        else:
            n_train, rho = self._fit()
            origin = self._policy_name
            done = self.trials((TrialState.COMPLETE,))
            history = [(self.config_of(t), float(t.value)) for t in done]
            learner = self.learner if n_train >= 2 else None
            if learner is None and getattr(self.policy, "requires_learner", True):
                configs = self._random(k, exclude, round_)
                origin = "random"
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)  # "fewer than n" is handled
                    configs = self.policy.propose(
                        self.space,
                        learner,
                        k,
                        direction=self.direction,
                        exclude=exclude,
                        history=history,
                    )
        self._enqueue(configs, origin, round_)
        return {
            "round": round_,
            "origin": origin,
            "n_train": n_train,
            "cv_spearman": rho,
            "n_proposed": len(configs),
        }

    def _random(self, k: int, exclude: Sequence[Config], round_: int) -> list[Config]:
        rng = np.random.default_rng([self.seed, round_])
        seen = set(self.space.keys(self.space.to_matrix(exclude))) if exclude else set()
        out: list[Config] = []
        for _ in range(20):
            M = self.space.sample_matrix(4 * k + 16, rng)
            for key, cfg in zip(self.space.keys(M), self.space.to_configs(M)):
                if key not in seen:
                    seen.add(key)
                    out.append(cfg)
                if len(out) == k:
                    return out
        return out

    # ------------------------------------------------------------------ evaluation
    def _record(self, trial: FrozenTrial, fut: cf.Future) -> None:
        sid = self.storage
        try:
            try:
                result = fut.result()
                for key, v in storable(result).items():
                    sid.set_trial_user_attr(trial._trial_id, key, v)
                value = objective_value(result, self.metric)
            except TrainerError as e:
                sid.set_trial_user_attr(trial._trial_id, ERROR, str(e)[:2000])
                self.optuna_study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
                return
            self.optuna_study.tell(trial.number, value, skip_if_finished=True)
        except optuna.exceptions.UpdateFinishedTrialError:
            # failed as stale (this process stalled) and re-queued: the copy is evaluated
            warnings.warn(
                f"metarl: trial {trial.number} was re-queued as stale before its result "
                "arrived; the result is dropped and the re-queued copy will be evaluated",
                RuntimeWarning,
                stacklevel=1,
            )

    def _drain(self, executor: Executor | None, heartbeat: Heartbeat, stop_at: int) -> None:
        """Evaluate WAITING trials until none is pending (or the budget is spent)."""
        study_id = self.optuna_study._study_id
        inflight: dict[cf.Future, FrozenTrial] = {}
        while True:
            while executor is not None and len(inflight) < executor.n_workers:
                if counts(self.trials())["done"] + len(inflight) >= stop_at:
                    break
                trial = pop_waiting(self.storage, study_id)
                if trial is None:
                    break
                heartbeat.add(trial._trial_id)
                cfg = self.config_of(trial)
                fut = executor.submit(self._call_target(), cfg, self.timeout)
                inflight[fut] = trial
            if inflight:
                done, _ = cf.wait(list(inflight), timeout=1.0, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    trial = inflight.pop(fut)
                    self._record(trial, fut)
                    heartbeat.discard(trial._trial_id)
                    self._progress(trial)
                continue
            requeue_stale(self.optuna_study)
            c = counts(self.trials())
            if c["pending"] == 0 or c["done"] >= stop_at:
                return
            # pending trials belong to other workers, or wait for a stale one to requeue
            if executor is None or not self.trials((TrialState.WAITING,)):
                time.sleep(0.5)

    def _call_target(self) -> Trainer | TrainerSpec:
        if isinstance(self.executor, str) and self.executor == "thread":
            return self._trainer  # type: ignore[return-value]
        if self.trainer_spec is not None:
            return self.trainer_spec
        return self._trainer  # type: ignore[return-value]

    def _progress(self, trial: FrozenTrial) -> None:
        if self._pbar is not None:
            self._pbar.update(1)
            try:
                best = self.best_value
                self._pbar.set_postfix_str(f"best {self.metric}={best:.5g}")
            except ValueError:
                pass

    # ------------------------------------------------------------------ the loop
    def optimize(
        self, budget: int, *, progress: bool = False, callbacks: Sequence[Callback] = ()
    ) -> Study:
        """Run rounds until ``budget`` evaluations (COMPLETE + failed trials) are stored.

        Resumable: call it again (in this or a new process) after a crash and it continues
        from the storage. A callback ``(study, round_record) -> bool`` returning True stops.
        """
        if not isinstance(budget, int) or budget < 1:
            raise ValueError(f"budget={budget!r}: expected a positive integer")
        self.optuna_study.set_user_attr("metarl:budget", budget)
        if self._trainer is None and self.executor != "none":
            raise ValueError("no trainer: pass one, or use executor='none' with metarl workers")
        executor = None if self.executor == "none" else make_executor(self.executor, self.n_workers)
        self._pbar = None
        if progress:
            from tqdm.auto import tqdm

            self._pbar = tqdm(total=budget, initial=min(budget, counts(self.trials())["done"]))
        try:
            with Heartbeat(self.storage) as hb:
                requeue_stale(self.optuna_study)
                self._drain(executor, hb, budget)  # what a killed run left waiting
                while True:
                    c = counts(self.trials())
                    if c["done"] >= budget:
                        break
                    round_ = len(self.rounds)
                    t0 = time.perf_counter()
                    k = min(self.batch_size, budget - c["done"] - c["pending"])
                    record = self._propose(k, round_, c["done"] + c["pending"])
                    if record["n_proposed"] == 0 and c["pending"] == 0:
                        warnings.warn("the space is exhausted", stacklevel=2)
                        break
                    if record["origin"] == self._policy_name:  # the policy has state to keep
                        self._checkpoint()
                    self._drain(executor, hb, budget)
                    record["seconds"] = round(time.perf_counter() - t0, 3)
                    record["n_done"] = counts(self.trials())["done"]
                    self.optuna_study.set_user_attr(f"metarl:round:{round_:04d}", record)
                    if any(cb(self, record) for cb in callbacks):
                        break
        finally:
            if executor is not None:
                executor.shutdown()
            if self._pbar is not None:
                self._pbar.close()
        return self

    def summary(self) -> dict[str, Any]:
        """Counts, the best config and value, and the learner quality per round."""
        c = counts(self.trials())
        out: dict[str, Any] = {"study": self.study_name, **c, "rounds": self.rounds}
        if c["complete"]:
            out["best_value"] = self.best_value
            out["best_config"] = self.best_config
        return out

    def __repr__(self) -> str:
        return f"Study({self.study_name!r}, metric={self.metric!r}, direction={self.direction!r})"


def _cv_spearman(learner: Any, X: np.ndarray, y: np.ndarray, seed: int) -> float | None:
    """5-fold cross-validated Spearman correlation of the learner's predictions (None < 5)."""
    if len(y) < 5:
        return None
    from scipy.stats import spearmanr
    from sklearn.base import clone
    from sklearn.model_selection import KFold

    pred = np.empty_like(y)
    for tr, te in KFold(min(5, len(y)), shuffle=True, random_state=seed).split(X):
        m = clone(learner).fit(X[tr], y[tr])
        pred[te] = np.asarray(m.predict(X[te])).reshape(-1)
    rho = spearmanr(pred, y).statistic
    return None if not np.isfinite(rho) else round(float(rho), 4)


def _task_transfer(name: str, seed: int, n: int = 200) -> tuple[list[Config], np.ndarray]:
    """``n`` random, noisy evaluations of a benchmark task, each config with its context."""
    from metarl.benchmarks import list_tasks, load_task

    if name not in list_tasks():
        raise ValueError(f"transfer: {name!r} is neither a study in the storage nor a task")
    task = load_task(name, seed=seed)
    M = task.space.sample_matrix(n, seed)
    y = np.asarray(task.sample_observations(M), dtype=np.float64)
    configs = [{**c, **task.space.context_values} for c in task.space.to_configs(M)]
    return configs, y


def load_study_settings(storage: str | BaseStorage, study_name: str) -> dict[str, Any]:
    """The metarl user attributes of a stored study (for ``metarl status``/``worker``)."""
    st = open_storage(storage)
    try:
        study = optuna.load_study(study_name=study_name, storage=st)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(st)]
        raise StorageError(f"no study {study_name!r} in the storage (studies: {names})") from None
    return {k: v for k, v in study.user_attrs.items() if k.startswith("metarl:")}
