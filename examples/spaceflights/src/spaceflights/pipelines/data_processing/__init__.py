"""Clean the raw companies and shuttles data and build the model input table."""

from spaceflights.pipelines.data_processing.pipeline import create_pipeline

__all__ = ["create_pipeline"]
