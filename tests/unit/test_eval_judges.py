"""The lenient and strict hit judges and the simulator's title-leak check."""

from __future__ import annotations

from evals.judges import leaks, lenient_hit, strict_hit, title_forms, title_score


def test_title_forms_cover_catalog_spellings() -> None:
    forms = title_forms("Matrix, The (1999)")
    assert forms == ["matrix, the (1999)", "matrix, the", "the matrix (1999)", "the matrix"]
    assert "seven" in title_forms("Seven (a.k.a. Se7en) (1995)")


def test_lenient_hit_reads_the_message_like_recai() -> None:
    assert lenient_hit("You might enjoy:\n1. The Matrix (1999) - mind-bending", "Matrix, The (1999)")
    assert lenient_hit("Try the matrix, it is great", "Matrix, The (1999)")  # case-insensitive, no year
    assert lenient_hit("1. Jumanj (1995) - board game", "Jumanji (1995)")  # a typo still scores > 80
    assert not lenient_hit("1. Heat (1995)\n2. Casino (1995)", "Jumanji (1995)")
    assert not lenient_hit("", "Jumanji (1995)")
    # partial_ratio > 80, not >= 80
    assert title_score("Toy Story 3 (2010)", "Toy Story 2 (1999)") > 80  # the known leniency: sequels match
    assert lenient_hit("1. Toy Story 2 (1999)", "Toy Story 3 (2010)")


def test_lenient_hit_on_short_titles_needs_the_words_and_year() -> None:
    assert lenient_hit("1. Up (2009) - Pixar", "Up (2009)")
    assert not lenient_hit("Cheer up, here are some comedies", "Up (2009)")
    assert lenient_hit("Watch It (2017) tonight", "It (2017)")
    assert not lenient_hit("It is a great pick", "It (2017)")


def test_strict_hit_reads_the_recommended_items() -> None:
    assert strict_hit([4, 8, 15], 8)
    assert not strict_hit([4, 8, 15], 16)
    assert not strict_hit([4, 8, 15], 15, k=2)
    assert not strict_hit([], 1)
    assert strict_hit([None, 3], 3)


def test_leak_guard() -> None:
    title = "Lord of the Rings: The Return of the King, The (2003)"
    assert leaks("I want the Return of the King", title)
    assert leaks("lord of the rings please", title)
    assert not leaks("A fantasy epic from the 2000s, please.", title)
    # short names: the words must spell the title (partial_ratio of "heat" matches almost anything)
    assert leaks("Something like heat would be nice", "Heat (1995)")
    assert not leaks("A heated crime drama from the 90s", "Heat (1995)")
    assert leaks("I want the matrix", "Matrix, The (1999)")
    assert leaks("I want the matrx", "Matrix, The (1999)")  # misspelled still leaks
    assert not leaks("A sci-fi movie from the 90s with a twist", "Matrix, The (1999)")
    # partial_ratio >= 60 on longer names: near misses count as leaks
    assert leaks("a movie about toy stories", "Toy Story (1995)")
    assert not leaks("anything", "")
