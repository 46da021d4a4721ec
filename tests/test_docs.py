"""The documentation site builds cleanly and every Python example in it runs.

Examples are the ```python blocks of the pages listed in ``EXECUTED``. The blocks of
one page run in order in one namespace (a block may use names from earlier blocks).
Each block is compiled with the Markdown file as its filename and its real line
numbers, so a failure, a barrier or a learned barrier points at the page and line.
A block preceded by ``<!-- no-test -->`` is not run; that marker is only for code that
cannot run offline (real API keys, real servers).
"""

from __future__ import annotations

import linecache
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ember.models.registry import default_registry

ROOT = Path(__file__).resolve().parent.parent
EXECUTED = (
    "docs/index.md",
    "docs/getting-started.md",
    "docs/semantics.md",
    "docs/api.md",
    "docs/performance.md",
    "docs/faq.md",
    "docs/transforms.md",
    "docs/graphs.md",
    "docs/hooks.md",
    "docs/caching.md",
    "docs/telemetry.md",
    "docs/interop.md",
    "docs/compat.md",
    "docs/models.md",
    "docs/operators.md",
    "README.md",
)
SKIP_MARKER = "<!-- no-test -->"
_FENCE = re.compile(r"^```(\S*)\s*$")
_MAIN_GUARD = re.compile(r"^if __name__ == .__main__.:", re.MULTILINE)


def python_blocks(text: str) -> list[tuple[int, str, bool]]:
    """The ```python blocks of a Markdown text: (first code line, code, skipped)."""
    blocks: list[tuple[int, str, bool]] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        start = index + 1
        end = start
        while end < len(lines) and lines[end].rstrip() != "```":
            end += 1
        if end == len(lines):
            raise AssertionError(f"unclosed code fence opened at line {index + 1}")
        if opening.group(1) == "python":
            previous = next(
                (lines[i].strip() for i in range(index - 1, -1, -1) if lines[i].strip()), ""
            )
            blocks.append((start + 1, "\n".join(lines[start:end]), previous == SKIP_MARKER))
        index = end + 1
    return blocks


def test_block_extraction_handles_markers_and_other_languages() -> None:
    text = "\n".join(
        [
            "# Title",
            "```python",
            "x = 1",
            "```",
            "```bash",
            "echo no",
            "```",
            SKIP_MARKER,
            "",
            "```python",
            "needs_a_key()",
            "```",
        ]
    )
    assert python_blocks(text) == [(3, "x = 1", False), (11, "needs_a_key()", True)]


def test_mkdocs_build_is_strict_clean(tmp_path: Path) -> None:
    probe = subprocess.run(
        [sys.executable, "-c", "import mkdocs, material"], capture_output=True, text=True
    )
    assert probe.returncode == 0, (
        "mkdocs and mkdocs-material must be installed to check the documentation: "
        f"pip install -e '.[docs]' ({probe.stderr.strip()})"
    )
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{result.stdout}{result.stderr}"
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "semantics" / "index.html").is_file()
    # The API reference is generated from the docstrings (mkdocstrings), not written by hand.
    reference = (tmp_path / "site" / "reference" / "xcs" / "index.html").read_text()
    from ember.xcs import Config, jit

    for docstring in (Config.__doc__, jit.__doc__):
        assert docstring is not None
        summary = docstring.strip().splitlines()[0]
        assert summary.split("``")[0].strip()[:40] in reference, summary
    for module in ("cache", "hooks", "timeline", "telemetry", "display", "interop"):
        page = (tmp_path / "site" / "reference" / module / "index.html").read_text()
        assert f"ember.xcs.{module}" in page


@pytest.fixture
def providers_as_they_were() -> Iterator[None]:
    """Pages register providers of their own (models.md: ``echo``, ``flaky``...) in the
    process's registry: it is put back after each page, so that tests run after this
    one in the same process (``Models`` constants, "registered providers" messages)
    see the providers they would see alone."""
    registry = default_registry()
    saved = registry.snapshot()
    yield
    registry.restore(saved)


@pytest.mark.parametrize("page", EXECUTED)
@pytest.mark.usefixtures("providers_as_they_were")
def test_python_examples_run(page: str) -> None:
    path = ROOT / page
    blocks = python_blocks(path.read_text(encoding="utf-8"))
    runnable = [block for block in blocks if not block[2]]
    assert runnable, f"{page} has no runnable ```python block"
    # A page whose examples guard code with `if __name__ == "__main__":` (starting Dask
    # workers) shows a script: run it as one, so that the guarded code runs too.
    as_script = any(_MAIN_GUARD.search(code) for _, code, _ in runnable)
    name = "__main__" if as_script else f"docs_example_{path.stem.replace('-', '_')}"
    namespace: dict[str, object] = {"__name__": name}
    for first_line, code, _ in runnable:
        # Pad with blank lines so that line numbers in tracebacks match the page, and
        # register the source like a notebook cell's: the tracer reads it to rewrite
        # jitted functions (the page itself is Markdown, not Python).
        source = "\n" * (first_line - 1) + code + "\n"
        filename = f"<{page} example at line {first_line}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        try:
            exec(compile(source, filename, "exec"), namespace)
        except BaseException as error:
            raise AssertionError(
                f"the example at {page}:{first_line} failed: {type(error).__name__}: {error}"
            ) from error


