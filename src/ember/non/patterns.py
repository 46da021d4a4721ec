"""pyember's NON operator classes, over Ember's building blocks: ``UniformEnsemble``,
``VariedEnsemble``, ``JudgeSynthesis``, ``MostCommon``, ``Verifier`` and ``Sequential``.

Each takes pyember's constructor keywords (``num_units``, ``model_name``,
``temperature``, ``max_tokens``, ``model_configs``, ``operators``) and is called the
pyember way, ``op(inputs={"query": ...})`` or ``op(query=...)``, or positionally with
the inputs (``op({"query": ...})``; a bare value is the query). It returns a dict with
pyember's keys, plus the ``query`` it was given so that the next step of a
``Sequential`` still has the question. The dict is a ``NonResult``, whose keys also read
as attributes (``result.final_answer``), as pyember's result models did:

- ``UniformEnsemble``, ``VariedEnsemble``: ``query`` → ``responses`` (one per model);
- ``MostCommon``: ``responses`` → ``final_answer`` (``ember.operators.MostCommon``);
- ``JudgeSynthesis``: ``query``, ``responses`` → ``final_answer`` (the candidate an
  ``ember.operators.Judge`` picks) and ``reasoning`` (the judge's reply);
- ``Verifier``: ``query``, ``candidate_answer`` (or a judge's ``final_answer``) →
  ``verdict`` (``True``/``False``, pyember's 1/0), ``explanation``, ``revised_answer``
  (always ``None``: ``ember.operators.Verifier`` judges, it does not rewrite), and the
  ``candidate_answer`` it checked.

Every model call is an op of the underlying ``Ensemble``, ``Judge`` or ``Verifier``:
under ``@jit`` the ensemble's calls run concurrently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ember.models import models
from ember.operators import Chain, Ensemble, Judge, Operator, blocks
from ember.operators.specification import fields_of
from ember.xcs import Op
from ember.xcs.errors import XCSError

__all__ = ["JudgeSynthesis", "MostCommon", "NonResult", "Sequential", "UniformEnsemble",
           "VariedEnsemble", "Verifier"]


class NonResult(dict[str, Any]):
    """The outputs of a NON operator: a dict whose keys also read as attributes.

    pyember's NON guide reads its results as models (``result.final_answer``,
    ``ensemble_result.responses``) and its README subscripts them
    (``result["responses"]``): both work. Otherwise it is a plain dict (equality, JSON,
    ``**`` unpacking, ``repr``).

    Example:
        >>> result = NonResult(query="2+2?", final_answer="4")
        >>> result.final_answer == result["final_answer"] == "4", result
        (True, {'query': '2+2?', 'final_answer': '4'})
    """

    __slots__ = ()
    _xcs_batch_as_dict = True  # vmap transposes it as a dict, into a NonResult of lists

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}; its fields "
                                 f"are {', '.join(map(repr, self)) or 'none'}.") from None


_FIELDS = (dict, NonResult)  # inputs read at once; anything else is read by an op


def _model(model_name: str, temperature: float | None, max_tokens: int | None,
           params: Mapping[str, Any]) -> Any:
    """A binding of ``model_name``; pyember's ``provider:model`` is read as ``provider/model``
    when ``provider`` is a registered provider."""
    provider, colon, rest = model_name.partition(":")
    if colon and "/" not in model_name and provider in models.providers():
        model_name = f"{provider}/{rest}"
    settings: dict[str, Any] = {name: value for name, value in (
        ("temperature", temperature), ("max_tokens", max_tokens)) if value is not None}
    return models.instance(model_name, **settings, **params)


def _read(inputs: Any) -> dict[str, Any]:
    fields = fields_of(inputs)
    return {"query": inputs} if fields is None else fields


# An op, so that under @jit an input that is not yet computed is read once it exists
# (looking at it in forward would make the trace wait).
_read_inputs = Op(_read, name="non.inputs", deterministic=True)


def _inputs(who: str, inputs: Any, fields: dict[str, Any]) -> Any:
    """The input fields: ``inputs`` (a dict, a model or a bare query) or the keywords."""
    if inputs is None:
        return fields
    if fields:
        raise TypeError(f"{who}: pass the inputs once, as inputs={{...}} or as keyword "
                        f"fields ({', '.join(fields)}), not both.")
    if type(inputs) in _FIELDS:
        return inputs
    if type(inputs) is str:
        return {"query": inputs}
    return _read_inputs(inputs)


def _field(who: str, fields: Any, name: str, fallback: str | None = None) -> Any:
    if type(fields) not in _FIELDS:  # computed under @jit: read lazily
        return fields.get(name, fields.get(fallback)) if fallback else fields[name]
    for key in (name, fallback):
        if key in fields:
            return fields[key]
    raise TypeError(f"{who}: its inputs need a {name!r} field, got "
                    f"{sorted(fields) or 'none'}; e.g. {who}(inputs={{'{name}': ...}}).")


def _with_query(fields: Any, outputs: dict[str, Any]) -> NonResult:
    if type(fields) not in _FIELDS:
        return NonResult(query=fields.get("query"), **outputs)
    return NonResult(query=fields["query"], **outputs) if "query" in fields else \
        NonResult(outputs)


class UniformEnsemble(Operator):
    """``num_units`` replicas of one model asked the same query: ``{"query", "responses"}``.

    Example:
        >>> ensemble = UniformEnsemble(num_units=3, model_name="simulated/a", temperature=0.7)
        >>> len(ensemble(inputs={"query": "Capital of France?"})["responses"])
        3
    """

    def __init__(self, *, num_units: int, model_name: str, temperature: float | None = None,
                 max_tokens: int | None = None, **params: Any) -> None:
        if type(num_units) is not int or num_units < 1:
            raise ValueError(f"UniformEnsemble: num_units must be a positive int, got "
                             f"{num_units!r}.")
        binding = _model(model_name, temperature, max_tokens, params)
        self.ensemble = Ensemble([binding] * num_units)

    def forward(self, inputs: Any = None, **fields: Any) -> NonResult:
        """Every replica's answer to the query."""
        query = _field("UniformEnsemble", _inputs("UniformEnsemble", inputs, fields), "query")
        return NonResult(query=query, responses=self.ensemble(query))


