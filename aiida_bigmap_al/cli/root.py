"""The root of the ``bigmap-al`` command line, in the style of ``verdi``.

A bad data file is the user's to fix, not a bug: every command prints its
:class:`~aiida_bigmap_al.datasets.DataFormatError` as one line naming the file (and the line and
column) and exits 1; ``bigmap-al --debug COMMAND`` shows the traceback instead.
"""

import click


class _RootGroup(click.Group):
    """A group that turns a data-file error of any command into a one-line error (unless ``--debug``)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ValueError as error:
            from ..datasets import DataFormatError

            if not isinstance(error, DataFormatError) or ctx.params.get("debug"):
                raise
            raise click.ClickException(str(error)) from None


@click.group(cls=_RootGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show the traceback of an error instead of its one-line message.")
@click.version_option(package_name="aiida-bigmap-al")
def main(debug):
    """Active-learning campaigns for battery materials, driven by AiiDA."""
