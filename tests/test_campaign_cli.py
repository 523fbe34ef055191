"""``bigmap-al campaign show`` and ``export`` on a short replayed campaign (one failed measurement)."""

import h5py
import pytest
from aiida import orm
from aiida.engine import run_get_node
from aiida.tools.archive.abstract import get_format
from click.testing import CliRunner

from aiida_bigmap_al.cli import main
from aiida_bigmap_al.workchains import ActiveLearningWorkChain

from test_export import replay_campaign  # noqa: I001  (tests/ is on sys.path: no package)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def campaign(aiida_profile, fzj_csv):
    """A finished campaign of two iterations: a random start of two (one fails), then a batch."""
    _, node = run_get_node(ActiveLearningWorkChain, **replay_campaign(fzj_csv, budget=3))
    assert node.is_finished_ok, node.exit_message
    return node


def invoke(*args):
    return CliRunner().invoke(main, ["campaign", *map(str, args)], catch_exceptions=False)


def test_show_prints_each_iteration_failures_and_the_best(campaign, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("show", campaign.pk)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"ActiveLearningWorkChain<{campaign.pk}>: 2 iterations, 3 measured, 1 failed, " \
                       "3 rows in the final dataset"
    iterations = campaign.outputs.history["iterations"]
    starts = [line for line in lines if line[:4].strip().isdigit()]
    assert [int(line.split()[0]) for line in starts] == [it["iteration"] for it in iterations]
    assert starts[0].split()[1] == "-" and starts[1].split()[1] == "1"  # the start has no model
    assert starts[1].split()[-1] == f"{iterations[-1]['best_so_far']:.3f}"
    failed = [line for line in lines if "FAILED" in line]
    assert len(failed) == 1 and "[exit 300: no row of table" in failed[0]
    for row in campaign.outputs.dataset["rows"]:
        assert any(f"{row['value']:.3f} experiment" in line for line in lines)
    best = campaign.outputs.best
    assert lines[-2].startswith(f"Best: {best['value']:.3f} mS/cm at r={best['r']:.3f}, c={best['c']:.3f} mol/kg")
    assert lines[-1] == f"plot: campaign-{campaign.pk}.png"
    assert (tmp_path / f"campaign-{campaign.pk}.png").read_bytes()[:8] == PNG_MAGIC


def test_show_writes_the_plot_where_asked(campaign, tmp_path):
    result = invoke("show", campaign.pk, "--plot", tmp_path / "best.png")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "best.png").read_bytes()[:8] == PNG_MAGIC


def test_export_writes_the_archive_and_the_hdf5_beside_it(campaign, tmp_path):
    archive = tmp_path / "campaign.aiida"
    result = invoke("export", campaign.pk, archive)
    assert result.exit_code == 0, result.output
    with get_format().open(archive, "r") as reader:
        qb = reader.querybuilder().append(orm.WorkChainNode, filters={"uuid": campaign.uuid})
        assert qb.count() == 1
    with h5py.File(tmp_path / "campaign.h5", "r") as h5:
        assert h5["dataset/value"][()].tolist() == [row["value"] for row in campaign.outputs.dataset["rows"]]
    again = invoke("export", campaign.pk, archive)
    assert again.exit_code == 1 and f"{archive} exists; use --force" in again.output
    forced = invoke("export", campaign.pk, archive, "--hdf5", tmp_path / "other.h5", "--force")
    assert forced.exit_code == 0, forced.output
    assert (tmp_path / "other.h5").is_file()


def test_export_refuses_an_hdf5_path_equal_to_the_archive(campaign, tmp_path):
    result = invoke("export", campaign.pk, tmp_path / "x.h5")
    assert result.exit_code == 2 and "the HDF5 file must differ from the archive" in result.output


@pytest.mark.parametrize("command", ["show", "export"])
def test_a_bad_pk_is_a_clear_error(campaign, command, tmp_path):
    extra = [tmp_path / "out.aiida"] if command == "export" else []
    missing = invoke(command, 987654, *extra)
    assert missing.exit_code == 1 and "Error: no node with pk 987654" in missing.output
    data = campaign.outputs.dataset.pk
    other = invoke(command, data, *extra)
    assert other.exit_code == 1 and f"node {data} is a Dict, not an ActiveLearningWorkChain" in other.output
    assert not (tmp_path / "out.aiida").exists()
    assert invoke(command, "twelve", *extra).exit_code == 2  # not an integer: a usage error


def test_show_takes_a_uuid_which_survives_an_archive_import(campaign, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    by_pk, by_uuid = invoke("show", campaign.pk), invoke("show", campaign.uuid)
    assert by_uuid.exit_code == 0, by_uuid.output
    assert by_uuid.output.replace(f"campaign-{campaign.uuid}", f"campaign-{campaign.pk}") == by_pk.output
    missing = invoke("show", "0" * 8 + "-0000-0000-0000-" + "0" * 12)
    assert missing.exit_code == 1 and "no node with UUID" in missing.output
