"""The shared wording helpers (ganbench.text)."""

from __future__ import annotations

from ganbench.text import clip, short, suggestion


def test_suggestion_names_the_closest_choice_or_nothing():
    assert suggestion("n_critc", ["n_critic", "batch_size"]) == "; did you mean 'n_critic'?"
    assert suggestion("zzz", ["n_critic", "batch_size"]) == ""
    two = suggestion("mode", ["modes", "model", "fd"], n=2)
    assert two.startswith("; did you mean '") and " or " in two
    assert "'modes'" in two and "'model'" in two and "fd" not in two
    # The cutoff is difflib's ratio 2M/T: 'kind' and 'knd' score 6/7.
    assert suggestion("knd", ["kind"], cutoff=0.9) == ""
    assert suggestion("knd", ["kind"], cutoff=0.8) == "; did you mean 'kind'?"


def test_clip_and_short_bound_what_messages_quote():
    assert clip("abc", 5) == "abc" and clip("abcdefgh", 5) == "ab..."
    assert len(clip("x" * 10_000)) == 200
    assert short("x" * 100) == repr("x" * 100)[:57] + "..."
    assert short(10**5000) == "an integer of more than 4300 digits"
