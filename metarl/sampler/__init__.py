"""metarl's search as an Optuna sampler."""

from metarl.sampler._sampler import MetaRLSampler, infer_space

__all__ = ["MetaRLSampler", "infer_space"]
