"""pyember's ``ember.api.types``: ``EmberModel`` and the pydantic names pyember's models
are written with (``Field``, ``field_validator``, ``model_validator``). Needs pydantic,
which Ember itself does not depend on; this module is imported only when asked for.

Example:
    >>> from ember.api.types import EmberModel, Field
    >>> class Query(EmberModel):
    ...     text: str = Field(min_length=1)
    >>> Query(text="hi")["text"]
    'hi'
"""

from pydantic import Field, field_validator, model_validator

from ember.operators.ember_model import EmberModel

__all__ = ["EmberModel", "Field", "field_validator", "model_validator"]
