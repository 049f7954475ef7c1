"""Label sets of the facial-expression data sets and the mappings between them.

Every label set is an ordered tuple of *canonical* emotion names, in the data set's own
index order, so that index ``i`` of a model trained on a set means ``names[i]``.
Canonical names: ``neutral happy surprise sad angry disgust fear contempt``.

Mapping between two sets goes through the canonical names: a FER+ model (8 classes, with
``contempt``) can be evaluated on FER2013 (7 classes); a FER2013 image labelled ``angry``
maps onto the FER+ model's ``angry`` output, and the model's ``contempt`` answers count as
wrong there because FER2013 has no such class.
"""


import numpy as np

from .errors import EdgeferError

CANONICAL = ("neutral", "happy", "surprise", "sad", "angry", "disgust", "fear", "contempt")

# Names used by data sets, folders and papers for the canonical classes.
ALIASES = {
    "neutral": "neutral", "neutrality": "neutral",
    "happy": "happy", "happiness": "happy", "happily": "happy", "joy": "happy",
    "surprise": "surprise", "surprised": "surprise",
    "sad": "sad", "sadness": "sad",
    "angry": "angry", "anger": "angry",
    "disgust": "disgust", "disgusted": "disgust",
    "fear": "fear", "fearful": "fear", "afraid": "fear",
    "contempt": "contempt", "contemptuous": "contempt",
}


class LabelSet(object):
    """An ordered set of class names under a protocol name (e.g. ``fer2013``)."""

    def __init__(self, name, names, description=""):
        for n in names:
            if n not in CANONICAL:
                raise ValueError("unknown canonical emotion %r" % n)
        self.name = name
        self.names = tuple(names)
        self.description = description

    def __len__(self):
        return len(self.names)

    def __iter__(self):
        return iter(self.names)

    def __repr__(self):
        return "LabelSet(%r, %r)" % (self.name, self.names)

    def __eq__(self, other):
        return isinstance(other, LabelSet) and self.names == other.names

    def __hash__(self):
        return hash(self.names)

    def index(self, name):
        """Index of a class given any of its aliases (case-insensitive)."""
        canon = canonical_name(name)
        if canon is None or canon not in self.names:
            raise EdgeferError(
                "class %r is not in label set %s (%s)" % (name, self.name, ", ".join(self.names))
            )
        return self.names.index(canon)

    def to_dict(self):
        return {"protocol": self.name, "names": list(self.names)}


FER2013 = LabelSet(
    "fer2013",
    ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"),
    "FER2013 (ICML 2013 challenge), labels 0-6 of fer2013.csv",
)
FERPLUS = LabelSet(
    "ferplus",
    ("neutral", "happy", "surprise", "sad", "angry", "disgust", "fear", "contempt"),
    "FER+ relabelling of FER2013 (fer2013new.csv), 8 emotions, majority vote",
)
RAFDB = LabelSet(
    "rafdb",
    ("surprise", "fear", "disgust", "happy", "sad", "angry", "neutral"),
    "RAF-DB basic, labels 1-7 of list_patition_label.txt (stored here as 0-6)",
)
AFFECTNET8 = LabelSet(
    "affectnet8",
    ("neutral", "happy", "sad", "surprise", "fear", "disgust", "angry", "contempt"),
    "AffectNet expression 0-7 (8-10: none, uncertain, non-face are dropped)",
)
AFFECTNET7 = LabelSet(
    "affectnet7",
    AFFECTNET8.names[:7],
    "AffectNet expression 0-6 (contempt and 8-10 are dropped)",
)

LABEL_SETS = {s.name: s for s in (FER2013, FERPLUS, RAFDB, AFFECTNET7, AFFECTNET8)}


def canonical_name(name):
    """The canonical emotion for a data set's or folder's class name, or None."""
    return ALIASES.get(str(name).strip().lower())


def get_label_set(name):
    """Look up a label protocol by name (``fer2013``, ``ferplus``, ``rafdb``, ``affectnet7``, ``affectnet8``)."""
    try:
        return LABEL_SETS[name]
    except KeyError:
        raise EdgeferError(
            "--labels: unknown label protocol %r (expected one of: %s)" % (name, ", ".join(sorted(LABEL_SETS)))
        ) from None


def resolve_label_set(labels, default=None):
    """``labels`` as a :class:`LabelSet`: one already, a protocol name, or ``default`` when None."""
    if labels is None:
        return default
    if isinstance(labels, LabelSet):
        return labels
    return get_label_set(labels)


def label_set_from_names(names, name="custom"):
    """A label set from a list of class names (canonical or aliases), e.g. a checkpoint's labels."""
    canon = []
    for n in names:
        c = canonical_name(n)
        if c is None:
            raise EdgeferError("class name %r is not a known emotion (known: %s)" % (n, ", ".join(CANONICAL)))
        canon.append(c)
    for s in LABEL_SETS.values():
        if s.names == tuple(canon):
            return s
    return LabelSet(name, canon)


def mapping(src, dst):
    """Index map from label set ``src`` to ``dst``: ``m[i]`` is the index in ``dst`` of
    ``src.names[i]``, or -1 when ``dst`` has no such class."""
    return np.array([dst.names.index(n) if n in dst.names else -1 for n in src.names], dtype=np.int64)


def common_names(a, b):
    """The classes two label sets share, in ``a``'s order."""
    return [n for n in a.names if n in b.names]
