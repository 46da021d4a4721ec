"""ember.xcs.engine.captured: what a shipped op writes to its streams, kept for the caller."""

from __future__ import annotations

import contextlib
import io
import sys
import threading

from ember.xcs.engine.captured import captured, replay


def test_writes_in_the_block_are_kept_in_order_and_others_pass_through() -> None:
    out, err = io.StringIO(), io.StringIO()
    seen_elsewhere: list[str] = []
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        with captured() as chunks:
            print("one")
            sys.stderr.write("two\n")
            sys.stdout.writelines(["three\n", "four\n"])  # a library's way to write
            other = threading.Thread(target=lambda: print("another thread"))
            other.start()
            other.join()  # its own context: not the op's output
            seen_elsewhere.append(out.getvalue())
        print("after")
    assert seen_elsewhere == ["another thread\n"]
    assert "".join(text for _, text in chunks) == "one\ntwo\nthree\nfour\n"
    assert [index for index, text in chunks if text == "two\n"] == [2]
    assert out.getvalue() == "another thread\nafter\n" and err.getvalue() == ""

    replayed_out, replayed_err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(replayed_out), contextlib.redirect_stderr(replayed_err):
        replay(chunks)
    assert replayed_out.getvalue() == "one\nthree\nfour\n"
    assert replayed_err.getvalue() == "two\n"


def test_a_write_outside_an_op_returns_what_the_replaced_stream_returns() -> None:
    # A stream-like whose write returns None (a tee, a logger adapter) made every print
    # outside an op's output in a worker process (the op's own threads, the worker's)
    # raise TypeError from int(None), where plain Python printed.
    written: list[str] = []

    class Tee:
        def write(self, text: str) -> None:
            written.append(text)

        def flush(self) -> None:
            pass

    with contextlib.redirect_stdout(Tee()):  # type: ignore[type-var]
        with captured():
            pass  # the streams are routed from here on
        print("outside")
        assert sys.stdout.write("x") is None
    assert written == ["outside", "\n", "x"]
