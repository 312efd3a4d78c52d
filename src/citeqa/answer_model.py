"""Fitted weights of the answer composer, written by `python -m bench.fit_composer`.

Sentence scorer: logistic regression, P(sentence holds a gold answer), on SQuAD v1.1 dev questions
of half A of the articles. Confidence: logistic regression, P(best sentence answers), on the same
questions asked with and without their article. Threshold: answers 97% of half A's answerable.
"""

SENTENCE_WEIGHTS = {
    "dense": 4.7083,
    "dense_rel": 4.1099,
    "passage_dense": -4.7123,
    "inv_rank": 1.8954,
    "overlap": -0.2884,
    "idf_overlap": 2.7448,
    "bigram": 0.9486,
    "answer_type": 0.3979,
    "novelty": -2.2876,
    "log_len": 0.5736,
    "first": 0.0427,
    "entity_cov": 0.5036,
    "type_near": 0.0277,
}
SENTENCE_BIAS = -3.6492
CONFIDENCE_WEIGHTS = (1.6625, 0.5501, 3.4233, -0.0179, -2.8835)
CONFIDENCE_BIAS = -0.8564
ABSTAIN_THRESHOLD = 0.1655
