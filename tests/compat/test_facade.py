"""pyember's ``ember.api`` facade: the names its README and examples import."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
import types

import pytest


def test_models_is_the_callable_facade():
    from ember.api import models

    reply = models("simulated/demo", "hi")
    assert reply.text.startswith("[simulated]") and reply.model_id == "simulated/demo"
    from ember.api.models import Response

    assert isinstance(reply, Response)


def test_readme_import_lines():
    from ember.api import (  # noqa: F401
        exceptions,
        mark_hybrid,
        mark_orchestration,
        mark_pytree_safe,
        mark_tensor,
        models,
        non,
        op,
        operators,
        xcs,
    )

    assert isinstance(operators, types.ModuleType) and isinstance(non, types.ModuleType)
    assert operators.Operator and non.build_graph and xcs.jit and xcs.vmap
    assert exceptions.EmberError is importlib.import_module("ember.errors").EmberError
    assert issubclass(xcs.XCSError, exceptions.EmberError)
    for marker in (mark_orchestration, mark_tensor, mark_hybrid):
        assert callable(marker)
    assert callable(mark_pytree_safe(True))


def test_from_ember_import_xcs():
    from ember import xcs

    @xcs.jit
    def double(x):
        return 2 * x

    assert double(4) == 8
    assert xcs.vmap(lambda s: s.upper())(["a", "b"]) == ["A", "B"]


def test_every_name_in_all_resolves():
    import ember.api
    import ember.api.operators

    for module in (ember.api, ember.api.operators, ember.api.non, ember.api.exceptions):
        for name in module.__all__:
            assert getattr(module, name) is not None, (module.__name__, name)


def test_mark_hybrid_and_pytree_safe_are_hints_that_keep_the_function():
    from ember.api import mark_hybrid, mark_pytree_safe

    def fn(x):
        return x + 1

    assert mark_hybrid(fn) is fn and fn(1) == 2
    assert fn._xcs_is_tensor is True and fn._xcs_is_orchestration is True  # pyember's marks
    assert mark_pytree_safe(False)(fn) is fn and fn._xcs_is_pytree_safe is False
    with pytest.raises(TypeError, match="bool"):
        mark_pytree_safe(fn)
    with pytest.raises(TypeError, match="callable"):
        mark_hybrid(3)


def test_exceptions_catch_what_models_raise():
    from ember.api import exceptions, models

    with pytest.raises(exceptions.ModelError):
        models("nonexistent/model", "hi")
    with pytest.raises(exceptions.EmberError):
        models("nonexistent/model", "hi")
    assert issubclass(exceptions.FrozenOperatorError, AttributeError)


def test_every_exported_error_is_an_ember_error_and_xcs_error_keeps_its_family():
    from ember.api import exceptions

    for name in exceptions.__all__:
        assert issubclass(getattr(exceptions, name), exceptions.EmberError), name
    # XCSError still catches the execution layer's errors and not the models layer's.
    for name in ("ConfigError", "GraphError", "TracingError", "UnparseableReplyError"):
        assert issubclass(getattr(exceptions, name), exceptions.XCSError), name
    for name in ("ModelError", "ModelNotFoundError", "ProviderAPIError", "InvalidParamsError"):
        assert not issubclass(getattr(exceptions, name), exceptions.XCSError), name


def _run(script: str) -> str:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_ember_api_does_not_import_jax():
    out = _run("""
        import sys
        import ember.api
        from ember.api import models, op, operators
        chain = operators.chain(op(str.strip), str.upper)
        assert chain("  a ") == "A"
        print("jax" in sys.modules)
    """)
    assert out == "False"


def test_ember_api_works_without_jax_installed():
    out = _run("""
        import importlib.abc, sys

        class HideJax(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name == "jax" or name.startswith("jax."):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, HideJax())
        import ember.api
        from ember.api import models, operators, xcs

        class Scale(operators.Operator):
            factor: float
            def forward(self, x):
                return x * self.factor

        assert Scale(factor=3.0)(2.0) == 6.0
        assert operators.Ensemble([str.upper, str.lower])("Ab") == ["AB", "ab"]
        assert xcs.jit(lambda x: x + 1)(1) == 2
        try:
            operators.LearnableRouter({"a": str.upper}, embed_dim=2, key=0)
        except ImportError as error:
            assert "ember-xcs[jax]" in str(error)
            print("ok")
    """)
    assert out == "ok"


def test_pyember_readme_top_level_imports() -> None:
    """pyember's README: `from ember import models` then call it; `Models`, `Operator`."""
    from ember import Models, Operator, models
    from ember.api import Models as api_models_catalog
    from ember.api import models as facade
    from ember.api.operators import Operator as api_operator
    from ember.models import Provider, RetryPolicy

    reply = models("simulated/demo", "Explain quantum computing in one sentence")
    assert reply == facade("simulated/demo", "Explain quantum computing in one sentence")
    assert models.instance("simulated/demo")("hi") == facade("simulated/demo", "hi")
    assert models.Provider is Provider and models.RetryPolicy is RetryPolicy  # its own names
    assert Models is api_models_catalog and Operator is api_operator
    with pytest.raises(AttributeError, match="module 'ember.models' has no attribute 'nope'"):
        models.nope  # noqa: B018
    with pytest.raises(ImportError, match="cannot import name 'Nope' from 'ember'"):
        exec("from ember import Nope")


