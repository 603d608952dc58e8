"""Config reload by polling, as OVMS's ModelManager::watcher does (src/modelmanager.cpp):
every `--file_system_poll_wait_seconds` (default 1; 0 disables) config.json's MD5 is
compared with the last loaded one, and a change reloads the configuration (registry.py).
"""

from __future__ import annotations

import logging
import threading

from .config import file_md5
from .registry import Registry

log = logging.getLogger("ovms_host.config")


class ConfigWatcher:
    def __init__(self, registry: Registry, interval_s: float):
        self.registry = registry
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="config-watch", daemon=True)

    def start(self) -> "ConfigWatcher":
        if self.interval_s > 0:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        self.registry.server_ready.wait()
        while not self._stop.wait(self.interval_s):
            md5 = file_md5(self.registry.config_path)
            if md5 and md5 != self.registry.config_md5:
                log.info("%s changed: reloading the configuration", self.registry.config_path)
                self.registry.reload()
