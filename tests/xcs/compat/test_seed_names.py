"""Every compatibility name from the seed imports and behaves as the seed shows."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import ember.xcs
from ember.operators import Operator
from ember.xcs import ConfigError, autograph, execute, execution_options, get_jit_stats, op


@op
def shout(text):
    return text.upper()


class Shouter(Operator):
    def forward(self, *, inputs):
        return {"result": shout(inputs["query"])}


def test_disable_structural_jit_runs_everything_plain():
    from ember.xcs import jit, structural_jit
    from ember.xcs.tracer.structural_jit import disable_structural_jit

    Jitted = structural_jit(execution_strategy="auto", parallel_threshold=3)(Shouter)
    operator = Jitted()
    plain_fn = jit(lambda q: shout(q))
    with disable_structural_jit():
        assert operator(inputs={"query": "a"}) == {"result": "A"}
        with disable_structural_jit():
            assert plain_fn("b") == "B"
        assert plain_fn("c") == "C"
    assert get_jit_stats(plain_fn)["calls"] == 0
    assert plain_fn("d") == "D"
    assert get_jit_stats(plain_fn)["calls"] == 1


def test_disable_is_per_thread():
    import threading

    from ember.xcs import jit
    from ember.xcs.tracer.structural_jit import disable_structural_jit

    fn = jit(lambda q: shout(q))
    with disable_structural_jit():
        thread = threading.Thread(target=fn, args=("x",))
        thread.start()
        thread.join()
    assert get_jit_stats(fn)["calls"] == 1


def test_xcsapi_jit_with_jitoptions_on_an_operator_class():
    from ember.xcs.api.core import XCSAPI
    from ember.xcs.api.types import JITOptions

    xcs = XCSAPI()

    @xcs.jit(options=JITOptions(sample_input={"query": "test"}, force_trace=False,
                                recursive=True))
    class OptimizedOperator(Operator):
        def forward(self, *, inputs):
            return {"a": shout(inputs["query"]), "b": shout(inputs["query"] + "!")}

    assert OptimizedOperator()(inputs={"query": "hi"}) == {"a": "HI", "b": "HI!"}
    assert get_jit_stats(OptimizedOperator)["calls"] == 1
    assert xcs.autograph is autograph and xcs.execute is execute
    assert xcs.execution_options is execution_options


def test_xcsapi_and_jitoptions_validate():
    from ember.xcs import Config
    from ember.xcs.api.core import XCSAPI
    from ember.xcs.api.types import JITOptions

    with pytest.raises(ConfigError, match="sample_input"):
        JITOptions(sample_input="not a mapping")
    with pytest.raises(ConfigError, match="force_trace"):
        JITOptions(force_trace="yes")
    with pytest.raises(ConfigError, match="JITOptions"):
        XCSAPI().jit(options={"force_trace": True})
    with pytest.raises(ConfigError, match="either"):
        XCSAPI().jit(options=JITOptions(), recursive=False)
    fn = XCSAPI().jit(lambda q: shout(q), options=JITOptions(config=Config(max_workers=2)))
    assert fn.config.max_workers == 2 and fn("z") == "Z"
    assert XCSAPI().jit(lambda q: shout(q), force_trace=True)("y") == "Y"


def test_xcs_execution_options_is_the_execution_options_type():
    from ember.xcs.api.types import XCSExecutionOptions

    options = XCSExecutionOptions(max_workers=4, scheduler="parallel")
    assert options == execution_options(max_workers=4, scheduler="parallel")
    with autograph() as graph:
        y = shout("q")  # noqa: F841 - read back by name
    assert execute(graph, options=options) == {"y": "Q"}


def test_transformations_module_resolves_from_transforms():
    import ember.xcs.transformations as transformations
    import ember.xcs.transforms as transforms

    assert transformations.__all__
    for name in transformations.__all__:
        assert getattr(transformations, name) is getattr(transforms, name)
    with pytest.raises(AttributeError):
        transformations.nothing


_ORDERS = {
    "function first": """
        from ember.xcs import jit
        import ember.xcs.jit
        from ember.xcs.jit import jit as module_jit
    """,
    "module first": """
        import ember.xcs.jit
        from ember.xcs.jit import jit as module_jit
        from ember.xcs import jit
    """,
    "from-import of the module first": """
        from ember.xcs.jit import jit as module_jit
        from ember.xcs import jit
    """,
    "the CLI first": """
        import ember.xcs.cli
        import ember.xcs.jit
        from ember.xcs import jit
        from ember.xcs.jit import jit as module_jit
    """,
    "every compatibility path first": """
        import ember.xcs.api.core, ember.xcs.api.types, ember.xcs.tracer.structural_jit
        import ember.xcs.transformations, ember.api.xcs, ember.api.decorators, ember.xcs.jit
        from ember.xcs import jit
        from ember.xcs.jit import jit as module_jit
    """,
}


@pytest.mark.parametrize("order", sorted(_ORDERS))
def test_jit_module_and_function_in_any_import_order(order):
    script = textwrap.dedent(_ORDERS[order]) + textwrap.dedent("""
        from ember.xcs import Config, op
        from ember.xcs.api.jit import jit as real_jit

        @op
        def inc(x):
            return x + 1

        @jit
        def a(x):
            return inc(x)

        @jit(config=Config(max_workers=2))
        def b(x):
            return inc(inc(x))

        @module_jit
        def c(x):
            return inc(x)

        import sys
        import types

        import ember.xcs

        assert module_jit is real_jit and jit is real_jit and ember.xcs.jit is real_jit
        assert isinstance(jit, types.FunctionType)
        assert (a(1), b(1), c(1)) == (2, 3, 2), (a(1), b(1), c(1))
        assert type(a).__name__ == "JitFunction" and b.config.max_workers == 2
        module = sys.modules["ember.xcs.jit"]
        assert isinstance(module, types.ModuleType) and module.JitFunction is type(a)
        assert type(module) is types.ModuleType  # an ordinary module, not a callable one
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_seed_import_lines():
    from ember.xcs import autograph as a
    from ember.xcs import execute as e
    from ember.xcs import execution_options as o
    from ember.xcs import jit, structural_jit  # noqa: F401

    assert (a, e, o) == (ember.xcs.autograph, ember.xcs.execute, ember.xcs.execution_options)
    for name in ("autograph", "execute", "execution_options", "placeholder",
                 "ExecutionOptions", "register_hook", "unregister_hook"):
        assert name in ember.xcs.__all__


