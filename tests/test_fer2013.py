"""The FER2013 / FER+ reader against the real files in ../shared/data/fer2013."""

import gzip

import numpy as np
import pytest

from edgefer.data import detect_format, open_dataset
from edgefer.data.fer2013 import FER2013Dataset, ferplus_majority, read_ferplus_votes
from edgefer.errors import EdgeferError

# ../shared/data/README.md
COUNTS = {"Training": [3995, 436, 4097, 7215, 4830, 3171, 4965], "PublicTest": [467, 56, 496, 895, 653, 415, 607]}


@pytest.mark.parametrize("split", ["Training", "PublicTest"])
def test_fer2013_counts(fer_csv, split):
    ds = open_dataset(fer_csv, split=split)
    assert detect_format(fer_csv) == "fer2013"
    assert ds.labels.name == "fer2013" and ds.split == split
    assert len(ds) == sum(COUNTS[split])
    assert ds.class_counts().tolist() == COUNTS[split]
    img = ds.image(0)
    assert img.shape == (48, 48) and img.dtype == np.uint8 and img.std() > 0


def test_ids_are_csv_rows(fer_csv):
    tr = open_dataset(fer_csv, split="Training")
    pt = open_dataset(fer_csv, split="PublicTest")
    assert tr.ids[0] == "0" and tr.ids[-1] == "28708" and pt.ids[0] == "28709"
    # the id is the row: re-read row 28709 by hand and compare pixels and label
    with gzip.open(fer_csv, "rt") as f:
        for i, line in enumerate(f):
            if i == 28710:  # header is line 0
                emo, px, usage = line.strip().split(",")
                break
    assert usage == "PublicTest" and int(emo) == pt.targets[0]
    assert np.array_equal(np.array(px.split(), np.uint8).reshape(48, 48), pt.image(0))
    assert np.array_equal(pt.index_of(["28710", "28709"]), [1, 0])


def test_private_split_absent_gives_clear_error(fer_csv):
    with pytest.raises(EdgeferError, match="no PrivateTest rows"):
        open_dataset(fer_csv, split="PrivateTest")
    with pytest.raises(EdgeferError, match="--split"):
        open_dataset(fer_csv, split="Validation")


def test_ferplus_majority_counts(fer_csv):
    tr = open_dataset(fer_csv, labels="ferplus", split="Training")
    pt = open_dataset(fer_csv, labels="ferplus", split="PublicTest")
    assert (len(tr), len(pt)) == (25060, 3199)
    assert tr.labels.name == "ferplus" and len(tr.labels) == 8
    assert np.allclose(tr.soft_targets.sum(1), 1.0)
    # the majority label is the arg-max of the vote distribution
    assert np.array_equal(tr.soft_targets.argmax(1), tr.targets)


def test_ferplus_plain_argmax_counts(fer_csv):
    """README: a plain arg-max (faces, top class an emotion) keeps 28,389 + 3,553 rows."""
    from edgefer.data.fer2013 import read_fer2013_csv
    import os

    _, usage, _ = read_fer2013_csv(fer_csv)
    _, names, votes = read_ferplus_votes(os.path.join(os.path.dirname(fer_csv), "fer2013new.csv"), len(usage))
    face = np.array([bool(n) for n in names])
    plain = face & (votes.argmax(1) < 8)
    usage = np.asarray(usage)
    assert (plain & (usage == "Training")).sum() == 28389
    assert (plain & (usage == "PublicTest")).sum() == 3553
    keep, _, _ = ferplus_majority(votes, names)
    assert (keep & (usage == "Training")).sum() == 25060


def _write(path, text):
    path.write_text(text)
    return str(path)


GOOD_ROW = "0," + " ".join(["7"] * 2304) + ",Training\n"


def test_malformed_fer2013(tmp_path):
    bad_header = _write(tmp_path / "a.csv", "label,pixels,Usage\n" + GOOD_ROW)
    with pytest.raises(EdgeferError, match=r"a\.csv line 1: header"):
        FER2013Dataset(bad_header)
    short = _write(tmp_path / "b.csv", "emotion,pixels,Usage\n" + GOOD_ROW + "3,1 2 3,Training\n")
    with pytest.raises(EdgeferError, match=r"b\.csv line 3: 3 pixel values, expected 2304"):
        FER2013Dataset(short)
    bad_label = _write(tmp_path / "c.csv", "emotion,pixels,Usage\n" + GOOD_ROW.replace("0,", "9,", 1))
    with pytest.raises(EdgeferError, match=r"c\.csv line 2: emotion 9 outside 0-6"):
        FER2013Dataset(bad_label)
    bad_usage = _write(tmp_path / "d.csv", "emotion,pixels,Usage\n" + GOOD_ROW.replace("Training", "Train"))
    with pytest.raises(EdgeferError, match=r"d\.csv line 2: Usage 'Train'"):
        FER2013Dataset(bad_usage)
    not_gz = _write(tmp_path / "e.csv.gz", "this is not gzip")
    with pytest.raises(EdgeferError, match=r"e\.csv\.gz: cannot read"):
        FER2013Dataset(not_gz)
    with pytest.raises(EdgeferError, match="does not exist"):
        open_dataset(str(tmp_path / "missing.csv"))


