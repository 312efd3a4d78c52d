"""The verifier (citeqa.verify), on sentences worked out by hand."""

from __future__ import annotations

from citeqa.chunk import split_sentences
from citeqa.verify import COVERAGE, Source, best_source, check, facts, number_forms, unfound_facts

ARTICLE = (
    "Intro line that is not cited.\n\n"
    "The drills will be held in Kars, officials said on Monday. About 3,000 troops from two countries "
    "will take part. The exercise ends on 15 June."
)
START = ARTICLE.index("The drills")


def _source(title: str = "Joint drills in Kars") -> Source:
    return Source(ARTICLE[START:], START, tuple(split_sentences(ARTICLE, START)), title)


def test_a_paraphrase_of_one_sentence_is_supported_by_that_sentence() -> None:
    v = check("About 3,000 troops from two countries will take part in the drills.", [_source()])
    assert v.supported and not v.unfound
    # the supporting quote is the sentence (or adjacent pair) with the most of its words, exactly
    assert ARTICLE[v.start : v.end] == v.quote
    assert "3,000 troops" in v.quote
    assert v.coverage >= COVERAGE


def test_an_invented_number_is_flagged_and_unsupported() -> None:
    v = check("About 4,000 troops from two countries will take part.", [_source()])
    assert not v.supported
    assert v.unfound == ("4,000",)
    assert v.coverage >= COVERAGE  # the words are all there: only the number gives it away


def test_an_invented_name_and_date_are_flagged() -> None:
    assert unfound_facts("The drills will be held in Erzurum on 16 June.", [_source()]) == ("Erzurum", "16")
    # a name the title holds is found; so is a number written in words
    assert unfound_facts("Kars hosts three thousand troops.", [_source()]) == ()
    assert unfound_facts("The drills in Kars involve 3000 soldiers.", [_source()]) == ()


def test_a_sentence_about_something_else_is_unsupported() -> None:
    v = check("The central bank raised interest rates by half a point.", [_source()])
    assert not v.supported and v.coverage < COVERAGE


def test_number_forms_match_the_ways_numbers_are_written() -> None:
    assert number_forms("3,000") == {"3000"}
    assert number_forms("1990s") == {"1990"}
    assert number_forms("21st") == {"21"}
    assert number_forms("three") == {"3"}
    assert number_forms("1.50") == {"1.5"}
    assert unfound_facts("It cost 1.5 million dollars.", [Source("It cost $1,500,000 in all.", 0)]) == ()


def test_facts_skip_a_capitalised_first_word_unless_it_starts_a_name() -> None:
    assert [t for t, _ in facts("Officials said the drills start soon.")] == []
    assert [t for t, _ in facts("Denver Broncos won Super Bowl 50.")] == [
        "Denver",
        "Broncos",
        "Super",
        "Bowl",
        "50",
    ]
    assert [t for t, _ in facts("One of the ships sank.")] == []  # "one" says too little


def test_accents_do_not_make_a_name_invented() -> None:
    assert unfound_facts("Esteban Alvarez spoke.", [Source("Esteban Álvarez spoke first.", 0)]) == ()


def test_an_uncited_sentence_gets_the_source_that_supports_it() -> None:
    other = Source("Heavy rain flooded the valley on Sunday.", 0)
    v = best_source("About 3,000 troops from two countries will take part.", [other, _source()])
    assert v.supported and v.source == 1
    none = best_source("Prices rose sharply in Brazil.", [other, _source()])
    assert not none.supported


def test_no_sources_or_no_words_is_unsupported() -> None:
    assert not check("Kars.", []).supported
    assert not check("...", [_source()]).supported


def test_a_made_up_name_first_in_a_sentence_is_flagged_a_common_word_is_not() -> None:
    assert unfound_facts("Putin said the drills will be held in Kars.", [_source()]) == ("Putin",)
    assert unfound_facts("Officials said the drills will be held in Kars.", [_source()]) == ()
    assert unfound_facts("Troops will take part in the drills.", [_source()]) == ()  # "troops" is there


def test_may_inside_a_sentence_is_the_month() -> None:
    assert unfound_facts("The exercise ends in May.", [_source()]) == ("May",)
    assert unfound_facts("May the drills end soon.", [_source()]) == ()  # first: the verb
    assert unfound_facts("The exercise ends in June.", [_source()]) == ()


def test_a_sentence_that_negates_its_source_is_unsupported_either_way() -> None:
    v = check("The drills will not be held in Kars.", [_source()])
    assert v.negation and not v.supported and v.coverage >= COVERAGE
    said_not = Source("The drills will not be held in Kars, officials said.", 0)
    v = check("The drills will be held in Kars.", [said_not])
    assert v.negation and not v.supported
    assert check("The drills won't be held in Kars.", [said_not]).supported
    # a "not" about something else in the window is no contradiction
    elsewhere = Source("It was not a surprise. The drills will be held in Kars, officials said.", 0)
    assert check("Officials said the drills will be held in Kars.", [elsewhere]).supported


def test_the_articles_date_is_evidence_for_a_date() -> None:
    dated = Source(
        ARTICLE[START:], START, tuple(split_sentences(ARTICLE, START)), "Drills", "2023-04-18T11:09:00+04:00"
    )
    for sentence in ("The drills were announced on 18 April 2023.", "It was reported on 2023-04-18."):
        assert unfound_facts(sentence, [dated]) == ()
        assert unfound_facts(sentence, [_source()]) != ()


def test_a_denial_in_other_words_is_unsupported() -> None:
    """The window says nothing negative: a sentence that negates anything is not what it says."""
    for sentence in ("The drills will not take place in Kars.", "The drills will be held nowhere near Kars."):
        v = check(sentence, [_source()])
        assert v.negation and not v.supported


def test_numbers_written_in_words_with_a_hyphen_match_their_digits() -> None:
    said = Source("Officials confirmed that twenty-seven people have lost their lives.", 0)
    assert unfound_facts("27 people have lost their lives.", [said]) == ()
    assert unfound_facts("Twenty-seven people died.", [Source("27 people died.", 0)]) == ()
    assert unfound_facts("28 people have lost their lives.", [said]) == ("28",)


def test_the_articles_date_backs_only_a_written_date() -> None:
    """A made-up "19" must not pass for an article of the 19th."""
    said = "The toll from the earthquake rose to 12, the interior ministry said."
    dated = Source(said, 0, tuple(split_sentences(said)), "", "2024-03-19")
    assert not check(said.replace("12", "19"), [dated]).supported
    assert unfound_facts("It was reported on 19 March 2024.", [dated]) == ()


def test_openers_and_number_signs_are_not_names_or_negations() -> None:
    said = Source("The toll rose to 19, the interior ministry said.", 0)
    for opener in ("Furthermore, the", "Moreover the", "Separately, the"):
        assert check(f"{opener} toll rose to 19, the interior ministry said.", [said]).supported
    fire = Source("Nobody was hurt in the fire at No. 10 Downing Street, police said.", 0)
    assert check("No one was hurt in the fire, police said.", [fire]).supported
    assert check("The fire was at No. 10 Downing Street, police said.", [fire]).supported
