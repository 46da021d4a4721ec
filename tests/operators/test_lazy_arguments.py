"""A user's operator given an op result under ``@jit``: the model calls chain through
it as through a function, with no wait in the glue (values as in plain Python)."""

from pydantic import BaseModel

from ember.api.models import models
from ember.operators import Ensemble, Judge, Operator
from ember.xcs import get_jit_stats, jit


class Summarize(Operator):
    def __init__(self, model="simulated/sum", style="brief"):
        self.model = model
        self.style = style

    def forward(self, text):
        return models(self.model, f"Summarize ({self.style}): {text}", latency=0.02)


class Question(BaseModel):
    question: str


class Answer(BaseModel):
    answer: str


class Typed(Operator):
    def forward(self, q: Question) -> Answer:
        return Answer(answer=models("simulated/typed", q.question, latency=0.02))


class Shout(Operator):
    leaf = True

    def forward(self, text: str) -> str:
        return text.upper()


class Merge(Operator):
    def __init__(self):
        self.brief = Summarize()
        self.long = Summarize(model="simulated/other", style="long")
        self.merge = Summarize(model="simulated/merge")

    def forward(self, text):
        return self.merge(self.brief(text) + "\n" + self.long(text))


def _draft(doc):
    return models("simulated/draft", doc, latency=0.02)


def over_documents(docs):
    summarize, typed, shout, merge = Summarize(), Typed(), Shout(), Merge()
    return [(summarize(_draft(d)), typed(Question(question=_draft(d))), shout(_draft(d)),
             merge(d)) for d in docs]


def test_operators_given_op_results_keep_the_calls_concurrent():
    docs = [f"document {i}" for i in range(4)]
    jitted = jit(over_documents)
    for batch in (docs, docs[1:] + ["another"]):
        assert jitted(batch) == over_documents(batch)
        stats = get_jit_stats(jitted)
        assert stats["barriers"] == []  # was: "call of Summarize at ...", one per document
    assert stats["max_parallelism"] >= 4 * 3


class NoSource(Operator):
    pass


exec("def forward(self, text):\n    return type(text).__name__\n", globals(), ns := {})
NoSource.forward = ns["forward"]


def test_an_operator_whose_forward_has_no_source_gets_values():
    @jit
    def kind(doc):
        return NoSource()(_draft(doc))

    assert kind("x") == NoSource()(_draft("x")) == "Response"


class Panel(Ensemble):
    def __init__(self, size):
        super().__init__([f"simulated/panel-{i}" for i in range(size)])


class StrictJudge(Judge):
    pass


def test_subclasses_of_the_blocks_given_op_results_keep_the_calls_concurrent():
    panel, judge = Panel(2), StrictJudge("simulated/judge")

    def best(docs):
        return [judge(d, panel(_draft(d))) for d in docs]

    jitted = jit(best)
    assert jitted(["a", "b", "c"]) == best(["a", "b", "c"])
    assert get_jit_stats(jitted)["barriers"] == []  # was: "call of Panel at ..."


class CheckedJudge(Judge):
    """Overrides a method Ember's ``Judge.forward`` calls plainly; it reads the type."""

    def decide(self, question, candidates):
        kind = type(question).__name__
        return super().decide(question, [f"{c} ({kind})" for c in candidates])


class Run(Operator):
    """Overrides ``Operator._run``, which ``Operator.__call__`` calls plainly."""

    def _run(self, text):
        return type(text).__name__ + ":" + super()._run(text)

    def forward(self, text):
        return text.upper()


def test_a_subclass_overriding_a_method_ember_calls_plainly_gets_values():
    def pick(doc):
        return CheckedJudge("simulated/judge")(_draft(doc), ["a", "b"]), Run()(_draft(doc))

    jitted = jit(pick)
    for doc in ("x", "y"):
        assert jitted(doc) == pick(doc)  # was 'a (Lazy)', 'Lazy:...'


class Request(BaseModel):
    topic: str
    words: int = 50


class Brief(Operator):
    input_spec = Request  # several parameters: the bound arguments are validated as one

    def forward(self, topic, words):
        return f"{topic} in {words} words"


def test_an_input_spec_over_several_parameters_validates_op_results_as_values():
    def brief(doc):
        return Brief()(_draft(doc).text, 20)

    jitted = jit(brief)
    for doc in ("x", "y"):
        assert jitted(doc) == brief(doc)  # was ValidationError ... input_type=Lazy