def test_jitoptions_fields_take_effect_or_are_refused():
    from ember.xcs.api.core import XCSAPI
    from ember.xcs.api.types import JITOptions

    with pytest.raises(ConfigError, match="recursive=False"):
        JITOptions(recursive=False)
    xcs = XCSAPI()

    @xcs.jit(options=JITOptions(sample_input={"a": 1, "b": 2}, force_trace=True))
    def add(a, b):
        return a + b

    assert add.sample_input == {"a": 1, "b": 2} and add(**add.sample_input) == 3
    with pytest.raises(ConfigError, match="does not fit"):
        xcs.jit(lambda a: a, options=JITOptions(sample_input={"zzz": 1}))


_OLD_PATHS = ("ember.xcs.api.core", "ember.xcs.api.types", "ember.xcs.tracer.structural_jit",
              "ember.xcs.jit", "ember.xcs.transformations", "ember.xcs.tracer.tracer_decorator")


@pytest.mark.parametrize("path", _OLD_PATHS)
def test_every_old_path_is_a_thin_re_export(path):
    import ast
    import importlib
    import inspect

    import ember.xcs.compat as compat
    import ember.xcs.transforms as transforms

    implementation = importlib.import_module("ember.xcs.api.jit")  # the module, not jit
    module = importlib.import_module(path)
    statements = ast.parse(inspect.getsource(module)).body
    for statement in statements[1:]:  # after the docstring: imports and __all__ only
        assert isinstance(statement, ast.ImportFrom | ast.Assign), ast.dump(statement)
        if isinstance(statement, ast.Assign):
            assert [target.id for target in statement.targets] == ["__all__"]
    assert module.__all__
    for name in module.__all__:
        home = next((place for place in (compat, ember.xcs, transforms)
                     if name in place.__all__), implementation)
        assert getattr(module, name) is getattr(home, name), (path, name)