def test_readme_quickstart_prompts_hold_text_not_python_reprs() -> None:
    """The judge's prompt in the README quickstart is the drafts' text, never reprs."""
    from ember.api.models import models
    from ember.models import SimulatedProvider

    prompts: list[str] = []

    class Recording(SimulatedProvider):
        # Plain calls use complete; under @jit the engine awaits acomplete.
        def complete(self, provider_name, model, prompt, params, **options):  # type: ignore[no-untyped-def]
            prompts.append(prompt)
            return super().complete(provider_name, model, prompt, params, **options)

        async def acomplete(self, provider_name, model, prompt, params, **options):  # type: ignore[no-untyped-def]
            prompts.append(prompt)
            return await super().acomplete(provider_name, model, prompt, params, **options)

    first_line, code, _ = python_blocks((ROOT / "README.md").read_text(encoding="utf-8"))[0]
    models.register_provider("simulated", Recording())
    try:
        exec(compile("\n" * (first_line - 1) + code, "README.md", "exec"),
             {"__name__": "readme_quickstart"})
    finally:
        models.register_provider("simulated", SimulatedProvider)
    judge_prompt = prompts[-1]
    assert judge_prompt.startswith("Question: What is tidal power?\nPick the best answer:\n1. ")
    assert "Response(" not in judge_prompt and "model_id=" not in judge_prompt
    drafts = prompts[:-1]
    assert len(drafts) == 3 and all(p == "What is tidal power?" for p in drafts)


def _text_block_after(text: str, first_line: int) -> list[str]:
    """The lines of the first ```text block after line ``first_line`` of a Markdown text."""
    lines = text.splitlines()
    start = next((index for index in range(first_line, len(lines)) if lines[index] == "```text"),
                 None)
    assert start is not None, f"no ```text block after line {first_line}"
    end = lines.index("```", start + 1)
    return lines[start + 1:end]


def test_readme_quickstart_explain_output_is_what_the_readme_shows() -> None:
    """The README shows what ``explain(best_answer)`` prints for its quickstart and says
    what that shows (the f-strings lifted, no barrier): every line it shows is printed,
    in order, and a line commented ``# waits`` is exactly where a barrier is reported."""
    import contextlib
    import io

    from ember.xcs import get_jit_stats

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_line, code, _ = python_blocks(text)[0]
    source = "\n" * (first_line - 1) + code + "\n"
    filename = str(ROOT / "README.md")  # as a saved script: the tracer reads the source
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, object] = {"__name__": "readme_quickstart"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(source, filename, "exec"), namespace)
    output = iter(printed.getvalue().splitlines())
    shown = _text_block_after(text, first_line + code.count("\n"))
    missing = [line for line in shown if not any(line == out for out in output)]
    assert not missing, f"README.md shows explain lines it does not print: {missing}"
    assert "barriers (0):" in shown
    barriers = get_jit_stats(namespace["best_answer"])["barriers"]
    waits = [f"README.md:{number}" for number, line in enumerate(code.splitlines(), first_line)
             if line.rstrip().endswith("# waits")]
    assert sorted({barrier.rsplit(" at ", 1)[1].rsplit("/", 1)[-1] for barrier in barriers}) \
        == waits, barriers


def test_readme_test_command_prints_why_graphviz_tests_skip() -> None:
    """The README promises that without Graphviz the image tests skip *with a printed
    reason*; plain ``python -m pytest`` must show it (pyproject's addopts has ``-rs``)."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("EMBER_XCS_REQUIRE_GRAPHVIZ", "PYTEST_ADDOPTS")}
    env["PATH"] = ""  # no `dot` to be found, as on a machine without Graphviz
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/xcs/ir/test_export.py", "-k", "graphviz"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 skipped" in result.stdout
    skipped = [line for line in result.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == 1 and "Graphviz `dot` is not installed" in skipped[0], result.stdout
    assert "apt-get install graphviz" in skipped[0]
    assert "PASSED" not in result.stdout  # -rs lists skips only; passing tests stay quiet


@pytest.mark.timeout(180)
def test_readme_dask_example_runs_when_saved_as_a_script(tmp_path: Path) -> None:
    """Saved as a file and run with `python`, the Dask example must work: its worker
    processes run the script again, so the cluster start must sit under the main guard."""
    blocks = python_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    (code,) = [code for _, code, _ in blocks if "dask_executor(" in code]
    assert _MAIN_GUARD.search(code), "the README's Dask example needs the main guard"
    script = tmp_path / "survey.py"
    script.write_text(code + '\n    print("cluster ok")\n')
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=170)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("cluster ok")


# Files named in prose as the reader's own (not part of the project).
_USER_FILES = {"pipeline.py"}


def test_every_module_the_docs_name_exists() -> None:
    # Modules move (issue 12 moved several): a page naming a file that is gone misleads.
    project = [path.relative_to(ROOT).as_posix()
               for folder in ("src", "benchmarks", "examples", "tests")
               for path in (ROOT / folder).rglob("*.py")]
    missing = []
    for page in sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]:
        for name in sorted(set(re.findall(r"`([\w./-]+\.py)`", page.read_text()))):
            if name in _USER_FILES:
                continue
            if not any(path == name or path.endswith("/" + name) for path in project):
                missing.append(f"{page.relative_to(ROOT)}: {name}")
    assert not missing, "pages name files that do not exist:\n" + "\n".join(missing)
