"""With LLM_BACKEND=genai the serving process never imports torch, nor transformers at all:
embeddings through the OpenVINO runtime, prompts through the folder's chat template
(chat_template.py) and the engine's own tokenizer. Checked in a fresh interpreter that starts
the RagService, answers a question and lists what it imported."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from probes.knowledge import SERVABLE, rag_env, write_knowledge
from tests.conftest import REPO

pytestmark = pytest.mark.model

HEAVY = ("torch", "sentence_transformers", "optimum", "transformers")

SCRIPT = f"""
import json, sys
from ragbot.answering.service import RagService
from ragbot.settings import Settings

service = RagService.start(Settings.from_env({str(SERVABLE)!r}))
request = service.request_from_wire(json.dumps({{"question": "What is a zorblat?",
                                                 "max_new_tokens": 4}}).encode())
answer = service.answer(request)
text = "".join(answer)
service.close()
print(json.dumps({{"loaded": sorted(m for m in {HEAVY!r} if m in sys.modules),
                  "finish": answer.end.finish_reason, "sources": len(answer.end.sources)}}))
"""


def test_the_genai_serving_path_never_imports_torch(tmp_path):
    docs = write_knowledge(tmp_path / "kb")
    env = {**os.environ, **rag_env(docs, LLM_BACKEND="genai", INDEX_DIR="off"),
           "PYTHONPATH": os.pathsep.join([str(REPO), str(SERVABLE)])}
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                            timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["finish"] in ("stop", "length") and report["sources"] >= 1
    assert report["loaded"] == [], f"imported in the serving process: {report['loaded']}"
