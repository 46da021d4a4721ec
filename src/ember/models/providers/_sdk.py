"""Shared plumbing of the SDK-backed providers: lazy import, API key, one client."""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

from ember.models.errors import MissingAPIKeyError, MissingDependencyError

__all__ = ["LazyClient"]


class LazyClient:
    """Imports an SDK and builds its client on first use, once, thread-safely.

    Args:
        module: the SDK's import name (``"openai"``).
        extra: the ``ember-xcs`` extra that installs it.
        key_variable: the environment variable holding the API key.
        api_key: an explicit key (wins over the environment).
        build: makes the client from the imported module and the key.
    """

    def __init__(
        self,
        *,
        module: str,
        extra: str,
        key_variable: str,
        api_key: str | None,
        build: Callable[[ModuleType, str], Any],
    ) -> None:
        self.module_name = module
        self.extra = extra
        self.key_variable = key_variable
        self._api_key = api_key
        self._build = build
        self._lock = threading.Lock()
        self._module: ModuleType | None = None
        self._client: Any = None

    def sdk(self) -> ModuleType:
        """The imported SDK module.

        Raises:
            MissingDependencyError: the SDK is not installed (names the extra).
        """
        if self._module is None:
            try:
                self._module = importlib.import_module(self.module_name)
            except ImportError as error:
                raise MissingDependencyError(
                    f"The {self.module_name!r} package is needed for {self.module_name}/... "
                    f"models; install it with: pip install 'ember-xcs[{self.extra}]'"
                ) from error
        return self._module

    def get(self) -> Any:
        """The client, built on first call.

        Raises:
            MissingDependencyError: the SDK is not installed.
            MissingAPIKeyError: no key given and the environment variable is unset.
        """
        with self._lock:
            if self._client is None:
                module = self.sdk()
                key = self._api_key or os.environ.get(self.key_variable)
                if not key:
                    raise MissingAPIKeyError(
                        f"No API key for {self.module_name}: set the {self.key_variable} "
                        f"environment variable or pass api_key=... to the provider "
                        f"(a local server that needs no key accepts api_key='EMPTY')."
                    )
                self._client = self._build(module, key)
            return self._client
