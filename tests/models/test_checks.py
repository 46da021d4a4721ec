import math

import pytest

from ember.models import InvalidParamsError
from ember.models._checks import (
    check_base_url,
    check_flag,
    check_instance,
    check_number,
    check_positive_int,
    check_text,
)


@pytest.mark.parametrize("value", [0, -1, math.nan, math.inf, -math.inf, "1", None, True])
def test_check_number_rejects_and_names_the_field(value):
    with pytest.raises(
        InvalidParamsError, match=r"^Owner\(timeout=\.\.\.\) must be a finite number > 0"
    ):
        check_number("Owner", "timeout", value)


def test_check_number_accepts_and_converts():
    assert check_number("O", "t", 5) == 5.0 and check_number("O", "t", 0, low_open=False) == 0.0


def test_check_positive_int_and_optional():
    check_positive_int("O", "n", None)
    check_positive_int("O", "n", 3)
    for bad in (0, -2, 1.0, True, "3"):
        with pytest.raises(InvalidParamsError, match=r"O\(n=\.\.\.\)"):
            check_positive_int("O", "n", bad)
    with pytest.raises(InvalidParamsError, match="a positive int,"):
        check_positive_int("O", "n", None, optional=False)


@pytest.mark.parametrize(
    "url", ["http://localhost:8000/v1", "https://api.example.com", "http://127.0.0.1:9", None]
)
def test_good_base_urls(url):
    check_base_url("O", url)


@pytest.mark.parametrize(
    "url",
    ["localhost:8000", "ftp://x", "http://", "", "http://h:0", "http://h:70000", 8000, b"http://h"],
)
def test_bad_base_urls_show_an_example(url):
    with pytest.raises(InvalidParamsError, match=r"O\(base_url=\.\.\.\) must be an http.*e\.g\."):
        check_base_url("O", url)


def test_an_environment_url_names_the_variable():
    with pytest.raises(InvalidParamsError, match=r"^\$X_URL \(used by O\)"):
        check_base_url("O", "nope", source="$X_URL")


def test_instance_flag_and_text_checks():
    check_instance("O", "retry", None, int)
    with pytest.raises(
        InvalidParamsError, match=r"O\(retry=\.\.\.\) must be a int or None, got str"
    ):
        check_instance("O", "retry", "x", int)
    check_flag("O", "f", False)
    with pytest.raises(InvalidParamsError, match="True or False"):
        check_flag("O", "f", 1)
    check_text("O", "key", "k")
    for bad in ("", "   ", 5):
        with pytest.raises(InvalidParamsError, match=r"O\(key=\.\.\.\)"):
            check_text("O", "key", bad)
