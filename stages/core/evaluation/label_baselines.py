"""Emotion-only reference rows: what a model's emotion accuracy should be read against.

- ``majority``: every example gets the most common gold label of the training split. The floor: a
  model at this accuracy has learned no emotion at all.
- ``bow``: a bag-of-words classifier (TF-IDF of word 1-2-grams, multinomial logistic regression) on the
  plain-text dialogue context, trained on the training split. A simple non-neural ceiling: how much of
  the learnable signal the context carries, so a reader sees how much of it the model gets.

Both see exactly the evaluated examples and are trained only on training dialogues (persona-disjoint
from the test split), so they are as held-out as the models.
"""

from __future__ import annotations

from collections import Counter

BASELINES = ("majority", "bow")


def majority_predictions(train: list[dict], examples: list[dict]) -> list[str]:
    # ties go to the alphabetically first label, so the row does not depend on the file order
    counts = Counter(ex["emotion"] for ex in train)
    label = min(counts, key=lambda e: (-counts[e], e))
    return [label] * len(examples)


def bow_predictions(train: list[dict], examples: list[dict], seed: int) -> list[str]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    classifier = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                               LogisticRegression(C=10.0, max_iter=2000, random_state=seed))
    classifier.fit([ex["context"] for ex in train], [ex["emotion"] for ex in train])
    return [str(p) for p in classifier.predict([ex["context"] for ex in examples])]


def label_baselines(train: list[dict], examples: list[dict], seed: int) -> dict[str, list[str]]:
    """Predicted label per evaluated example, for each reference row."""
    return {"majority": majority_predictions(train, examples), "bow": bow_predictions(train, examples, seed)}
