from __future__ import annotations

import sys

from ember.xcs.tracing import frames
from ember.xcs.tracing.frames import CallMode, rejection_site
from ember.xcs.tracing.versions import loaded_names

BOUNDARY: list[object] = []


def _mode_here_wrapper() -> CallMode:
    # inspect_site looks at the caller of its caller: this frame's caller and up.
    return frames.inspect_site(BOUNDARY[-1], None)[1]  # type: ignore[arg-type]


def test_try_and_with_blocks_make_calls_eager() -> None:
    BOUNDARY.append(sys._getframe())

    def plain() -> CallMode:
        return _mode_here_wrapper()

    def in_try() -> CallMode:
        try:
            return _mode_here_wrapper()
        except ValueError:
            raise

    def in_with() -> CallMode:
        with open(__file__) as handle:
            handle.read(1)
            return _mode_here_wrapper()

    def outer_try() -> CallMode:
        try:
            return plain()
        finally:
            pass

    assert plain() is CallMode.LAZY
    assert in_try() is CallMode.TRY
    assert in_with() is CallMode.TRY
    assert outer_try() is CallMode.TRY  # any user frame up to the boundary counts
    BOUNDARY.clear()


def test_boundary_stops_the_walk() -> None:
    def inner() -> CallMode:
        return frames.inspect_site(sys._getframe(1), None)[1]

    def caller() -> CallMode:
        return inner()

    try:
        assert caller() is CallMode.LAZY  # the try here is above the boundary
    finally:
        pass


def test_location_points_at_user_code() -> None:
    def site() -> object:
        return frames.inspect_site(None, None)[0]

    location = site()
    assert location is not None and location.filename == __file__  # type: ignore[attr-defined]
    assert location.function == "test_location_points_at_user_code"  # type: ignore[attr-defined]


def test_loaded_names() -> None:
    def sample(a: int, b: int) -> int:
        c = a + b
        return c * a

    first = sample.__code__.co_firstlineno + 1
    assert loaded_names(sample.__code__, first, first) == ("a", "b")
    assert loaded_names(sample.__code__, first + 1, first + 1) == ("c", "a")


def test_rejection_site_ignores_explicit_raises() -> None:
    def explicit() -> None:
        raise ValueError("mine")

    def from_c_code() -> str:
        return "".join([1])  # type: ignore[list-item]

    try:
        explicit()
    except ValueError as error:
        assert rejection_site(error, None) is None
    try:
        from_c_code()
    except TypeError as error:
        site = rejection_site(error, None)
        assert site is not None and site.code is from_c_code.__code__
        assert site.first_line == from_c_code.__code__.co_firstlineno + 1
