"""Every command that reads a data file says what is wrong with it in one line, naming the file.

A missing file, binary garbage or a malformed table is the user's to fix, not a bug: one line
naming the file (and the line and column where they apply), exit status non-zero, no traceback;
``bigmap-al --debug`` shows the traceback. Inside ``campaign run`` the error names the data file,
not the campaign file that points to it.
"""

import os

import pytest
from click.testing import CliRunner

from aiida_bigmap_al.cli import main
from aiida_bigmap_al.datasets import DataFormatError, load_fzj

QUERY = "T [K],r,c [mol/kg]\n298.15,0.5,1.0\n"


@pytest.fixture
def files(tmp_path):
    """A missing path, binary garbage, a file with a NUL byte, a directory and a query file."""
    (tmp_path / "garbage.csv").write_bytes(os.urandom(64) + b"\x9c\xff" * 512)
    (tmp_path / "nul.csv").write_bytes(b"\tT [K]\tr\tc [mol/kg]\tk [mS/cm]\n0\t298.15\t0.5\t1.0\t5\x00\n")
    (tmp_path / "query.csv").write_text(QUERY)
    (tmp_path / "folder").mkdir()
    return tmp_path


COMMANDS = {
    "benchmark": ["benchmark", "--data", "{data}", "--seeds", "1"],
    "models": ["models", "--data", "{data}"],
    "predict": ["predict", "--data", "{data}", "--query", "{dir}/query.csv", "--json", "{dir}/out.json"],
    "predict query": ["predict", "--data", "{dir}/nul.csv", "--query", "{data}", "--json", "{dir}/out.json"],
    "reproduce": ["reproduce", "surfaces", "--data", "{data}", "--out", "{dir}/out"],
    "gitt": ["gitt", "{data}", "--volume-to-area", "1e-4"],
    "simulate": ["simulate", "{data}"],
}
BAD = {"garbage": "garbage.csv", "missing": "nope.csv", "folder": "folder", "nul": "nul.csv"}


def invoke(command, files, name, *options):
    args = [arg.format(data=files / BAD[name], dir=files) for arg in COMMANDS[command]]
    return CliRunner().invoke(main, [*options, *args])


@pytest.mark.parametrize("command, name", [(command, name) for command in COMMANDS for name in BAD
                                           if (command, name) != ("predict query", "nul")])  # nul.csv is its data
def test_a_bad_data_file_is_one_line_naming_it(files, command, name):
    result = invoke(command, files, name)
    assert result.exit_code != 0
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    error = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and str(files / BAD[name]) in error[0], result.output
    assert "Traceback" not in result.output and "UnicodeDecodeError" not in result.output


def test_debug_shows_the_traceback(files):
    result = invoke("benchmark", files, "garbage", "--debug")
    assert isinstance(result.exception, DataFormatError)
    assert str(files / "garbage.csv") in str(result.exception)


@pytest.mark.parametrize("name, where", [("garbage.csv", ", line 1: not a text file (UTF-8)"),
                                         ("nul.csv", ", line 2: not a text file: it contains NUL bytes"),
                                         ("folder", ": cannot read it")])
def test_the_loader_names_the_file_and_line(files, name, where):
    with pytest.raises(DataFormatError) as error:
        load_fzj(files / name)
    assert str(error.value).startswith(f"{files / name}{where}")


@pytest.mark.parametrize("field", ["initial_data: {data}", "methods: {{replay: {{data: {data}}}}}"])
def test_campaign_run_names_the_data_file_not_the_campaign_file(aiida_profile, files, field):
    spec = files / "campaign.yaml"
    text = "temperatures: [298.15]\nstrategy: gp-ucb\nbudget: 3\n" + field.format(data=files / "garbage.csv") + "\n"
    if "initial_data" in field:
        text += "methods: {replay: {data: %s}}\n" % (files / "nul.csv")
    spec.write_text(text)
    result = CliRunner().invoke(main, ["campaign", "run", str(spec)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {files / 'garbage.csv'}, line 1: not a text file"), result.output
    assert "campaign.yaml" not in result.output


def test_a_yaml_error_names_the_file_once_on_one_line(tmp_path):
    spec = tmp_path / "campaign.yaml"
    spec.write_text("temperatures: [298.15\nstrategy: gp-ucb\n")
    result = CliRunner().invoke(main, ["campaign", "run", str(spec)])
    assert result.exit_code == 1
    assert result.output.count(str(spec)) == 1 and result.output.count("\n") == 1, result.output
    assert result.output.startswith(f"Error: {spec}, line 2, column 9: not valid YAML")


def test_binary_garbage_as_the_campaign_file_is_a_clear_error(tmp_path):
    spec = tmp_path / "campaign.yaml"
    spec.write_bytes(b"\x9c\xff\xfe" * 50)
    result = CliRunner().invoke(main, ["campaign", "run", str(spec)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {spec}: not a text (YAML) file"), result.output
