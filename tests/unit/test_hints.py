"""Reading requests in code: descriptions vs titles, years, and conditions carried across turns."""

from __future__ import annotations

from graph.hints import conversation_hints, descriptors, read_hints, residual_words


def test_quoted_descriptions_are_terms_not_titles(ml_domain) -> None:  # type: ignore[no-untyped-def]
    for text, term in [("People describe it as 'obsession'.", "obsession"), ("Tagged 'creepy', I remember.", "creepy"),
                       ("Something with a 'space' feel.", "space"), ("I recall it being 'alter ego'.", "alter ego")]:
        h = read_hints(text, ml_domain.schema, ml_domain.resolver)
        assert h.terms == [term] and h.titles == [], text
        assert residual_words(text, h, ml_domain.schema, ml_domain.resolver) == [], text
    # a quoted title is still a title
    h = read_hints("I loved 'Heat' and 'Alien'", ml_domain.schema, ml_domain.resolver)
    assert [ml_domain.titles[i] for i in h.titles] == ["Heat (1995)", "Alien (1979)"] and h.terms == []
    assert descriptors("a 'war hero' story") == []  # no describing cue: not guessed
    assert descriptors("people call it 'tense'") == ["tense"]


def test_a_decade_and_a_year_in_one_message(ml_domain) -> None:  # type: ignore[no-untyped-def]
    h = read_hints("A 90s movie. Made in 1993, I believe.", ml_domain.schema, ml_domain.resolver)
    assert (h.year_min, h.year_max) == (1993, 1993)
    h = read_hints("From the 90s. Made in 2004.", ml_domain.schema, ml_domain.resolver)  # outside: the decade stands
    assert (h.year_min, h.year_max) == (1990, 1999)


def test_conditions_accumulate_and_years_narrow(ml_domain) -> None:  # type: ignore[no-untyped-def]
    s, r = ml_domain.schema, ml_domain.resolver
    texts = ["I'm in the mood for drama and thriller.", "No. Released in the 2010s. People describe it as 'obsession'.",
             "None of these. I think it came out in 2010.", "Not those. Tagged 'creepy'.", "Again, a drama movie."]
    h = conversation_hints(texts, s, r)
    assert set(h.include) == {("genres", "Drama"), ("genres", "Thriller")}
    assert (h.year_min, h.year_max) == (2010, 2010)
    assert h.terms == ["obsession", "creepy"]
    # a later "no thriller" beats the earlier "thriller"; a fresh start drops everything before it
    h = conversation_hints(texts[:3] + ["but no thriller please"], s, r)
    assert ("genres", "Thriller") in h.exclude and ("genres", "Thriller") not in h.include
    h = conversation_hints([*texts[:3], "something completely different: a comedy"], s, r)
    assert h.include == [("genres", "Comedy")] and h.year_min is None and h.terms == []
    # a disjoint year statement replaces the earlier one
    h = conversation_hints(["a comedy from the 80s", "actually from the 2000s"], s, r)
    assert (h.year_min, h.year_max) == (2000, 2009)