def test_import_ember_then_pyember_attributes() -> None:
    """pyember's ``import ember`` then ``ember.models(...)``, ``@ember.op``,
    ``ember.model(...)``, ``ember.__version__``: each loads when first read, in a fresh
    interpreter (so no earlier import has loaded the submodule)."""
    out = _run("""
        import importlib.metadata, sys
        import ember
        loaded = sorted(m for m in ("ember.models", "ember.operators", "ember.non", "ember.api")
                        if m in sys.modules)
        assert loaded == [], loaded  # import ember stays cheap
        assert ember.models("simulated/demo", "hi").startswith("[simulated]")
        assert ember.operators.Ensemble is sys.modules["ember.operators"].Ensemble
        assert ember.non.build_graph(["2E@simulated/a", "1M"])("q").startswith("[simulated]")
        assert ember.xcs.jit and ember.api.models is sys.modules["ember.api"].models

        @ember.op
        def shout(text):
            return text.upper()

        assert isinstance(shout, ember.Operator) and shout("a") == "A"
        assert ember.model("simulated/demo", temperature=0.1)("hi").model_id == "simulated/demo"
        assert ember.__version__ == importlib.metadata.version("ember-xcs")
        try:
            ember.nope
        except AttributeError as error:
            print(error)
    """)
    assert out == "module 'ember' has no attribute 'nope'"


def test_pyember_operator_paths_and_ember_model() -> None:
    """pyember's README imports: ``from ember.api.operator import Operator, Specification``
    and ``from ember.api.models import EmberModel``."""
    from ember.api.models import EmberModel
    from ember.api.operator import EmberModel as operator_ember_model
    from ember.api.operator import Operator, Specification
    from ember.api.operators import Operator as api_operator
    from ember.operators.ember_model import EmberModel as home

    assert EmberModel is operator_ember_model is home and Operator is api_operator
    assert Specification is importlib.import_module("ember.operators").Specification
    with pytest.raises(ImportError, match="cannot import name 'Nope'"):
        exec("from ember.api.operator import Nope")


def test_pyember_v1_operators_import_gives_ember_model_and_field() -> None:
    """pyember v1's ``from ember.api.operators import Operator, EmberModel, Field`` (its
    module docstring), and ``Field`` from the singular ``ember.api.operator`` too."""
    import pydantic

    from ember.api.operator import EmberModel as singular_model
    from ember.api.operator import Field as singular_field
    from ember.api.operators import EmberModel, Field, Operator
    from ember.api.types import EmberModel as types_model

    assert EmberModel is singular_model is types_model and Field is singular_field
    assert Field is pydantic.Field and issubclass(Operator, object)

    class Question(EmberModel):
        question: str = Field(min_length=1, description="what to answer")

    assert Question(question="why?")["question"] == "why?"
    with pytest.raises(ImportError, match="cannot import name 'Nope'"):
        exec("from ember.api.operators import Nope")


def test_ember_model_is_a_read_only_mapping_of_its_fields_as_pyember_s() -> None:
    """pyember's ``EmberModel`` is a ``Mapping``: iterating gives the field names, ``len``
    counts them, it equals a dict of its fields (what tests of operator outputs assert),
    and ``from_dict``/``from_json``/``as_json`` exist. pydantic's ``BaseModel`` gave
    ``(name, value)`` pairs, had no ``len``, and never equalled a dict."""
    from ember.api.operators import EmberModel, Operator
    from ember.xcs import jit

    class Verdict(EmberModel):
        answer: str
        confidence: float = 0.0

    verdict = Verdict(answer="Paris", confidence=0.9)
    assert list(verdict) == ["answer", "confidence"] and len(verdict) == 2
    assert verdict == {"answer": "Paris", "confidence": 0.9}
    assert verdict != {"answer": "Lyon", "confidence": 0.9}
    assert {key: verdict[key] for key in verdict} == dict(verdict) == verdict.to_dict()
    assert Verdict.from_dict({"answer": "Rome"}) == Verdict(answer="Rome")
    assert Verdict.from_json(verdict.as_json()) == verdict
    assert verdict.as_json() == verdict.to_json()

    class Answerer(Operator):
        def forward(self, *, inputs):
            return Verdict(answer=inputs["query"].title(), confidence=1.0)

    plain = Answerer()(inputs={"query": "paris"})
    assert jit(Answerer())(inputs={"query": "paris"}) == plain == {"answer": "Paris",
                                                                    "confidence": 1.0}


