"""kedro-gitops: compile a deployment manifest and a Kedro project into Airflow 3 DAG files."""

__version__ = "0.3.0"
