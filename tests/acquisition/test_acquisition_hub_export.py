"""The hub export path, run offline: a previous download is faked in HF_HOME's cache
and the hub itself is a closed local port, so the export must fall back to the cache."""
import pytest
import json
import sys
import textwrap

from tests.scripts import REPO_ROOT, closed_port

pytestmark = pytest.mark.model

FAKE_REPO = "example-org/tiny-chat"
REVISION = "0" * 40


def fake_hub_download(hf_home, repo=FAKE_REPO):
    """Lay out a tiny PyTorch chat model as if `hf download` had fetched `repo`."""
    from modeltools.tiny_random import random_llama, train_tokenizer

    repo_dir = hf_home / "hub" / f"models--{repo.replace('/', '--')}"
    snapshot = repo_dir / "snapshots" / REVISION
    tokenizer = train_tokenizer()
    tokenizer.save_pretrained(snapshot)
    random_llama(tokenizer).save_pretrained(snapshot)
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(REVISION)


EXPORT = textwrap.dedent(f"""
    import sys
    sys.path.insert(0, {str(REPO_ROOT / "servable_stream")!r})
    from ragbot.acquisition.llm_export import ensure_llm_folder as ensure_llm
    from ragbot.presets import Int4Recipe, Preset
    preset = Preset(name="cached", hub_id={FAKE_REPO!r}, prompt_style="zephyr",
                    stop_strings=("</s>",), int4=Int4Recipe("int4_asym", 32, 0.8))
    print(ensure_llm(preset, sys.argv[1]))
""")


def test_ensure_llm_exports_from_the_hub_cache_when_the_hub_is_down(tmp_path, unreachable_hub_env):
    import subprocess

    from ragbot.acquisition.hub import is_llm_folder

    hf_home = tmp_path / "hf-home"
    fake_hub_download(hf_home)
    dest = tmp_path / "servable" / "cached"
    env = dict(unreachable_hub_env, HF_HOME=str(hf_home),
               HF_ENDPOINT=f"http://127.0.0.1:{closed_port()}")
    result = subprocess.run([sys.executable, "-c", EXPORT, str(dest)], env=env,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert is_llm_folder(dest)
    for name in ("openvino_tokenizer.xml", "openvino_detokenizer.xml", "tokenizer.json"):
        assert (dest / name).is_file(), name
    config = json.loads((dest / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert [p.name for p in dest.parent.iterdir()] == ["cached"]  # no temp folder left