class VariedEnsemble(Operator):
    """One call per ``(model_id, temperature[, max_tokens])`` of ``model_configs``:
    ``{"query", "responses"}``. A config may also be given with pyember's
    ``LMModuleConfig`` fields, in a mapping or as attributes
    (``{"model_name": "simulated/a", "temperature": 0.3}``).

    Example:
        >>> varied = VariedEnsemble(model_configs=[("simulated/a", 0.3), ("simulated/b", 0.9, 64)])
        >>> [r.model_id for r in varied(query="Hi")["responses"]]
        ['simulated/a', 'simulated/b']
    """

    def __init__(self, *, model_configs: Sequence[Any]) -> None:
        bindings = [_model(*_config_fields(config), {}) for config in model_configs]
        if not bindings:
            raise ValueError("VariedEnsemble: model_configs must hold at least one model "
                             "config, e.g. [('simulated/a', 0.3), ('simulated/b', 0.9)].")
        self.ensemble = Ensemble(bindings)

    def forward(self, inputs: Any = None, **fields: Any) -> NonResult:
        """Every configured model's answer to the query."""
        query = _field("VariedEnsemble", _inputs("VariedEnsemble", inputs, fields), "query")
        return NonResult(query=query, responses=self.ensemble(query))


_CONFIG_FIELDS = ("model_name", "temperature", "max_tokens")  # pyember's LMModuleConfig


def _config_fields(config: Any) -> tuple[Any, Any, Any]:
    """``(model_id, temperature, max_tokens)`` of one ``VariedEnsemble`` model config."""
    fields: dict[str, Any] | None = None
    if isinstance(config, Mapping):
        fields = dict(config)
    elif hasattr(config, "model_name") and not isinstance(config, str | Sequence):
        fields = {name: getattr(config, name, None) for name in _CONFIG_FIELDS}
    if fields is not None and "model_name" in fields and set(fields) <= set(_CONFIG_FIELDS):
        return fields["model_name"], fields.get("temperature"), fields.get("max_tokens")
    if fields is None and not isinstance(config, str) and isinstance(config, Sequence) \
            and 1 <= len(config) <= 3:
        model_id, temperature, max_tokens = (*config, None, None)[:3]
        return model_id, temperature, max_tokens
    raise ValueError(
        f"VariedEnsemble: each model config is (model_id, temperature, max_tokens) or "
        f"(model_id, temperature), or pyember's fields {{'model_name': ..., 'temperature': "
        f"..., 'max_tokens': ...}} (model_name required, no other keys), got {config!r}."
    )


