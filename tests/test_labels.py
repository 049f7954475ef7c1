import numpy as np
import pytest

from edgefer import labels as L
from edgefer.errors import EdgeferError


def test_label_sets_in_dataset_order():
    assert L.FER2013.names[0] == "angry" and L.FER2013.names[6] == "neutral"
    assert L.FERPLUS.names[:3] == ("neutral", "happy", "surprise") and L.FERPLUS.names[7] == "contempt"
    # RAF-DB file labels 1..7 = surprise, fear, disgust, happiness, sadness, anger, neutral
    assert L.RAFDB.names == ("surprise", "fear", "disgust", "happy", "sad", "angry", "neutral")
    assert L.AFFECTNET8.names[6] == "angry" and L.AFFECTNET8.names[7] == "contempt"
    assert L.AFFECTNET7.names == L.AFFECTNET8.names[:7]


def test_mapping_between_sets():
    m = L.mapping(L.FERPLUS, L.FER2013)
    # FER+ contempt has no FER2013 class; every other FER+ class maps onto the same emotion
    assert m[7] == -1
    for i, n in enumerate(L.FERPLUS.names[:7]):
        assert L.FER2013.names[m[i]] == n
    back = L.mapping(L.FER2013, L.FERPLUS)
    assert (back >= 0).all()
    assert np.array_equal(m[back], np.arange(7))
    assert L.common_names(L.AFFECTNET8, L.RAFDB) == [n for n in L.AFFECTNET8.names if n != "contempt"]


def test_aliases_and_lookup():
    assert L.FER2013.index("Happiness") == 3
    assert L.canonical_name("ANGER") == "angry"
    assert L.label_set_from_names(["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]) is L.FER2013
    custom = L.label_set_from_names(["happy", "sad"])
    assert custom.names == ("happy", "sad") and custom.name == "custom"
    with pytest.raises(EdgeferError, match="contempt"):
        L.FER2013.index("contempt")
    with pytest.raises(EdgeferError, match="--labels"):
        L.get_label_set("nope")
    with pytest.raises(EdgeferError, match="bored"):
        L.label_set_from_names(["happy", "bored"])
