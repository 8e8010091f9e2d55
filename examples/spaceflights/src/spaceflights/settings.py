"""Project settings: Kedro defaults, stated explicitly. No hooks are registered."""

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
}