def test_ember_model_from_dict_and_json_take_op_results_under_jit() -> None:
    """``EmberModel.from_dict``/``from_json`` given a reply under ``@jit`` handed pydantic
    the pending value, which it refused (``input_type=Lazy``); plain Python validated."""
    import json

    from ember.api import models
    from ember.api.operators import EmberModel
    from ember.xcs import jit

    class Reply(EmberModel):
        answer: str

    def parse(question):
        text = models("simulated/parse", question).text
        return Reply.from_dict({"answer": text}), Reply.from_json(json.dumps({"answer": text}))

    assert jit(parse)("Why?") == parse("Why?")


def test_pyember_exception_names_catch_what_is_raised_or_say_what_to_catch() -> None:
    import pydantic

    from ember.api import exceptions
    from ember.api.operators import Operator
    from ember.api.types import EmberModel

    class Question(EmberModel):
        query: str

    class Ask(Operator):
        input_spec = Question

        def forward(self, *, inputs):
            return inputs.query

    assert exceptions.ValidationError is pydantic.ValidationError
    with pytest.raises(exceptions.ValidationError):
        Ask()(inputs={"query": 3})
    for name in ("OperatorError", "InvalidPromptError", "DataError", "EmberException"):
        with pytest.raises(AttributeError, match=f"pyember's {name} is not provided.*EmberError"):
            getattr(exceptions, name)
    with pytest.raises(AttributeError, match="has no attribute 'Nope'$"):
        exceptions.Nope  # noqa: B018


def test_importing_a_pyember_exception_we_lack_names_what_to_catch_instead():
    """`from ember.api.exceptions import OperatorError` (pyember's examples): Python
    would make a bare "cannot import name" of an AttributeError; the ImportError says
    why and what to use, and `hasattr`/`getattr` with a default still say no."""
    from ember.api import exceptions

    with pytest.raises(ImportError, match="cannot import name 'OperatorError'.*"
                                          "pyember's OperatorError is not provided.*EmberError"):
        from ember.api.exceptions import OperatorError  # noqa: F401
    with pytest.raises(ImportError, match="pyember's DataError is not provided"):
        from ember.api.exceptions import DataError, EmberError  # noqa: F401
    assert not hasattr(exceptions, "OperatorError")
    assert getattr(exceptions, "DataError", None) is None
    with pytest.raises(ImportError, match="^cannot import name 'Nope'"):
        from ember.api.exceptions import Nope  # noqa: F401


def test_ember_api_does_not_import_pydantic_until_ember_model_is_asked_for():
    out = _run("""
        import sys
        import ember.api
        from ember.api.operator import Operator, Specification
        before = "pydantic" in sys.modules
        from ember.api.models import EmberModel
        print(before, "pydantic" in sys.modules)
    """)
    assert out == "False True"


def test_pyember_module_paths_from_its_examples_and_docstrings() -> None:
    """``from ember.operators.common import ModelText, Ensemble, Chain`` (its
    simple_ensemble example), ``from ember.api import model, operator, types``."""
    import ember.api
    import ember.operators
    from ember.api import model, operator, operators, types
    from ember.operators import common

    for name in common.__all__:
        assert getattr(common, name) is getattr(ember.operators, name), name
    experts = common.Ensemble([common.ModelText("simulated/a"), common.ModelText("simulated/b")])
    assert common.Chain([experts, " | ".join])("Hi").count("[simulated]") == 2
    bound = model("simulated/demo", temperature=0.2)
    assert bound("hi").model_id == "simulated/demo" and dict(bound.defaults) == {"temperature": 0.2}
    assert operator.Operator is operators.Operator and operator.__all__ == operators.__all__
    assert ember.api.types is types and types.EmberModel is operator.EmberModel
    assert {"EmberModel", "Field", "field_validator", "model_validator"} <= set(types.__all__)


def test_an_operator_with_call_instead_of_forward_says_to_rename_it() -> None:
    from pydantic import BaseModel

    from ember.api.operators import Operator

    class CodeInput(BaseModel):
        code: str

    class Checker(Operator):
        input_spec = CodeInput

        def call(self, input: CodeInput) -> str:
            return input.code

    with pytest.raises(NotImplementedError,
                       match=r"Checker must define forward.*It defines call\(\): rename it"):
        Checker()({"code": "x = 1"})
