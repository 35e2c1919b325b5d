"""The 32 EmpatheticDialogues emotion labels KardiaBench uses [paper], and their normalisation."""

EMOTIONS: tuple[str, ...] = (
    "afraid", "angry", "annoyed", "anticipating", "anxious", "apprehensive", "ashamed", "caring",
    "confident", "content", "devastated", "disappointed", "disgusted", "embarrassed", "excited",
    "faithful", "furious", "grateful", "guilty", "hopeful", "impressed", "jealous", "joyful",
    "lonely", "nostalgic", "prepared", "proud", "sad", "sentimental", "surprised", "terrified",
    "trusting",
)
EMOTION_SET = frozenset(EMOTIONS)


def normalize_emotion(label: str) -> str:
    """Case- and whitespace-insensitive form of a label [ours]: ' Anxious\\n' -> 'anxious'."""
    return " ".join(label.split()).lower()
