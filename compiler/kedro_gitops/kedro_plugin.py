"""`kedro gitops ...`: the same commands from inside a Kedro project."""

from __future__ import annotations

import click

from .cli import main


@click.group(name="kedro-gitops")
def commands() -> None:
    """kedro-gitops commands."""


@commands.command(
    name="gitops",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.pass_context
def gitops(ctx: click.Context) -> None:
    """Compile pipelines.deploy.yaml into Airflow DAGs (see `kedro gitops --help`)."""
    ctx.exit(main(ctx.args or ["--help"], prog="kedro gitops"))
