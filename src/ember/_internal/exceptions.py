"""pyember's path ``ember._internal.exceptions`` (its examples import
``ModelNotFoundError`` and ``ProviderAPIError`` from here): ``ember.api.exceptions``.

Every name, pydantic's ``ValidationError`` included, is the object of
``ember.api.exceptions``, and a pyember name without a counterpart raises the same
``AttributeError`` saying what to catch instead. ``ModelProviderError``, what pyember's
model registry raised for a missing API key, is ``MissingAPIKeyError``.
"""

from typing import Any

from ember.api import exceptions as _exceptions
from ember.api.exceptions import *  # noqa: F403
from ember.api.exceptions import MissingAPIKeyError
from ember.api.exceptions import __all__ as _api_all

ModelProviderError = MissingAPIKeyError

__all__ = [*_api_all, "ModelProviderError"]


def __getattr__(name: str) -> Any:
    return getattr(_exceptions, name)
