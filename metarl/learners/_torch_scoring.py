"""Acquisition scores in torch, on the device where the configs were drawn.

A learner that can score in torch describes its prediction (on the standardised target
scale, the scale :func:`~metarl.learners.acquisition` uses) as a :class:`TorchModel`: an
affine first layer ``Z = X @ weight + bias`` and a small head mapping ``Z`` to the mean and
std. The Bayesian-ridge ``LinearLearner`` (the mean's weights, and a square root of the
weights' covariance for the std) and the ``MLPEnsembleLearner`` (every member's first layer
side by side) provide one through ``learner.torch_model(target, return_std)``.

:class:`TorchScorer` turns that into the acquisition: of an encoded matrix (``scorer(X)``),
or, faster, straight from a :class:`~metarl.space._torch.TorchSampler`'s codes
(``scorer.for_sampler(sampler)``): an encoding is a sum of table rows, so ``X @ weight`` is
a sum of rows of ``sampler.rows @ weight``, one gather per code (an embedding-bag sum), and
the encoded matrix is never built.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from metarl.learners._acquisition import (
    EI_MIN_STD,
    check_acquisition,
    check_direction,
    check_incumbent,
)
from metarl.learners._base import MetaLearner
from metarl.space._torch import Codes, TorchSampler, Uniforms
from metarl.type_aliases import AcquisitionKind, Direction


@dataclass
class TorchModel:
    """A prediction as an affine first layer and a head, on the standardised scale.

    Attributes:
        weight: ``(n_features, width)`` float64 first-layer weights.
        bias: ``(width,)`` float64 first-layer bias.
        head: maps ``Z = X @ weight + bias`` to ``(mean, std)`` (std ``None`` when the
            model was built without it); moved with ``.to(device, dtype)``.
    """

    weight: np.ndarray
    bias: np.ndarray
    head: nn.Module


class LinearHead(nn.Module):
    """Bayesian ridge: ``Z[:, 0]`` is the mean; the rest, ``(x - x_offset) @ L`` with
    ``L L^T`` the weights' covariance, gives ``std = sqrt(|.|^2 + 1 / alpha)``."""

    def __init__(self, noise_var: float | None) -> None:
        super().__init__()
        self.noise_var = noise_var

    def forward(self, Z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.noise_var is None:
            return Z[:, 0], None
        var = Z[:, 1:].float().square().sum(1) + self.noise_var
        return Z[:, 0], var.sqrt()


class EnsembleHead(nn.Module):
    """The rest of an MLP ensemble after its first layer: members batched, mean and std
    (population std, as ``MLPEnsembleLearner.predict``) over the members."""

    def __init__(self, layers: list[tuple[torch.Tensor, torch.Tensor]], with_std: bool) -> None:
        super().__init__()
        self.n_members, self.hidden = layers[0][0].shape[:2]
        self.weights = nn.ParameterList(nn.Parameter(w, requires_grad=False) for w, _ in layers)
        self.biases = nn.ParameterList(nn.Parameter(b, requires_grad=False) for _, b in layers)
        # one hidden layer: its output layer is one GEMM of the side-by-side activations
        # with a block matrix, (M*h, M) (column m holds member m's weights; a few times
        # faster than a batched matmul of M thin (h, 1) products)
        block = torch.block_diag(*layers[-1][0]) if len(layers) == 1 else torch.empty(0)
        self.block = nn.Parameter(block, requires_grad=False)
        self.with_std = with_std

    def forward(self, Z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        n = Z.shape[0]
        if len(self.weights) == 1:
            # Z is the scorer's own fresh first-layer output: relu in place saves a pass
            out = torch.addmm(self.biases[0].view(-1), torch.relu_(Z), self.block).T  # (M, n)
        else:
            # (n, M*h) -> (M, n, h), a strided view: bmm reads it in place
            a = torch.relu_(Z).view(n, self.n_members, self.hidden).transpose(0, 1)
            for W, b in zip(self.weights[:-1], self.biases[:-1]):
                a = torch.relu(torch.baddbmm(b, a, W))
            out = torch.baddbmm(self.biases[-1], a, self.weights[-1])[..., 0]  # (M, n)
        mean = out.mean(0)
        return mean, (out.float().std(0, unbiased=False) if self.with_std else None)


def torch_model(learner: MetaLearner, target: int = 0, return_std: bool = True) -> TorchModel:
    """The learner's :class:`TorchModel` for target column ``target``.

    Raises:
        TypeError: the learner has no torch scoring path (only the linear and MLP-ensemble
            learners, and ``auto`` when it chose one of them, have one).
    """
    inner = getattr(learner, "best_estimator_", learner)  # AutoLearner: the chosen one
    if not hasattr(inner, "torch_model"):
        raise TypeError(
            f"{type(inner).__name__} has no torch scoring path (LinearLearner and "
            "MLPEnsembleLearner have one); score it with metarl.learners.acquisition"
        )
    return inner.torch_model(target, return_std)


def supports_torch_scoring(learner: MetaLearner) -> bool:
    """Whether :class:`TorchScorer` can score ``learner``."""
    inner = getattr(learner, "best_estimator_", learner)
    if not hasattr(inner, "torch_model"):
        return False
    try:
        inner.torch_model(0, False)
    except (TypeError, ValueError):
        return False
    return True


def log_h(u: torch.Tensor) -> torch.Tensor:
    """``log(phi(u) + u * Phi(u))`` in torch, as
    :func:`metarl.learners._acquisition.log_h` (the same two branches, with the asymptotic
    threshold of ``u``'s dtype): finite and increasing where ``h(u)`` underflows."""
    eps = torch.finfo(u.dtype).eps
    far = -1 / math.sqrt(eps)
    log_sqrt_2pi = 0.5 * math.log(2 * math.pi)
    uu = u.clamp(min=-1)  # each branch on its own range: no NaN from the other
    upper = torch.log(torch.exp(-0.5 * uu * uu - log_sqrt_2pi) + uu * torch.special.ndtr(uu))
    ul = u.clamp(max=-1)
    ul_mid = ul.clamp(min=far)
    w = torch.log(torch.special.erfcx(-ul_mid / math.sqrt(2)) * -ul_mid)
    w = w + 0.5 * math.log(math.pi / 2)
    log1mexp = torch.where(w > -math.log(2), torch.log(-torch.expm1(w)), torch.log1p(-torch.exp(w)))
    lower = -0.5 * ul * ul - log_sqrt_2pi + torch.where(ul < far, -2 * torch.log(-ul), log1mexp)
    return torch.where(u > -1, upper, lower)


class TorchScorer:
    """The acquisition of a fitted learner, computed in torch on one device.

    Scores are those of :func:`metarl.learners.acquisition` (the standardised target scale,
    signed so that higher is better), up to the rounding of ``dtype``.

    Args:
        learner: a fitted learner with a torch path (see :func:`torch_model`).
        acquisition: ``"mean"``, ``"ucb"``, ``"lcb"`` or ``"ei"`` (log expected
            improvement over ``incumbent``).
        kappa: weight of the std in ``ucb``/``lcb``.
        incumbent: for ``"ei"`` (required there): the best posterior mean among the
            evaluated configs, signed and scaled as the scores
            (:func:`~metarl.learners._acquisition.posterior_incumbent`).
        direction: the metric's direction (a minimised metric is negated).
        target: the objective's target column.
        device: where to score.
        dtype: ``torch.float32``, or ``torch.bfloat16`` (for the MLP on CUDA: the matmuls
            run at the bf16 rate; the std's sum of squares stays float32).
        compile: wrap the scoring functions in ``torch.compile`` (a mode string such as
            ``"max-autotune-no-cudagraphs"`` is passed on as the mode).
    """

    def __init__(
        self,
        learner: MetaLearner,
        *,
        acquisition: AcquisitionKind = "mean",
        kappa: float = 1.0,
        direction: Direction = "minimize",
        target: int = 0,
        incumbent: float | None = None,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        compile: bool | str = False,
    ) -> None:
        check_acquisition(acquisition, kappa)
        self.incumbent = check_incumbent(acquisition, incumbent) if acquisition == "ei" else None
        self.sign = float(check_direction(direction))
        self.kind = acquisition
        self.kappa = float(kappa)
        self.target = target
        self.device = torch.device(device)
        self.dtype = dtype
        self.compile = compile
        self.model = torch_model(learner, target, return_std=acquisition != "mean")
        self.weight = torch.as_tensor(self.model.weight, dtype=dtype, device=self.device)
        self.bias = torch.as_tensor(self.model.bias, dtype=dtype, device=self.device)
        self.head = self.model.head.to(self.device, dtype)
        self._dense = self._maybe_compile(self._score_dense)

    def _maybe_compile(self, fn: Callable) -> Callable:
        if not self.compile:
            return fn
        mode = self.compile if isinstance(self.compile, str) else None
        return torch.compile(fn, mode=mode, dynamic=False)

    def _acquisition(self, Z: torch.Tensor) -> torch.Tensor:
        mu, sd = self.head(Z)
        a = self.sign * mu.float()
        if self.kind == "ucb":
            a = a + self.kappa * sd
        elif self.kind == "lcb":
            a = a - self.kappa * sd
        elif self.kind == "ei":
            sd = sd.float().clamp(min=EI_MIN_STD)
            a = log_h((a - self.incumbent) / sd) + torch.log(sd)
        return a

    def _score_dense(self, X: torch.Tensor) -> torch.Tensor:
        return self._acquisition(torch.addmm(self.bias, X.to(self.dtype), self.weight))

    @torch.inference_mode()
    def __call__(self, X: torch.Tensor) -> torch.Tensor:
        """``(n,)`` float32 acquisition of encoded configs ``X`` (``(n, n_features)``)."""
        return self._dense(X)

    def for_sampler(
        self, sampler: TorchSampler, factored: bool = True
    ) -> Callable[[Codes], torch.Tensor]:
        """A function scoring ``sampler``'s :class:`Codes`.

        Factored (the default): without building the encoding. ``X @ weight`` is gathered
        from ``sampler.rows @ weight`` (one row per code, summed: an embedding-bag sum), plus
        the dense columns' and the context's parts: the same scores as
        ``scorer(sampler.encode(codes))`` up to rounding, at a fraction of the work on a
        CPU. Otherwise: exactly ``scorer(sampler.encode(codes))``.
        """
        if not factored:
            return lambda draw: self(sampler.encode(draw))
        self._check_width(sampler)
        W = self.model.weight
        rows = sampler.rows @ W
        # every config takes exactly one row of each group: the bias and the constant
        # context part go into the first group's rows, and the gather-sum adds them once
        first = sampler.groups[0]
        rows[first.offset : first.offset + len(first.rows)] += (
            self.model.bias + sampler.context_row @ W
        )
        table = torch.as_tensor(rows, dtype=self.dtype, device=self.device)
        dense_w = torch.as_tensor(W[sampler.dense_columns], dtype=self.dtype, device=self.device)

        bags: dict[tuple[int, int], torch.Tensor] = {}  # (n, n_groups) -> bag offsets

        def score(codes: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
            n, g = codes.shape
            if (n, g) not in bags:  # 1-D input with cached offsets: no per-call arange
                bags[n, g] = torch.arange(0, n * g, g, dtype=codes.dtype, device=codes.device)
            Z = nn.functional.embedding_bag(codes.view(-1), table, bags[n, g], mode="sum")
            if dense.shape[0]:
                Z = torch.addmm(Z, dense.T, dense_w)
            return self._acquisition(Z)

        fn = self._maybe_compile(score)

        @torch.inference_mode()
        def score_codes(draw: Codes) -> torch.Tensor:
            return fn(draw.codes, draw.dense.to(self.dtype))

        return score_codes

    def for_uniforms(self, sampler: TorchSampler) -> Callable[[Uniforms], torch.Tensor]:
        """A function scoring the configs of ``sampler``'s :class:`Uniforms`: the draw's
        map to codes (:meth:`TorchSampler.parts`), the gathered first layer and the head
        as one function of the random numbers.

        With ``compile`` it is one ``torch.compile`` graph: the conditions, the gathers
        and their sum fuse into a few kernels, and neither the codes nor the encoding is
        written to memory. Eager, it is slower than :meth:`for_sampler` (the gathers are
        separate ops); it is the reference the compiled graph must match.
        """
        self._check_width(sampler)
        W = self.model.weight
        table = torch.as_tensor(sampler.rows @ W, dtype=self.dtype, device=self.device)
        bias = self.model.bias + sampler.context_row @ W
        bias_t = torch.as_tensor(bias, dtype=self.dtype, device=self.device)
        dense_w = torch.as_tensor(W[sampler.dense_columns], dtype=self.dtype, device=self.device)
        offsets = [g.offset for g in sampler.groups]
        byte_offsets = {
            g: torch.as_tensor(offsets[g : g + 64], dtype=torch.int64, device=self.device)
            for g in range(len(offsets))
        }

        def score(u: Uniforms) -> torch.Tensor:
            blocks, dense = sampler.parts(u)
            Z = bias_t.expand(len(u), -1)
            for g, c in blocks:
                if c.dim() == 1:
                    Z = Z + table[c.long() + offsets[g]]
                else:  # a Subset's byte groups
                    Z = Z + table[c.long() + byte_offsets[g][: c.shape[1]]].sum(1)
            if dense:
                Z = torch.addmm(Z, torch.stack(dense, 1).to(self.dtype), dense_w)
            return self._acquisition(Z)

        fn = self._maybe_compile(score)

        @torch.inference_mode()
        def score_uniforms(u: Uniforms) -> torch.Tensor:
            return fn(u)

        return score_uniforms

    def _check_width(self, sampler: TorchSampler) -> None:
        if sampler.rows.shape[1] != self.weight.shape[0]:
            raise ValueError(
                f"the sampler encodes {sampler.rows.shape[1]} features but the learner was "
                f"fitted on {self.weight.shape[0]}"
            )


def torch_scorer(learner: MetaLearner, **kwargs) -> TorchScorer:
    """A :class:`TorchScorer` of ``learner`` (keywords as :class:`TorchScorer`'s)."""
    return TorchScorer(learner, **kwargs)