class MostCommon(Operator):
    """The most common of the ``responses``: ``{"final_answer"}`` (with the query, if given).

    Raises:
        ValueError: no responses (pyember's gave ``None``).

    Example:
        >>> MostCommon()(inputs={"responses": ["4", "4", "5"]})
        {'final_answer': '4'}
    """

    def __init__(self) -> None:
        self.vote = blocks.MostCommon()

    def forward(self, inputs: Any = None, **fields: Any) -> NonResult:
        """The answer given most often (case- and whitespace-insensitive)."""
        given = _inputs("MostCommon", inputs, fields)
        final = self.vote(_field("MostCommon", given, "responses"))
        return _with_query(given, {"final_answer": final})


class JudgeSynthesis(Operator):
    """A judge model picks the best of the ``responses``: ``{"query", "final_answer",
    "reasoning"}``.

    Example:
        >>> judge = JudgeSynthesis(model_name="simulated/judge", temperature=0.0)
        >>> judge(query="2+2?", responses=["4", "5"])["final_answer"] in ("4", "5")
        True
    """

    def __init__(self, *, model_name: str = "gpt-4o", temperature: float | None = 1.0,
                 max_tokens: int | None = None, **params: Any) -> None:
        self.judge = Judge(_model(model_name, temperature, max_tokens, params))

    def forward(self, inputs: Any = None, **fields: Any) -> NonResult:
        """The candidate the judge picks for the query, and the judge's reply."""
        given = _inputs("JudgeSynthesis", inputs, fields)
        query = _field("JudgeSynthesis", given, "query")
        final, reply = self.judge.decide(query, _field("JudgeSynthesis", given, "responses"))
        return NonResult(query=query, final_answer=final, reasoning=reply)


class Verifier(Operator):
    """A model checks an answer: ``{"query", "candidate_answer", "verdict", "explanation",
    "revised_answer"}``.

    Example:
        >>> checked = Verifier(model_name="simulated/checker")(query="2+2?", candidate_answer="4")
        >>> isinstance(checked["verdict"], bool), checked["revised_answer"]
        (True, None)
    """

    def __init__(self, *, model_name: str, temperature: float | None = None,
                 max_tokens: int | None = None, **params: Any) -> None:
        self.verifier = blocks.Verifier(_model(model_name, temperature, max_tokens, params))

    def forward(self, inputs: Any = None, **fields: Any) -> NonResult:
        """The verifier's verdict on ``candidate_answer`` (or ``final_answer``)."""
        given = _inputs("Verifier", inputs, fields)
        query = _field("Verifier", given, "query")
        answer = _field("Verifier", given, "candidate_answer", "final_answer")
        verdict = self.verifier(query, answer)
        return NonResult(query=query, candidate_answer=answer, verdict=verdict.passed,
                         explanation=verdict.explanation, revised_answer=None)


class Sequential(Operator):
    """pyember's ``Sequential(operators=[...])``: a ``Chain`` whose first step gets the
    inputs (``inputs={...}`` or keyword fields); each step's output is the next one's.

    Example:
        >>> pipeline = Sequential(operators=[
        ...     UniformEnsemble(num_units=3, model_name="simulated/a"),
        ...     JudgeSynthesis(model_name="simulated/judge")])
        >>> sorted(pipeline(inputs={"query": "Capital of France?"}))
        ['final_answer', 'query', 'reasoning']
    """

    def __init__(self, *, operators: Sequence[Callable[..., Any]]) -> None:
        if not isinstance(operators, list | tuple) or not operators:
            raise XCSError(f"Sequential: operators must be a non-empty list of operators or "
                           f"functions, got {operators!r}.")
        for index, step in enumerate(operators):
            if not callable(step):
                raise XCSError(f"Sequential: operators[{index}] must be callable (an operator "
                               f"or a function), got {type(step).__name__} {step!r}.")
        self.chain = Chain(operators=operators)

    @property
    def operators(self) -> tuple[Callable[..., Any], ...]:
        """The steps, in order."""
        return self.chain.steps

    def forward(self, inputs: Any = None, **fields: Any) -> Any:
        """``inputs`` (or the keyword fields) passed through every step in order."""
        if inputs is not None and fields:
            raise TypeError("Sequential: pass the inputs once, as inputs={...} or as keyword "
                            "fields, not both.")
        return self.chain(fields if inputs is None else inputs)

    def __repr__(self) -> str:
        return f"Sequential({self.chain!r})"