def test_xcsapi_offers_the_transforms_themselves():
    from ember.xcs.compat import XCSAPI

    xcs = XCSAPI()
    for name in ("vmap", "pmap", "scan", "grad", "mesh_sharded"):
        assert getattr(xcs, name) is getattr(ember.xcs, name)
    with pytest.raises(AttributeError):
        xcs.nothing  # noqa: B018 - the attribute access is what is tested


def test_pyember_jit_options_from_ember_api_xcs():
    """pyember's XCS docs write ``from ember.api.xcs import jit, JITOptions,
    XCSExecutionOptions`` and ``@jit(options=JITOptions(sample_input=..., cache_size=100))``:
    the import failed and ``jit`` refused ``options=``."""
    from ember.api.xcs import JITOptions, XCSExecutionOptions, jit
    from ember.xcs import Config

    calls = []

    @op
    def counted(text):
        calls.append(text)
        return text.upper()

    @jit(options=JITOptions(sample_input={"query": "example"}, cache_size=100))
    class Optimized(Operator):
        def forward(self, *, inputs):
            return {"a": counted(inputs["query"]), "b": counted(inputs["query"] + "!")}

    with XCSExecutionOptions(scheduler="parallel", max_workers=4, timeout=30.0):
        assert Optimized()(inputs={"query": "hi"}) == {"a": "HI", "b": "HI!"}
    assert sorted(calls) == ["hi", "hi!"]  # the sample input never ran
    assert Optimized()(inputs={"query": "yo"}) == {"a": "YO", "b": "YO!"}

    @jit(options=None)
    def plain(text):
        return counted(text)

    assert plain("z") == "Z" and get_jit_stats(plain)["calls"] == 1
    with_config = jit(lambda t: counted(t), options=JITOptions(), config=Config(max_workers=2))
    assert with_config("w") == "W"
    with pytest.raises(ConfigError, match="needs a JITOptions"):
        jit(lambda: 1, options={"cache_size": 100})
    with pytest.raises(ConfigError, match="given twice"):
        jit(lambda: 1, options=JITOptions(config=Config()), config=Config())
    with pytest.raises(ConfigError, match="cache_size"):
        JITOptions(cache_size=0)


def test_pyember_example_import_paths():
    """pyember's examples import ``JITOptions`` from ``ember.xcs.tracer.tracer_decorator``
    and ``ModelNotFoundError``/``ProviderAPIError`` from ``ember._internal.exceptions``;
    both paths were missing (ModuleNotFoundError)."""
    import pydantic

    from ember._internal import exceptions as internal
    from ember._internal.exceptions import ModelNotFoundError, ProviderAPIError
    from ember.api import exceptions, models
    from ember.xcs.tracer.tracer_decorator import JITOptions, jit

    assert (ModelNotFoundError, ProviderAPIError) == (exceptions.ModelNotFoundError,
                                                      exceptions.ProviderAPIError)
    assert internal.ValidationError is pydantic.ValidationError
    assert internal.ModelProviderError is exceptions.MissingAPIKeyError  # pyember: no key
    with pytest.raises(AttributeError, match="OperatorError is not provided"):
        internal.OperatorError  # noqa: B018

    @jit(options=JITOptions(sample_input={"text": "x"}))
    def fallback(text):
        try:
            return models("nope/m", text)
        except (ModelNotFoundError, ProviderAPIError):
            return shout(text)

    assert fallback("hi") == "HI"