def test_malformed_ferplus(tmp_path):
    csv = _write(tmp_path / "fer2013.csv", "emotion,pixels,Usage\n" + GOOD_ROW * 2)
    with pytest.raises(EdgeferError, match="fer2013new.csv"):
        FER2013Dataset(csv, labels="ferplus")
    header = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n"
    _write(tmp_path / "fer2013new.csv", header + "Training,fer0000000.png,10,0,0,0,0,0,0,0,0,0\n")
    with pytest.raises(EdgeferError, match="has 1 rows but the FER2013 CSV has 2"):
        FER2013Dataset(csv, labels="ferplus")
    _write(tmp_path / "fer2013new.csv", header + "Training,fer0000000.png,10,0,0,0,0,0,0,0,0,0\nTraining,x.png,a,0\n")
    with pytest.raises(EdgeferError, match=r"fer2013new\.csv line 3: 4 columns, expected 12"):
        FER2013Dataset(csv, labels="ferplus")
    _write(tmp_path / "fer2013new.csv", header + "Training,fer0000000.png,10,0,0,0,0,0,0,0,0,0\n"
           "Training,,0,0,0,0,0,0,0,0,0,10\n")
    ds = FER2013Dataset(csv, labels="ferplus")
    assert ds.ids == ["0"] and ds.targets.tolist() == [0]  # the NF row is dropped


# -- the bad-input catalogue of the CSV readers (issue 12, class 5) -------------------------------

BAD_PIXELS = [
    ("letters", " ".join(["7"] * 2303) + " 7a", "line 2: pixels are not space-separated integers 0-255"),
    ("overflow", " ".join(["7"] * 2303) + " 99999999999999999999999", "line 2: pixels are not space-separated integers"),
    ("negative", " ".join(["7"] * 2303) + " -1", "line 2: 2304 pixel values, expected 2304 (48x48) integers 0-255"),
    ("too bright", " ".join(["7"] * 2303) + " 256", "line 2: 2304 pixel values, expected 2304 (48x48) integers 0-255"),
    ("float", " ".join(["7"] * 2303) + " 7.5", "line 2: pixels are not space-separated integers"),
    ("empty", "", "line 2: 0 pixel values"),
]


@pytest.mark.parametrize("what, pixels, message", BAD_PIXELS, ids=[b[0] for b in BAD_PIXELS])
def test_malformed_pixel_values_name_file_and_line(tmp_path, what, pixels, message):
    path = _write(tmp_path / "px.csv", "emotion,pixels,Usage\n0,%s,Training\n" % pixels)
    with pytest.raises(EdgeferError) as e:
        FER2013Dataset(path)
    assert str(e.value).startswith(path) and message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("votes, message", [
    ("10,0,0,0,0,0,0,0,0,-3", "line 2: vote counts"), ("10,0,0,0,0,0,0,0,0,1e9", "are not integers"),
    ("10,0,0,0,0,0,0,0,0,5000", "expected integers 0-1000"),
])
def test_malformed_ferplus_votes_name_file_and_line(tmp_path, votes, message):
    csv = _write(tmp_path / "fer2013.csv", "emotion,pixels,Usage\n" + GOOD_ROW)
    header = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n"
    votes_file = _write(tmp_path / "fer2013new.csv", header + "Training,fer0000000.png,%s\n" % votes)
    with pytest.raises(EdgeferError) as e:
        FER2013Dataset(csv, labels="ferplus")
    assert str(e.value).startswith(votes_file) and message in str(e.value)


def test_ferplus_votes_that_are_not_text_are_one_clear_error(tmp_path):
    csv = _write(tmp_path / "fer2013.csv", "emotion,pixels,Usage\n" + GOOD_ROW)
    (tmp_path / "fer2013new.csv").write_bytes(b"\xff\xfe\x00binary\x00")
    with pytest.raises(EdgeferError, match="fer2013new.csv: cannot read it as a CSV file"):
        FER2013Dataset(csv, labels="ferplus")


def test_fuzzed_csv_rows_give_data_or_one_clear_error(tmp_path_factory, monkeypatch):
    """Property: whatever a row holds, the reader returns images or raises EdgeferError with
    one line naming the file and the line, never another exception."""
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import strategies as st

    folder = tmp_path_factory.mktemp("fuzz")
    monkeypatch.setenv("EDGEFER_CACHE_DIR", str(tmp_path_factory.mktemp("fuzz-cache")))
    cell = st.one_of(st.text(max_size=12), st.integers(-300, 300).map(str), st.just(" ".join(["7"] * 2304)))

    @hypothesis.settings(max_examples=150, deadline=None, database=None)
    @hypothesis.given(rows=st.lists(st.lists(cell, min_size=0, max_size=4), min_size=1, max_size=3))
    def check(rows):
        import csv as csvlib
        import io

        buf = io.StringIO()
        w = csvlib.writer(buf)
        w.writerow(["emotion", "pixels", "Usage"])
        w.writerows(rows)
        path = str(folder / "f.csv")
        open(path, "w").write(buf.getvalue())
        from edgefer.data import fer2013

        fer2013._CACHE.clear()
        try:
            FER2013Dataset(path)
        except EdgeferError as exc:
            assert str(exc).startswith(path) and "\n" not in str(exc)

    check()
