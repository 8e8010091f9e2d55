"""Definition of the data_processing pipeline."""

from typing import Any

from kedro.pipeline import Pipeline, node

from spaceflights.pipelines.data_processing.nodes import (
    create_model_input_table,
    preprocess_companies,
    preprocess_shuttles,
)


def create_pipeline(**kwargs: Any) -> Pipeline:
    """Create the data_processing pipeline (3 nodes)."""
    return Pipeline(
        [
            node(
                func=preprocess_companies,
                inputs="companies",
                outputs="preprocessed_companies",
                name="preprocess_companies_node",
                tags="preprocessing",
            ),
            node(
                func=preprocess_shuttles,
                inputs="shuttles",
                outputs="preprocessed_shuttles",
                name="preprocess_shuttles_node",
                tags="preprocessing",
            ),
            node(
                func=create_model_input_table,
                inputs=["preprocessed_shuttles", "preprocessed_companies", "reviews"],
                outputs="model_input_table",
                name="create_model_input_table_node",
                tags="features",
            ),
        ]
    )
