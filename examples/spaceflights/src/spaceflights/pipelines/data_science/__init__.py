"""Split, train and evaluate a price model, once per modelling namespace."""

from spaceflights.pipelines.data_science.pipeline import create_pipeline

__all__ = ["create_pipeline"]
