"""``bigmap-al simulate`` (also installed alone as ``bigmap-sim``): the simulator's file interface.

Thin on purpose: read JSON, hand it to :func:`aiida_bigmap_al.simulator.simulate`, write JSON.
A single executable with a file in and a file out is what an AiiDA ShellJob runs on any computer.
"""

import json

import click
import pydantic

from .. import simulator
from .root import main


@main.command("simulate")
@click.argument("input_file", metavar="INPUT.json", type=click.File("r", encoding="utf-8"))
@click.argument(
    "output_file", metavar="[OUTPUT.json]", type=click.File("w", encoding="utf-8", atomic=True), default="-"
)
def simulate(input_file, output_file):
    """Conductivity of electrolyte formulations from a published empirical model.

    INPUT.json is {"model": "flores2022" | "landesfeind2019", "points": [{"r": 0.3, "c": 1.0,
    "temperature": 298.15}, ...]} (c in mol/kg, temperature in K), or one point inline.
    OUTPUT.json (default "-", standard output) gets one result per point, with "in_range": false
    and "conductivity": null where the model does not apply. Either file may be "-".
    """
    try:
        payload = json.load(input_file)
    except json.JSONDecodeError as error:
        raise click.ClickException(f"{input_file.name}: not valid JSON: {error}") from None
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{input_file.name}: not a text (JSON) file: {error.reason} at byte "
                                   f"{error.start}") from None
    try:
        output = simulator.simulate(payload)
    except pydantic.ValidationError as error:
        raise click.ClickException(f"{input_file.name}: invalid input\n{_describe(error)}") from None
    json.dump(output, output_file, indent=2, ensure_ascii=False)
    output_file.write("\n")
    if output_file.name not in ("-", "<stdout>"):
        click.echo(f"{len(output['results'])} point(s) written to {output_file.name}", err=True)


def _describe(error: pydantic.ValidationError) -> str:
    """One line per problem: the field's path (e.g. ``points.0.r``) and what is wrong with it."""
    lines = []
    for item in error.errors(include_url=False):
        field = ".".join(str(part) for part in item["loc"]) or "(top level)"
        got = "" if item["type"] == "missing" else f" (got {item['input']!r})"
        lines.append(f"  {field}: {item['msg']}{got}")
    return "\n".join(lines)
