"""Check, inside the built image, what decides whether the servable runs under OVMS.

Run by the Python pyovms was built for (`ovms-python`), with the image's PYTHONPATH
(/ovms/lib/python first) and LD_LIBRARY_PATH, after our requirements were installed:
- `pyovms` imports in this interpreter (a pyovms built for another Python does not);
- `openvino`, `openvino_tokenizers` (and, as a note, `openvino_genai`) import from the
  copies bundled with OVMS, which come first on PYTHONPATH: those are what the servable
  gets, whatever pip installed. Their dist-info says only X.Y even in patch releases, so
  the version compared is the runtime's own (`openvino.get_version()`, X.Y.Z-build);
- that runtime is the one `ovms --version` reports as "OpenVINO backend X.Y.Z";
- the `openvino==` pin of requirements.txt names the same X.Y (a different patch is only
  noted: the pin decides nothing at run time, the image tag does);
- the servable's own modules and the third-party modules they load lazily import.
Prints one line per check; exits 1 if any failed. Standard library only.

    ovms-python check_image.py --requirements requirements.txt [--ovms /ovms/bin/ovms]
        [--bundled /ovms/lib/python] [--workspace /workspace] [--modules m1,m2:Attr,...]
"""
from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import re
import subprocess
import sys

SERVABLE_MODULES = (
    "numpy", "torch", "transformers", "optimum.intel:OVModelForCausalLM",
    "sentence_transformers:SentenceTransformer", "faiss", "langchain_core",
    "langchain_community.vectorstores:FAISS", "langchain_text_splitters",
    "watchdog.observers:Observer", "prometheus_client", "bs4", "bm25s", "pypdf", "huggingface_hub",
    # KNOWLEDGE_STORE=postgres: psycopg's binary wheel carries its own libpq (no OS package)
    "psycopg", "psycopg_binary", "pgvector.psycopg:register_vector",
    "ragbot.answering.service", "ragbot.backends.optimum", "ragbot.knowledge.embeddings",
    "ragbot.knowledge.index", "ragbot.knowledge.postgres.store",
)
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")


class Report:
    def __init__(self):
        self.failed = 0

    def ok(self, text):
        print(f"ok: {text}", flush=True)

    def note(self, text):
        print(f"note: {text}", flush=True)

    def fail(self, text):
        self.failed += 1
        print(f"FAIL: {text}", flush=True)


def xyz(text: str) -> tuple[int, int, int] | None:
    m = _VERSION.search(text or "")
    return tuple(int(g) for g in m.groups()) if m else None  # type: ignore[return-value]


def dotted(v) -> str:
    return ".".join(map(str, v))


def pinned_openvino(requirements: str) -> tuple[int, int, int] | None:
    with open(requirements, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^\s*openvino\s*==\s*(\d+\.\d+\.\d+)", line, re.I)
            if m:
                return xyz(m.group(1))
    return None


def ovms_backend(ovms: str) -> tuple[int, int, int] | None:
    try:
        out = subprocess.run([ovms, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in out.splitlines():
        if line.startswith("OpenVINO backend"):
            return xyz(line)
    return None


def under(module, folder: str) -> bool:
    path = os.path.abspath(getattr(module, "__file__", "") or "")
    return path.startswith(os.path.abspath(folder) + os.sep)


def import_named(spec: str):
    name, _, attr = spec.partition(":")
    module = importlib.import_module(name)
    return getattr(module, attr) if attr else module


def check(args) -> int:
    report = Report()
    bundled = args.bundled
    print(f"Python {sys.version.split()[0]} ({sys.executable}); bundled modules: {bundled}", flush=True)
    try:
        pyovms = importlib.import_module("pyovms")
        report.ok(f"pyovms imports ({pyovms.__file__})")
    except Exception as e:  # noqa: BLE001 - reported
        report.fail(f"pyovms does not import in this Python ({type(e).__name__}: {e}); "
                    "install the interpreter it was built for (deploy/image/python_for_pyovms.sh)")

    runtime = None
    try:
        ov = importlib.import_module("openvino")
        runtime = xyz(ov.get_version())
        where = "bundled" if under(ov, bundled) else "NOT the bundled copy"
        (report.ok if under(ov, bundled) else report.fail)(
            f"openvino {ov.get_version()} imports from {os.path.dirname(ov.__file__)} ({where})")
        report.note(f"openvino's dist-info says {importlib.metadata.version('openvino')} "
                    "(OVMS writes X.Y only; the runtime version above is the one that counts)")
    except Exception as e:  # noqa: BLE001
        report.fail(f"openvino does not import: {type(e).__name__}: {e}")

    backend = ovms_backend(args.ovms)
    if backend is None:
        report.fail(f"could not read 'OpenVINO backend X.Y.Z' from {args.ovms} --version")
    elif runtime is not None and backend != runtime:
        report.fail(f"ovms runs OpenVINO {dotted(backend)} but Python imports openvino "
                    f"{dotted(runtime)}: two runtimes in one process")
    elif runtime is not None:
        report.ok(f"ovms --version: OpenVINO backend {dotted(backend)}, the same runtime")

    pin = pinned_openvino(args.requirements)
    if pin is None:
        report.fail(f"{args.requirements} has no exact openvino==X.Y.Z pin")
    elif runtime is not None and pin[:2] != runtime[:2]:
        report.fail(f"requirements.txt pins openvino {dotted(pin)} but this image runs OpenVINO "
                    f"{dotted(runtime)}: build on the OVMS image of the pin "
                    "(python3 deploy/check_image_tag.py --default-tag)")
    elif runtime is not None and pin != runtime:
        report.note(f"requirements.txt pins openvino {dotted(pin)}; the image runs "
                    f"{dotted(runtime)} (same X.Y): the image tag decides at run time")
    elif runtime is not None:
        report.ok(f"requirements.txt pins openvino {dotted(pin)}, the image's runtime")

    for name, required in (("openvino_tokenizers", True), ("openvino_genai", False)):
        try:
            module = importlib.import_module(name)
            (report.ok if under(module, bundled) else report.note)(
                f"{name} imports from {os.path.dirname(module.__file__)}")
        except Exception as e:  # noqa: BLE001
            text = f"{name} does not import: {type(e).__name__}: {e}"
            if required:
                report.fail(text)
            else:
                report.note(text + " (LLM_BACKEND=genai will not work in this image)")

    if args.workspace:
        sys.path.insert(0, args.workspace)
    for spec in args.modules:
        try:
            import_named(spec)
            report.ok(f"imports {spec}")
        except Exception as e:  # noqa: BLE001
            report.fail(f"{spec} does not import: {type(e).__name__}: {e}")

    print(f"{report.failed} check(s) failed" if report.failed else "image check passed", flush=True)
    return 1 if report.failed else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requirements", required=True)
    p.add_argument("--ovms", default="/ovms/bin/ovms")
    p.add_argument("--bundled", default=(os.environ.get("PYTHONPATH") or "/ovms/lib/python").split(os.pathsep)[0])
    p.add_argument("--workspace", default="/workspace")
    p.add_argument("--modules", type=lambda s: [m for m in s.split(",") if m], default=list(SERVABLE_MODULES))
    return check(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
