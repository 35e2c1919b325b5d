"""The emotion-only reference rows of evaluate: majority floor and bag-of-words ceiling."""

from stages.core.evaluation.label_baselines import bow_predictions, label_baselines, majority_predictions


def ex(context: str, emotion: str) -> dict:
    return {"context": context, "emotion": emotion}


TRAIN = [ex(f"User: I feel {w} about the {thing}.", label)
         for w, label in (("scared", "afraid"), ("furious", "angry"), ("thankful", "grateful"))
         for thing in ("exam", "trip", "party", "move", "call", "job")]


def test_majority_predicts_the_most_common_training_label_ties_alphabetical():
    train = [ex("a", "sad"), ex("b", "joyful"), ex("c", "sad"), ex("d", "joyful"), ex("e", "proud")]
    assert majority_predictions(train, [ex("x", "proud")] * 3) == ["joyful"] * 3


def test_bow_learns_the_cue_words_and_generalises_to_new_contexts():
    test = [ex("User: so scared about the wedding", "afraid"), ex("User: furious about the wedding", "angry"),
            ex("User: thankful for the wedding", "grateful")]
    assert bow_predictions(TRAIN, test, seed=0) == ["afraid", "angry", "grateful"]


def test_label_baselines_gives_one_prediction_per_example_and_is_deterministic():
    test = [ex("User: scared of the call", "afraid")] * 4
    a, b = label_baselines(TRAIN, test, seed=1), label_baselines(TRAIN, test, seed=1)
    assert a == b and set(a) == {"majority", "bow"} and all(len(v) == 4 for v in a.values())
