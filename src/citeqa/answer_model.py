"""Fitted weights of the answer composer, written by `python -m bench.fit_composer`.

Sentence scorer: logistic regression, P(sentence holds a gold answer), on SQuAD v1.1 dev questions
of half A of the articles. Confidence: logistic regression, P(best sentence answers), on the same
questions asked with and without their article. Threshold: answers 92% of half A's answerable.
"""

SENTENCE_WEIGHTS = {
    "dense": 5.3732,
    "dense_rel": 3.7857,
    "passage_dense": -4.8225,
    "inv_rank": 0.9559,
    "overlap": -0.0926,
    "idf_overlap": 3.4505,
    "bigram": 0.5929,
    "answer_type": 0.3770,
    "novelty": -2.0242,
    "log_len": 0.4492,
    "first": 0.0035,
    "entity_cov": 0.7618,
    "type_near": 0.1045,
}
SENTENCE_BIAS = -3.5631
CONFIDENCE_WEIGHTS = (1.6085, 0.4817, 3.8383, -0.0209, -2.5397)
CONFIDENCE_BIAS = -1.1503
ABSTAIN_THRESHOLD = 0.1109
