"""pyember's ``Specification``, ``EmberModel``, ``Operator[In, Out]`` and keyword-field
calls (``ember.operators.specification``, ``ember_model`` and ``base``)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from ember.operators import Operator, Specification
from ember.operators.ember_model import EmberModel
from ember.xcs import jit


class Question(EmberModel):
    query: str
    style: str = "short"


class Reply(EmberModel):
    answer: str


class QuestionSpec(Specification):
    input_model = Question
    structured_output = Reply
    prompt_template = "Answer ({style}): {query}"


class Answerer(Operator[Question, Reply]):
    specification: Specification = QuestionSpec()

    def forward(self, *, inputs):
        return {"answer": self.specification.render_prompt(inputs=inputs)}


def test_operator_subscript_is_the_class():
    assert Operator[Question, Reply] is Operator and Answerer[Question, Reply] is Answerer
    assert Answerer.__mro__[1] is Operator


def test_specification_validates_inputs_and_output_and_fields_calls_build_the_model():
    answerer = Answerer()
    assert (Answerer.input_spec, Answerer.output_spec) == (Question, Reply)
    result = answerer(query="Why?")  # pyember's keyword-field call
    assert isinstance(result, Reply) and result.answer == "Answer (short): Why?"
    assert answerer(inputs={"query": "Why?", "style": "long"}).answer == "Answer (long): Why?"
    assert answerer(inputs=Question(query="Why?")) == result
    assert jit(answerer)(query="Why?") == result
    with pytest.raises(ValidationError):
        answerer(question="Why?")  # EmberModel refuses unknown fields, as pyember's did
    assert "specification" not in vars(answerer)  # a class attribute, not a field


def test_fields_call_without_a_spec_passes_the_fields_as_inputs():
    class Echo(Operator):
        def forward(self, *, inputs):
            return {"answer": inputs["query"]}

    assert Echo()(query="Northern lights?") == {"answer": "Northern lights?"}


def test_specification_fields_checks_and_rendering():
    spec = Specification(input_model=Question, output_model=Reply)
    assert spec.structured_output is Reply and spec.output_model is Reply
    assert spec.render_prompt(inputs={"query": "Why?"}) == "Why?"  # required fields, one per line
    assert spec.validate_inputs(inputs={"query": "q"}) == Question(query="q")
    assert spec.validate_output(output={"answer": "a"}) == Reply(answer="a")
    assert Specification().validate_output(output={"x": 1}) == {"x": 1}
    assert spec.model_json_schema()["required"] == ["query"]
    with pytest.raises(ValueError, match=r"no placeholder .*query"):
        Specification(input_model=Question, prompt_template="Answer: {style}")
    Specification(input_model=Question, prompt_template="x", check_all_placeholders=False)
    with pytest.raises(ValueError, match="no input for placeholder 'topic'"):
        Specification(prompt_template="{topic}").render_prompt(inputs={"query": "q"})
    with pytest.raises(ValueError, match="prompt_template or an input_model"):
        Specification().render_prompt(inputs={})
    with pytest.raises(TypeError, match="unknown field"):
        Specification(input_models=Question)
    with pytest.raises(TypeError, match="model_validate"):
        Specification(input_model=dict)
    with pytest.raises(TypeError, match="must be a Specification"):
        type("Bad", (Operator,), {"specification": object(), "forward": lambda self, x: x})


def test_ember_model_reads_like_a_dict():
    reply = Reply(answer="Paris")
    assert reply["answer"] == "Paris" and reply.get("confidence", 0.5) == 0.5
    assert "answer" in reply and "x" not in reply
    assert dict(reply) == reply.to_dict() == reply.as_dict() == {"answer": "Paris"}
    assert list(reply.items()) == [("answer", "Paris")] and reply.values() == ["Paris"]
    assert reply.to_json() == '{"answer":"Paris"}'
    with pytest.raises(KeyError):
        reply["confidence"]
    assert issubclass(EmberModel, BaseModel)


class Budget(BaseModel):
    temperature: float = 0.7
    max_tokens: int = 100


class BudgetSpec(Specification):
    """pyember's prompt-specification guide: extra checks in an overridden
    ``validate_inputs`` (and ``validate_output``) beside the model's own."""

    input_model = Budget

    def validate_inputs(self, *, inputs):
        validated = super().validate_inputs(inputs=inputs)
        if validated.temperature > 0.9 and validated.max_tokens < 50:
            raise ValueError("High temperature requires higher max_tokens")
        return validated

    def validate_output(self, *, output):
        if not output["settings"]:
            raise ValueError("empty settings")
        return output


class Settings(Operator):
    specification = BudgetSpec()

    def forward(self, *, inputs):
        return {"settings": f"{inputs.temperature}/{inputs.max_tokens}" * (inputs.max_tokens > 1)}


def test_an_operator_validates_through_its_specification_s_own_methods():
    """pyember's Operator called ``specification.validate_inputs``/``validate_output``, so
    checks written in an override ran on every call; ours validated against the models
    only, so the operator accepted what the override refuses."""
    operator, jitted = Settings(), jit(Settings())
    for call in (operator, jitted):
        assert call(inputs={"temperature": 0.5}) == {"settings": "0.5/100"}
        assert call(temperature=0.95, max_tokens=60) == {"settings": "0.95/60"}
        with pytest.raises(ValueError, match="requires higher max_tokens"):
            call(inputs={"temperature": 0.95, "max_tokens": 10})
        with pytest.raises(ValueError, match="empty settings"):
            call(inputs={"max_tokens": 1})
        with pytest.raises(ValidationError):
            call(inputs={"temperature": "hot"})
    assert BudgetSpec().model_json_schema(by_alias=True)["properties"].keys() == {
        "temperature", "max_tokens"}


class Cited(EmberModel):
    answer: str
    sources: list[str]


class CitedSpec(Specification):
    input_model = Question
    structured_output = Cited
    prompt_template = "Q: {query}"


class CitingAnswerer(Operator):
    """pyember's prompt-specification guide: forward ends with
    ``return self.specification.validate_output(output=response_data)``."""

    specification = CitedSpec()

    def forward(self, *, inputs):
        from ember.api import models

        reply = models("simulated/cite", self.specification.render_prompt(inputs=inputs),
                       latency=0.15)
        return self.specification.validate_output(output={"answer": reply.text,
                                                          "sources": [reply.model_id]})


def test_specification_validates_op_results_under_jit_as_plain_python():
    """Under ``@jit`` ``validate_output`` got the replies as pending values and pydantic
    refused them (``ValidationError ... input_type=Lazy``); it now validates them once
    they exist, and a loop of such calls still overlaps."""
    import time

    answerer = CitingAnswerer()

    def ask_all(queries):
        return [answerer(query=query) for query in queries]

    queries = ["Why?", "How?", "When?"]
    plain = ask_all(queries)
    started = time.perf_counter()
    assert jit(ask_all)(queries) == plain
    assert time.perf_counter() - started < 0.4  # 3 x 150 ms replies, overlapped
    assert plain[0].sources == ["simulated/cite"]
    with pytest.raises(ValidationError, match="sources"):
        jit(lambda: CitedSpec().validate_output(output={"answer": "a", "sources": "x"}))()
