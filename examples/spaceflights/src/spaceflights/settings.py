"""Project settings: Kedro defaults, stated explicitly, and one resolver. No hooks are registered."""

from omegaconf.resolvers import oc

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # `${oc.env:SPACEFLIGHTS_DATA,data}` in the catalog: where outputs go. Unset (a local
    # `kedro run`), the project's own `data/`; on Airflow workers, a folder that outlives a
    # checkout of the repository (pipelines.deploy.yaml sets it per environment).
    "custom_resolvers": {"oc.env": oc.env},
}
