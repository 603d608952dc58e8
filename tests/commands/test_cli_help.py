import pytest

from ragbot.presets import SEED_PRESETS
from tests.scripts import run_script

pytestmark = pytest.mark.host


@pytest.mark.parametrize("script", ["download_model.py", "compress_model.py"])
def test_help_lists_the_seed_presets_first(script):
    result = run_script(script, "--help", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "--output_dir" in result.stdout
    choices = "{" + ",".join(SEED_PRESETS) + ","
    assert choices in result.stdout.replace("\n", "").replace(" ", "")


def test_embedding_help_lists_both_models():
    result = run_script("download_embedding_model.py", "--help", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "all-MiniLM-L6-v2" in result.stdout and "all-mpnet-base-v2" in result.stdout
