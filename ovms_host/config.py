"""config.json -> the graphs to serve, with OVMS's path rules.

As src/mediapipe_internal/mediapipegraphconfig.cpp (parseNode) resolves them: `base_path`
defaults to `<config dir>/<name>/` (an empty one too) and a relative one is relative to the
config's folder; `graph_path` defaults to `graph.pbtxt` and a relative one is relative to
`base_path`. Graphs may be listed in `mediapipe_config_list` (deprecated in the 2026.3 docs)
or in `model_config_list` as `{"config": {"name", "base_path", "graph_path"}}`, where an
entry is a graph when its graph file exists (src/modelmanager.cpp, loadModels) and an
OpenVINO model otherwise, which this host cannot serve. The file must follow OVMS's schema
(src/schema.cpp): `model_config_list` is required, unknown keys are refused.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any, NoReturn

DEFAULT_GRAPH = "graph.pbtxt"
TOP_LEVEL_KEYS = {"model_config_list", "mediapipe_config_list", "pipeline_config_list",
                  "custom_loader_config_list", "custom_node_library_config_list", "monitoring"}
MEDIAPIPE_KEYS = {"name", "base_path", "graph_path", "subconfig"}


class ConfigError(Exception):
    """config.json or a graph is unusable; the message says which file and why."""


@dataclass(frozen=True)
class GraphEntry:
    """One served name: where its graph is (absolute paths), or why it cannot be served."""
    name: str
    base_path: str
    graph_path: str
    listed_in: str = "mediapipe_config_list"
    unsupported: str = ""  # set for a model_config_list entry that is not a graph


def file_md5(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return hashlib.md5(f.read()).hexdigest()
    except OSError:
        return ""


def read_json(config_path: str) -> dict:
    try:
        with open(config_path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        raise ConfigError(f"cannot read config file {config_path}: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise ConfigError(f"{config_path}:{e.lineno}:{e.colno}: invalid JSON: {e.msg}") from e
    _check_schema(config_path, data)
    return data


def _check_schema(path: str, data: Any) -> None:
    def refuse(why: str) -> NoReturn:
        raise ConfigError(f"{path} is not in valid configuration format: {why}")

    if not isinstance(data, dict):
        refuse("the top level must be a JSON object")
    unknown = sorted(set(data) - TOP_LEVEL_KEYS)
    if unknown:
        refuse(f"unknown keys {unknown}")
    if not isinstance(data.get("model_config_list"), list):
        refuse('"model_config_list" (an array, possibly empty) is required')
    for i, item in enumerate(data["model_config_list"]):
        config = item.get("config") if isinstance(item, dict) else None
        if not isinstance(config, dict) or not isinstance(config.get("name"), str):
            refuse(f'model_config_list[{i}] must be {{"config": {{"name": ..., ...}}}}')
    graphs = data.get("mediapipe_config_list", [])
    if not isinstance(graphs, list):
        refuse('"mediapipe_config_list" must be an array')
    for i, item in enumerate(graphs):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            refuse(f'mediapipe_config_list[{i}] must be an object with a "name"')
        extra = sorted(set(item) - MEDIAPIPE_KEYS)
        if extra:
            refuse(f"mediapipe_config_list[{i}] has unknown keys {extra} "
                   f"(allowed: {', '.join(sorted(MEDIAPIPE_KEYS))})")


def graph_entry(folder: str, item: dict, listed_in: str) -> GraphEntry:
    """Resolve one entry's base_path and graph_path the way OVMS does."""
    name = item["name"]
    base = item.get("base_path")
    if not base:  # absent or "": <config dir>/<name>/
        base = name
    base = os.path.normpath(os.path.join(folder, base))  # an absolute base_path stays as is
    graph = os.path.normpath(os.path.join(base, item.get("graph_path") or DEFAULT_GRAPH))
    return GraphEntry(name=name, base_path=base, graph_path=graph, listed_in=listed_in)


def read_config(config_path: str) -> list[GraphEntry]:
    """Every name config.json serves, in file order (model_config_list first, as OVMS loads)."""
    config_path = os.path.abspath(config_path)
    data = read_json(config_path)
    folder = os.path.dirname(config_path)
    entries: list[GraphEntry] = []
    for item in data["model_config_list"]:
        entry = graph_entry(folder, item["config"], "model_config_list")
        if not os.path.isfile(entry.graph_path):
            entry = GraphEntry(entry.name, entry.base_path, entry.graph_path, "model_config_list",
                               unsupported=f"model_config_list entry {entry.name!r} has no graph at "
                               f"{entry.graph_path}, so OVMS would load it as an OpenVINO model; "
                               "this host serves MediaPipe graphs only")
        entries.append(entry)
    for item in data.get("mediapipe_config_list", []):
        entries.append(graph_entry(folder, item, "mediapipe_config_list"))
    seen: set[str] = set()
    for entry in entries:
        if entry.name in seen:
            raise ConfigError(f"{config_path}: the name {entry.name!r} is listed twice")
        seen.add(entry.name)
    return entries
