"""``SDKProvider``: what the providers built on an official SDK share.

The SDK is imported on first use; the client is built once, thread-safely, with the
SDK's own retries off (``max_retries=0``) so ``RetryPolicy`` is the only retry logic.
"""

from __future__ import annotations

import importlib
import os
import threading
from types import ModuleType
from typing import Any, ClassVar

from ember.models.errors import MissingAPIKeyError, MissingDependencyError
from ember.models.providers.base import Provider
from ember.models.retry import RetryPolicy, is_retryable_status

__all__ = ["SDKProvider"]


class SDKProvider(Provider):
    """Base class of providers that talk to an official SDK client.

    Subclasses name the SDK module, the extra that installs it, the client class and
    the environment variables for the key and the base URL.

    Args:
        api_key: the key (default: the ``key_variable`` environment variable).
        base_url: server URL (default: the ``base_url_variable`` environment
            variable, else the SDK's default).
        timeout: seconds per request.
        max_concurrency: process-wide cap on concurrent calls.
        retry: retry policy for 429, 5xx and connection failures.
    """

    sdk_module: ClassVar[str]
    client_class: ClassVar[str]
    key_variable: ClassVar[str]
    base_url_variable: ClassVar[str]

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        max_concurrency: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(max_concurrency=max_concurrency, retry=retry)
        self.base_url = base_url or os.environ.get(self.base_url_variable) or None
        self.timeout = timeout
        self._api_key = api_key
        # Guards building the client once when many threads make their first call.
        self._lock = threading.Lock()
        self._sdk: ModuleType | None = None
        self._client: Any = None

    def sdk(self) -> ModuleType:
        """The imported SDK module.

        Raises:
            MissingDependencyError: the SDK is not installed (names the extra).
        """
        if self._sdk is None:
            try:
                self._sdk = importlib.import_module(self.sdk_module)
            except ImportError as error:
                raise MissingDependencyError(
                    f"The {self.sdk_module!r} package is needed for {self.sdk_module} models; "
                    f"install it with: pip install 'ember-xcs[{self.sdk_module}]'"
                ) from error
        return self._sdk

    def client(self) -> Any:
        """The SDK client, built on first use.

        Raises:
            MissingDependencyError: the SDK is not installed.
            MissingAPIKeyError: no key given and the environment variable is unset.
        """
        with self._lock:
            if self._client is None:
                sdk = self.sdk()
                key = self._api_key or os.environ.get(self.key_variable)
                if not key:
                    raise MissingAPIKeyError(
                        f"No API key for {self.sdk_module}: set the {self.key_variable} "
                        f"environment variable or pass api_key=... to the provider "
                        f"(a local server that needs no key accepts api_key='EMPTY')."
                    )
                self._client = getattr(sdk, self.client_class)(
                    api_key=key, base_url=self.base_url, timeout=self.timeout, max_retries=0
                )
            return self._client

    def prepare(self) -> None:
        """Import the SDK and build the client (checks the SDK and the key)."""
        self.client()

    def is_retryable(self, error: BaseException) -> bool:
        """429, 5xx and connection failures are retried."""
        return is_retryable_status(error) or isinstance(error, self.sdk().APIConnectionError)
