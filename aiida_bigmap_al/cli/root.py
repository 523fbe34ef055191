"""The root of the ``bigmap-al`` command line, in the style of ``verdi``."""

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="aiida-bigmap-al")
def main():
    """Active-learning campaigns for battery materials, driven by AiiDA."""
