"""Fitted weights of the answer composer. Regenerate with `python -m bench.fit_composer`.

Placeholder values until the first fit.
"""

SENTENCE_WEIGHTS = {
    "dense": 4.0, "dense_rel": 2.0, "passage_dense": 1.0, "inv_rank": 0.5, "overlap": 1.0,
    "idf_overlap": 1.0, "bigram": 0.5, "answer_type": 1.0, "novelty": 0.5, "log_len": 0.0,
    "first": 0.0, "entity_cov": 0.5,
}
SENTENCE_BIAS = -4.0
CONFIDENCE_WEIGHTS = (1.0, 0.2, 2.0, 1.0, 0.5)
CONFIDENCE_BIAS = -2.0
ABSTAIN_THRESHOLD = 0.0
