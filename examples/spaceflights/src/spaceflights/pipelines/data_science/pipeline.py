"""Definition of the data_science pipeline: one template, two namespaces."""

from typing import Any

from kedro.pipeline import Pipeline, node

from spaceflights.pipelines.data_science.nodes import evaluate_model, split_data, train_model


def _modelling_template() -> Pipeline:
    return Pipeline(
        [
            node(
                func=split_data,
                inputs=["model_input_table", "params:model_options"],
                outputs=["X_train", "X_test", "y_train", "y_test"],
                name="split_data_node",
            ),
            node(
                func=train_model,
                inputs=["X_train", "y_train"],
                outputs="regressor",
                name="train_model_node",
                tags=["training", "machine-large"],
            ),
            node(
                func=evaluate_model,
                inputs=["regressor", "X_test", "y_test"],
                outputs="metrics",
                name="evaluate_model_node",
                tags="reporting",
            ),
        ]
    )


def create_pipeline(**kwargs: Any) -> Pipeline:
    """Create the data_science pipeline: the template reused under two namespaces.

    Node, dataset and parameter names get the namespace as prefix (for example
    ``active_modelling_pipeline.train_model_node`` reads
    ``params:active_modelling_pipeline.model_options``), except ``model_input_table``,
    which both namespaces share as an un-namespaced input.
    """
    template = _modelling_template()
    active = Pipeline(template, namespace="active_modelling_pipeline", inputs={"model_input_table"})
    candidate = Pipeline(
        template, namespace="candidate_modelling_pipeline", inputs={"model_input_table"}
    )
    return active + candidate
