"""``Specification``: pyember's input model, output model and prompt template of an Operator.

An Operator class that sets ``specification = MySpecification()`` validates its input
against ``input_model`` and its result against ``structured_output`` (they become its
``input_spec`` and ``output_spec``, see ``base``), and may fill ``prompt_template``
from its inputs with ``render_prompt``. Models are pydantic models (any class with
``model_validate``); pydantic itself is never imported here.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from ember.operators._validation import is_spec, validated
from ember.xcs.tracing import context  # the library hook: the user's overrides as jit runs them

__all__ = ["Specification"]

_FIELDS = ("input_model", "structured_output", "output_model", "prompt_template",
           "check_all_placeholders")


class Specification:
    """What an Operator takes and returns, and the prompt it renders (pyember's).

    Fields are class attributes of a subclass (pyember's style) or keywords of the
    constructor, which win. ``output_model`` is another name for ``structured_output``.

    Attributes:
        input_model: validates the input (a dict becomes the model), or ``None``.
        structured_output: validates the result, or ``None``.
        prompt_template: a ``str.format`` template over the input's fields, or ``None``.
        check_all_placeholders: every required field of ``input_model`` must appear in
            ``prompt_template`` as ``{field}`` (checked when the specification is made).

    Raises:
        TypeError: an unknown field, a model without ``model_validate``, or both
            ``structured_output`` and ``output_model``, different.
        ValueError: ``prompt_template`` lacks a placeholder for a required input field.

    Example:
        >>> from pydantic import BaseModel
        >>> class Question(BaseModel):
        ...     query: str
        >>> spec = Specification(input_model=Question, prompt_template="Q: {query}")
        >>> spec.render_prompt(inputs={"query": "Why?"})
        'Q: Why?'
    """

    input_model: type | None = None
    structured_output: type | None = None
    output_model: type | None = None
    prompt_template: str | None = None
    check_all_placeholders: bool = True

    def __init__(self, **fields: Any) -> None:
        unknown = sorted(set(fields) - set(_FIELDS))
        if unknown:
            raise TypeError(f"Specification: unknown field(s) {', '.join(unknown)}; "
                            f"its fields are {', '.join(_FIELDS)}.")
        for name, value in fields.items():
            setattr(self, name, value)
        output, alias = self.structured_output, self.output_model
        if output is not None and alias is not None and output is not alias:
            raise TypeError("Specification: structured_output and output_model name the same "
                            "model; set one of them.")
        self.structured_output = self.output_model = output or alias
        for label in ("input_model", "structured_output"):
            model = getattr(self, label)
            if model is not None and not is_spec(model):
                raise TypeError(f"Specification.{label} must be a class with model_validate "
                                f"(e.g. a pydantic BaseModel), got {model!r}.")
        missing = [name for name in self._required_fields()
                   if self.check_all_placeholders and self.prompt_template is not None
                   and name not in _placeholders(self.prompt_template)]
        if missing:
            raise ValueError(
                f"Specification: prompt_template has no placeholder for the required input "
                f"field(s) {', '.join(missing)}; add {', '.join('{' + n + '}' for n in missing)}"
                " or set check_all_placeholders=False."
            )

    def _required_fields(self) -> list[str]:
        fields = getattr(self.input_model, "model_fields", {})
        return [name for name, info in fields.items() if info.is_required()]

    def render_prompt(self, *, inputs: Any) -> str:
        """The prompt for ``inputs`` (a dict or a model instance).

        ``prompt_template`` filled with the input's fields; without a template, the
        required fields of ``input_model``, one per line.

        Raises:
            ValueError: a placeholder has no input field, or there is neither a
                template nor an input model.
        """
        values = _as_dict(inputs)
        if self.prompt_template is not None:
            try:
                return self.prompt_template.format(**values)
            except KeyError as error:
                raise ValueError(
                    f"Specification.render_prompt: no input for placeholder {error}; the "
                    f"inputs have {', '.join(map(repr, values)) or 'no fields'}."
                ) from None
        if self.input_model is not None:
            return "\n".join(str(values.get(name, "")) for name in self._required_fields())
        raise ValueError("Specification.render_prompt needs a prompt_template or an input_model.")

    def validate_inputs(self, *, inputs: Any) -> Any:
        """``inputs`` as an ``input_model`` instance (unchanged without a model)."""
        return _validated(self.input_model, inputs)

    def validate_output(self, *, output: Any) -> Any:
        """``output`` as a ``structured_output`` instance (unchanged without a model)."""
        return _validated(self.structured_output, output)

    def model_json_schema(self, **options: Any) -> dict[str, Any]:
        """The JSON schema of ``input_model`` (``{}`` without one); ``options`` go to
        pydantic's ``model_json_schema`` (``by_alias=True``, ``mode=...``)."""
        schema = getattr(self.input_model, "model_json_schema", None)
        return dict(schema(**options)) if schema is not None else {}

    def validators(self) -> tuple[type | None, type | None]:
        """What an Operator with this specification validates its input and its result
        with: ``input_model`` and ``structured_output``; where a subclass overrides
        ``validate_inputs`` or ``validate_output``, a class whose ``model_validate``
        calls that method, since pyember's Operator validated through them (so the
        checks written there run on every call)."""
        own = type(self)
        inputs, output = self.input_model, self.structured_output
        if own.validate_inputs is not Specification.validate_inputs:
            inputs = _through(self.validate_inputs, "inputs", inputs)
        if own.validate_output is not Specification.validate_output:
            output = _through(self.validate_output, "output", output)
        return inputs, output

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _FIELDS[:2] + _FIELDS[3:]
                          if getattr(self, name) != getattr(Specification, name))
        return f"{type(self).__name__}({shown})"


def _placeholders(template: str) -> set[str]:
    """The input fields ``template`` reads (``{a.b}`` and ``{a[0]}`` read ``a``)."""
    fields = (field for _, field, _, _ in string.Formatter().parse(template) if field)
    return {field.split(".", 1)[0].split("[", 1)[0] for field in fields}


def fields_of(inputs: Any) -> dict[str, Any] | None:
    """The fields of ``inputs`` as a new dict: a mapping's items or a model's
    ``model_dump()``; ``None`` for anything else."""
    if isinstance(inputs, Mapping):
        return dict(inputs)
    dump = getattr(inputs, "model_dump", None)
    if callable(dump):
        values: dict[str, Any] = dump()
        return values
    return None


def _as_dict(inputs: Any) -> dict[str, Any]:
    values = fields_of(inputs)
    if values is None:
        raise TypeError(f"Specification: inputs must be a dict or a model instance, "
                        f"got {type(inputs).__name__}.")
    return values


def _through(check: Any, keyword: str, model: type | None) -> type:
    """A class whose ``model_validate(value)`` is ``check(**{keyword: value})``, named as
    ``model`` (error messages name the model the user wrote)."""
    def model_validate(cls: type, value: Any) -> Any:
        return context.call(check, **{keyword: value})  # the user's method, as jit runs it

    name = getattr(model, "__name__", "Inputs" if keyword == "inputs" else "Output")
    return type(name, (), {"model_validate": classmethod(model_validate),
                           "__doc__": f"Validates through {check.__qualname__}."})


def _validated(model: type | None, value: Any) -> Any:
    # Through the Operators' validation: under @jit, a value holding op results (an
    # output dict built from replies) is validated once they exist, not as proxies.
    return value if model is None else validated(model, value)
