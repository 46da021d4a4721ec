from ember.models._text import check_encodable, clip, shorten


def test_clip_cuts_big_strings_and_bytes_before_repr():
    text = clip("y" * 5_000_000, limit=50)
    assert text.startswith("'" + "y" * 50 + "'") and "5,000,000 chars in all" in text
    assert len(clip(b"z" * 10_000_000)) < 300
    assert clip("short") == "'short'"


def test_clip_bounds_containers_and_survives_broken_repr():
    assert len(clip({"k": ["v" * 1_000] * 1_000})) <= 260

    class Broken:
        def __repr__(self):
            raise RuntimeError("no")

    assert clip(Broken()).startswith("<Broken instance at 0x")


def test_shorten_keeps_names_readable():
    assert shorten("openai/gpt-4o") == "openai/gpt-4o"
    assert shorten("m" * 1_000, limit=10) == "mmmmmmmmmm... (1,000 chars in all)"


def test_check_encodable_finds_lone_surrogates_only():
    assert check_encodable("plain ascii") is None
    assert check_encodable("é and 😀") is None
    assert check_encodable("ok \udc80") == 3
    assert (
        check_encodable("\ud83d\ude00") == 0
    )  # a surrogate *pair* in a str is still two lone ones
