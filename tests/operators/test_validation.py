"""``input_spec`` / ``output_spec`` of Operators: class and instance level."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from ember.operators import Operator
from ember.xcs import jit


class Question(BaseModel):
    text: str


class Answer(BaseModel):
    text: str
    score: float = 0.0


class Named(Operator):
    """Takes its specs in ``__init__``, as pyember operators often did."""

    def __init__(self, input_spec=None, output_spec=None):
        if input_spec is not None:
            self.input_spec = input_spec
        if output_spec is not None:
            self.output_spec = output_spec

    def forward(self, question):
        return {"text": type(question).__name__}


def test_an_input_spec_set_on_the_instance_validates_the_input():
    assert Named(input_spec=Question)({"text": "hi"}) == {"text": "Question"}
    assert Named()({"text": "hi"}) == {"text": "dict"}  # other instances are unaffected
    with pytest.raises(ValidationError):
        Named(input_spec=Question)({"words": "hi"})
    assert jit(Named(input_spec=Question))({"text": "hi"}) == {"text": "Question"}


def test_an_output_spec_set_on_the_instance_validates_the_result():
    reply = Named(output_spec=Answer)("q")
    assert isinstance(reply, Answer) and reply.text == "str"


def test_the_instance_spec_wins_over_the_class_spec():
    class Strict(Named):
        input_spec = Answer

    assert Strict()({"text": "a", "score": 1}) == {"text": "Answer"}
    assert Strict(input_spec=Question)({"text": "a"}) == {"text": "Question"}

    class Loose(Strict):
        def __init__(self):
            self.input_spec = None  # switches the class's spec off for this instance

    assert Loose()({"text": "a"}) == {"text": "dict"}


def test_a_bad_instance_spec_is_a_clear_type_error():
    with pytest.raises(TypeError, match="input_spec must be a class with model_validate"):
        Named(input_spec=dict)({"text": "hi"})


# -- under @jit: validation of op results, in parallel -------------------------------


class Label(BaseModel):
    label: str


def _slow_label(text: str) -> str:
    import time

    time.sleep(0.05)
    return f"ans:{text}"


def test_output_spec_validates_a_dict_of_op_results_under_jit() -> None:
    """A str field filled from an op result is validated on the value, not the proxy."""
    from ember.xcs import op

    label = op(_slow_label)

    class Tagger(Operator):
        output_spec = Label

        def forward(self, text: str) -> dict[str, str]:
            return {"label": label(text)}

    tagger = Tagger()

    def tag(texts: list[str]) -> list[Label]:
        return [tagger(text) for text in texts]

    fast = jit(tag)
    for texts in (["x", "y"], ["z"]):
        assert fast(texts) == tag(texts) == [Label(label=f"ans:{t}") for t in texts]


def test_output_spec_keeps_operator_calls_parallel_under_jit() -> None:
    import time

    from ember.xcs import get_jit_stats, op

    label = op(_slow_label)

    class Typed(Operator):
        output_spec = Label

        def forward(self, text: str) -> Label:
            return Label(label=label(text))

    typed = Typed()
    fast = jit(lambda texts: [typed(text) for text in texts])
    texts = [f"q{i}" for i in range(8)]
    fast(texts)
    start = time.perf_counter()
    assert fast(texts) == [Label(label=f"ans:{t}") for t in texts]
    assert time.perf_counter() - start < 0.3  # 8 x 50 ms one after another: 0.4 s
    assert get_jit_stats(fast)["max_parallelism"] == 8


def test_output_spec_failure_under_jit_is_the_plain_validation_error() -> None:
    from ember.xcs import op

    @op
    def number(text: str) -> int:
        return len(text)

    class Wrong(Operator):
        output_spec = Label

        def forward(self, text: str) -> dict[str, int]:
            return {"label": number(text)}

    wrong = Wrong()
    with pytest.raises(ValidationError) as plain:
        wrong("abc")
    with pytest.raises(ValidationError) as jitted:
        jit(lambda text: wrong(text))("abc")
    assert str(jitted.value) == str(plain.value)


class OldStyle(Operator):
    """pyember v1's ``forward(self, inputs)``, called ``op(field=...)`` as it allowed."""

    input_spec = Question

    def forward(self, inputs):
        return f"{type(inputs).__name__}:{inputs.text}"


def test_fields_by_keyword_fill_a_forward_taking_only_inputs() -> None:
    class Loose(Operator):
        def forward(self, inputs):
            return inputs

    class Leaf(OldStyle):
        leaf = True

    for operator in (OldStyle(), Leaf(), jit(OldStyle()), jit(OldStyle)()):
        assert operator(text="hi") == "Question:hi"
        assert operator(inputs={"text": "hi"}) == operator({"text": "hi"}) == "Question:hi"
        with pytest.raises(ValidationError):
            operator(txt="hi")
    assert Loose()(a=1, b=2) == {"a": 1, "b": 2}

    class JittedForward(Operator):
        @jit
        def forward(self, inputs):
            return inputs

    assert JittedForward()(a=1) == {"a": 1}
    with pytest.raises(TypeError, match="unexpected keyword argument 'x'"):
        Named()(x=1)  # a parameter of another name keeps Python's error


class Review(BaseModel):
    is_valid: bool
    suggestions: list[str]


def test_output_specs_with_list_fields_keep_calls_concurrent():
    """pyember's operators return dicts that the output spec validates, often with a
    model's reply inside a list (``{"suggestions": [reply]}``); validating that with
    ``model_validate`` made the glue wait for each reply, so a jitted loop of such
    calls ran one at a time. Results and errors stay those of plain Python."""
    import time

    from ember.xcs import op

    @op
    def reply(code):
        time.sleep(0.15)
        return f"looks fine: {code}"

    class Reviewer(Operator):
        output_spec = Review

        def forward(self, code):
            return {"is_valid": "=" in code, "suggestions": [reply(code)]}

    reviewer = Reviewer()

    def review_all(codes):
        return [reviewer(code) for code in codes]

    codes = ["x = 1", "y", "z = 2", "w"]
    plain = review_all(codes)
    started = time.perf_counter()
    assert jit(review_all)(codes) == plain
    assert time.perf_counter() - started < 0.45  # 4 x 150 ms replies, overlapped
    assert plain[0] == Review(is_valid=True, suggestions=["looks fine: x = 1"])

    class Broken(Reviewer):
        def forward(self, code):
            return {"is_valid": "maybe", "suggestions": [reply(code)]}

    for call in (Broken(), jit(Broken())):
        with pytest.raises(ValidationError, match="is_valid"):
            call("x")


def test_a_root_model_output_spec_validates_the_dict_itself():
    """Only pydantic's own ``BaseModel.__init__`` validates ``Model(**fields)`` as
    ``model_validate(fields)``; a ``RootModel`` takes a ``root`` key as its root, so a
    dict result is validated with ``model_validate`` there."""
    from pydantic import RootModel

    class Table(RootModel[dict]):
        pass

    class Tabler(Operator):
        output_spec = Table

        def forward(self, key):
            return {key: 1}

    for call in (Tabler(), jit(Tabler())):
        assert call("root").root == {"root": 1} and call("a").root == {"a": 1}
