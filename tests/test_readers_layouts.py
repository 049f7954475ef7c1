"""The RAF-DB, AffectNet and class-per-folder readers on small trees in the exact layouts
the data sets are downloaded in (real image files, distinct pixel values per image)."""

import os
import shutil

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from edgefer.data import detect_format, open_dataset  # noqa: E402
from edgefer.data.affectnet import AffectNetDataset, is_affectnet  # noqa: E402
from edgefer.data.folder import FolderDataset  # noqa: E402
from edgefer.data.rafdb import RAFDBDataset, is_rafdb  # noqa: E402
from edgefer.errors import DataFormatError, EdgeferError  # noqa: E402
from edgefer.labels import AFFECTNET7, AFFECTNET8, FER2013, FERPLUS, RAFDB, LabelSet  # noqa: E402


def write_image(path, rgb, shape=(100, 100)):
    """A constant-colour image; ``rgb`` a (r, g, b) triple, or an int for grayscale."""
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    if isinstance(rgb, int):
        img = np.full(shape, rgb, np.uint8)
    else:
        img = np.zeros(tuple(shape) + (3,), np.uint8)
        img[:] = (rgb[2], rgb[1], rgb[0])  # OpenCV writes BGR
    assert cv2.imwrite(str(path), img)


def assert_colour(img, rgb, tol=4):
    img = np.asarray(img, np.float64)
    if isinstance(rgb, int):
        assert img.ndim == 2
        assert abs(img.mean() - rgb) <= tol, (img.mean(), rgb)
    else:
        assert img.ndim == 3 and img.shape[2] == 3
        got = img.reshape(-1, 3).mean(axis=0)
        assert np.all(np.abs(got - np.asarray(rgb)) <= tol), (got, rgb)


# --------------------------------------------------------------------------- RAF-DB

RAF_LINES = [  # name, label 1-7 (surprise, fear, disgust, happiness, sadness, anger, neutral)
    ("train_00001.jpg", 1),
    ("train_00002.jpg", 4),
    ("train_00003.jpg", 4),
    ("train_00004.jpg", 7),
    ("train_00005.jpg", 3),
    ("test_0001.jpg", 5),
    ("test_0002.jpg", 6),
    ("test_0003.jpg", 7),
]


def raf_colour(k, original=False):
    return (20 * k + 10, 200 - 20 * k, 100 + (50 if original else 0))


def make_rafdb(tmp_path, lines=RAF_LINES, text=None):
    basic = tmp_path / "RAF-DB" / "basic"
    (basic / "EmoLabel").mkdir(parents=True)
    if text is None:
        text = "".join("%s %d\n" % nl for nl in lines)
    (basic / "EmoLabel" / "list_patition_label.txt").write_text(text)
    for k, (name, _) in enumerate(lines):
        stem = name[:-4]
        write_image(basic / "Image" / "aligned" / (stem + "_aligned.jpg"), raf_colour(k))
        write_image(basic / "Image" / "original" / name, raf_colour(k, True), shape=(150, 200))
    return basic


def test_rafdb_train_and_test_splits(tmp_path):
    basic = make_rafdb(tmp_path)
    ds = RAFDBDataset(str(basic))
    assert ds.name == "rafdb" and ds.split == "train" and ds.train_split == "train"
    assert ds.labels == RAFDB
    assert len(ds) == 5
    assert ds.ids[0] == "Image/aligned/train_00001_aligned.jpg"
    assert ds.ids == ["Image/aligned/%s_aligned.jpg" % n[:-4] for n, _ in RAF_LINES[:5]]
    assert [ds.labels.names[t] for t in ds.targets] == ["surprise", "happy", "happy", "neutral", "disgust"]
    assert ds.class_counts().tolist() == [1, 0, 1, 2, 0, 0, 1]
    assert ds.dropped == 0

    test = RAFDBDataset(str(basic), split="test")
    assert test.split == "test" and len(test) == 3
    assert test.ids == ["Image/aligned/test_000%d_aligned.jpg" % k for k in (1, 2, 3)]
    assert [test.labels.names[t] for t in test.targets] == ["sad", "angry", "neutral"]


def test_rafdb_parent_folder_and_split_aliases(tmp_path):
    basic = make_rafdb(tmp_path)
    parent = RAFDBDataset(str(basic.parent), split="Training")
    direct = RAFDBDataset(str(basic), split="train")
    assert parent.ids == direct.ids and parent.targets.tolist() == direct.targets.tolist()
    assert parent.split == "train"
    assert len(RAFDBDataset(str(basic.parent), split="Test")) == 3
    assert len(RAFDBDataset(str(basic), split="test")) == 3
    with pytest.raises(EdgeferError, match="not a RAF-DB split"):
        RAFDBDataset(str(basic), split="val")


def test_rafdb_images_aligned_original_and_fallback(tmp_path):
    basic = make_rafdb(tmp_path)
    ds = RAFDBDataset(str(basic))
    assert ds.image_folder == "aligned"
    img = ds.image(1)
    assert img.shape == (100, 100, 3) and img.dtype == np.uint8
    assert_colour(img, raf_colour(1))
    assert_colour(ds.image(4), raf_colour(4))
    assert ds.box(0) is None
    test = RAFDBDataset(str(basic), split="test")
    assert_colour(test.image(2), raf_colour(7))

    orig = RAFDBDataset(str(basic), images="original")
    assert orig.ids[0] == "Image/original/train_00001.jpg"
    assert orig.image(0).shape == (150, 200, 3)
    assert_colour(orig.image(3), raf_colour(3, True))

    shutil.rmtree(str(basic / "Image" / "aligned"))
    fallback = RAFDBDataset(str(basic))
    assert fallback.image_folder == "original"
    assert fallback.ids == orig.ids
    assert_colour(fallback.image(2), raf_colour(2, True))
    with pytest.raises(EdgeferError, match="aligned"):
        RAFDBDataset(str(basic), images="cropped")


def test_rafdb_labels_onto_other_protocols(tmp_path):
    basic = make_rafdb(tmp_path)
    ds = RAFDBDataset(str(basic), labels="fer2013")
    assert ds.labels == FER2013
    assert ds.targets.tolist() == [FER2013.names.index(n) for n in ("surprise", "happy", "happy", "neutral", "disgust")]
    assert ds.targets[0] == 5  # surprise is FER2013 label 5
    ds8 = RAFDBDataset(str(basic), labels="affectnet8")
    assert [ds8.labels.names[t] for t in ds8.targets] == ["surprise", "happy", "happy", "neutral", "disgust"]
    # a label set without some RAF-DB classes drops their images
    small = LabelSet("two", ("happy", "neutral"))
    part = RAFDBDataset(str(basic), labels=small)
    assert len(part) == 3 and part.dropped == 2
    assert part.ids == ["Image/aligned/train_0000%d_aligned.jpg" % k for k in (2, 3, 4)]
    assert part.targets.tolist() == [0, 0, 1]
    assert_colour(part.image(2), raf_colour(3))  # train_00004
    with pytest.raises(EdgeferError, match="unknown label protocol"):
        RAFDBDataset(str(basic), labels="nope")


def test_rafdb_detected_and_opened(tmp_path):
    basic = make_rafdb(tmp_path)
    assert is_rafdb(str(basic)) and is_rafdb(str(basic.parent))
    assert not is_rafdb(str(tmp_path / "nothing"))
    assert detect_format(str(basic)) == "rafdb"
    assert detect_format(str(basic.parent)) == "rafdb"
    ds = open_dataset(str(basic.parent))
    assert isinstance(ds, RAFDBDataset) and ds.split == "train" and ds.labels == RAFDB and len(ds) == 5
    test = open_dataset(str(basic), split="test", labels="ferplus")
    assert test.labels == FERPLUS and [test.labels.names[t] for t in test.targets] == ["sad", "angry", "neutral"]


def test_rafdb_subset(tmp_path):
    basic = make_rafdb(tmp_path)
    ds = RAFDBDataset(str(basic))
    sub = ds.subset([3, 1], split="val")
    assert len(sub) == 2 and sub.split == "val" and sub.train_split == "train"
    assert sub.ids == [ds.ids[3], ds.ids[1]]
    assert sub.targets.tolist() == [ds.targets[3], ds.targets[1]]
    assert_colour(sub.image(1), raf_colour(1))
    assert ds.index_of([ds.ids[4]]).tolist() == [4]


@pytest.mark.parametrize("bad_line, what", [
    ("train_00003.jpg 9", "label 9 outside 1-7"),
    ("train_00003.jpg happy", "not an integer"),
    ("train_00003.jpg 4 extra", "3 fields, expected 2"),
    ("val_00003.jpg 4", "does not start with 'train_' or 'test_'"),
    ("train_00001.jpg 4", "listed again"),
])
def test_rafdb_bad_label_lines(tmp_path, bad_line, what):
    lines = ["train_00001.jpg 1", "train_00002.jpg 4", bad_line, "test_0001.jpg 5"]
    basic = make_rafdb(tmp_path, lines=RAF_LINES[:2], text="\n".join(lines) + "\n")
    with pytest.raises(DataFormatError) as e:
        RAFDBDataset(str(basic))
    msg = str(e.value)
    assert "list_patition_label.txt line 3" in msg
    assert what in msg


def test_rafdb_missing_label_file_empty_split_missing_image(tmp_path):
    basic = make_rafdb(tmp_path, lines=RAF_LINES[:5])  # no test_ lines
    with pytest.raises(EdgeferError) as e:
        RAFDBDataset(str(basic), split="test")
    assert "list_patition_label.txt" in str(e.value) and "no test images" in str(e.value)

    os.remove(str(basic / "Image" / "aligned" / "train_00002_aligned.jpg"))
    ds = RAFDBDataset(str(basic))
    with pytest.raises(EdgeferError, match="train_00002_aligned.jpg"):
        ds.image(1)

    os.remove(str(basic / "EmoLabel" / "list_patition_label.txt"))
    assert detect_format(str(basic)) == "rafdb"
    with pytest.raises(EdgeferError) as e:
        RAFDBDataset(str(basic))
    assert "list_patition_label.txt" in str(e.value) and "missing" in str(e.value)

    (basic / "EmoLabel" / "list_patition_label.txt").write_text("\n\n")
    with pytest.raises(DataFormatError, match="list_patition_label.txt is empty"):
        RAFDBDataset(str(basic))


# --------------------------------------------------------------------------- AffectNet

AFFECTNET_HEADER = ("subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,"
                    "expression,valence,arousal")
# (subDirectory_filePath, expression): 0-10 once each, then two more
TRAIN_ROWS = [("%d/img%02d.jpg" % (100 + k % 3, k), k) for k in range(11)] + [
    ("105/extra_contempt.jpg", 7), ("105/extra_happy.png", 1)]
VAL_ROWS = [("200/v0.jpg", 6), ("200/v1.jpg", 8), ("201/v2.jpg", 3)]


def an_colour(k):
    return (10 + 17 * k, 240 - 15 * k, (60 * k) % 256)


def an_row(k, sub, expr):
    return "%s,%d,%d,%d,%d,%s,%s,0.25,-0.5" % (sub, 5 + k, 7, 20 + k, 30, "1.5;2.5;3.5;4.5", expr)


def make_affectnet(tmp_path, lists_folder=True, images_folder=True, train_text=None, val_text=None):
    root = tmp_path / "AffectNet"
    lists = root / "Manually_Annotated_file_lists" if lists_folder else root
    lists.mkdir(parents=True)
    if train_text is None:
        train_text = AFFECTNET_HEADER + "\n" + "".join(an_row(k, s, e) + "\n" for k, (s, e) in enumerate(TRAIN_ROWS))
    (lists / "training.csv").write_text(train_text)
    if val_text is None:  # the release's validation.csv has no header
        val_text = "".join(an_row(50 + k, s, e) + "\n" for k, (s, e) in enumerate(VAL_ROWS))
    if val_text is not False:
        (lists / "validation.csv").write_text(val_text)
    images = root / "Manually_Annotated_Images" if images_folder else root
    for k, (sub, _) in enumerate(TRAIN_ROWS):
        write_image(images.joinpath(*sub.split("/")), an_colour(k), shape=(60, 80))
    for k, (sub, _) in enumerate(VAL_ROWS):
        write_image(images.joinpath(*sub.split("/")), an_colour(k + 1), shape=(64, 48))
    return root


def test_affectnet_train_affectnet8(tmp_path):
    root = make_affectnet(tmp_path)
    ds = AffectNetDataset(str(root))
    assert ds.name == "affectnet" and ds.split == "train" and ds.train_split == "train"
    assert ds.labels == AFFECTNET8
    kept = [(s, e) for s, e in TRAIN_ROWS if e <= 7]
    assert len(ds) == 10 and ds.dropped == 3
    assert ds.ids == [s for s, _ in kept]
    assert ds.targets.tolist() == [e for _, e in kept]
    assert ds.labels.names[ds.targets[1]] == "happy" and ds.labels.names[ds.targets[7]] == "contempt"
    assert ds.class_counts().tolist() == [1, 2, 1, 1, 1, 1, 1, 2]
    assert "100/img09.jpg" not in ds.ids and "101/img10.jpg" not in ds.ids


def test_affectnet7_drops_contempt(tmp_path):
    root = make_affectnet(tmp_path)
    ds = AffectNetDataset(str(root), labels="affectnet7")
    assert ds.labels == AFFECTNET7 and len(ds.labels) == 7
    assert len(ds) == 8 and ds.dropped == 5
    assert "101/img07.jpg" not in ds.ids and "105/extra_contempt.jpg" not in ds.ids
    assert ds.ids[-1] == "105/extra_happy.png" and ds.labels.names[ds.targets[-1]] == "happy"
    fer = AffectNetDataset(str(root), labels="fer2013")
    assert len(fer) == 8
    assert fer.targets[fer.ids.index("101/img01.jpg")] == FER2013.names.index("happy")
    assert fer.targets[fer.ids.index("100/img06.jpg")] == FER2013.names.index("angry")


def test_affectnet_boxes_and_full_images(tmp_path):
    root = make_affectnet(tmp_path)
    ds = AffectNetDataset(str(root))
    k = ds.ids.index("102/img02.jpg")
    assert ds.box(k) == (7.0, 7.0, 7.0 + 22.0, 37.0)  # x=5+2, y=7, w=20+2, h=30
    for i, sid in enumerate(ds.ids):
        j = [s for s, _ in TRAIN_ROWS].index(sid)
        x0, y0, x1, y1 = ds.box(i)
        assert all(isinstance(v, float) for v in (x0, y0, x1, y1))
        assert (x0, y0, x1, y1) == (5.0 + j, 7.0, 25.0 + 2 * j, 37.0)
    img = ds.image(k)
    assert img.shape == (60, 80, 3)  # uncropped
    assert_colour(img, an_colour(2))
    png = ds.image(ds.ids.index("105/extra_happy.png"))
    assert png.shape == (60, 80, 3)
    assert np.array_equal(png.reshape(-1, 3)[0], np.asarray(an_colour(12), np.uint8))  # lossless PNG
    sub = ds.subset([k, 0])
    assert sub.box(0) == ds.box(k) and sub.box(1) == ds.box(0)
    assert_colour(sub.image(0), an_colour(2))


def test_affectnet_val_split_headerless_and_aliases(tmp_path):
    root = make_affectnet(tmp_path)
    for split in ("val", "validation", "test", "Validation"):
        ds = AffectNetDataset(str(root), split=split)
        assert ds.split == "val"
        assert ds.ids == ["200/v0.jpg", "201/v2.jpg"] and ds.dropped == 1
        assert [ds.labels.names[t] for t in ds.targets] == ["angry", "surprise"]
    assert ds.box(1) == (57.0, 7.0, 57.0 + 72.0, 37.0)
    assert ds.image(1).shape == (64, 48, 3)
    assert_colour(ds.image(1), an_colour(3))
    with pytest.raises(EdgeferError, match="not an AffectNet split"):
        AffectNetDataset(str(root), split="holdout")


def test_affectnet_flat_layout_and_detection(tmp_path):
    root = make_affectnet(tmp_path, lists_folder=False, images_folder=False)
    assert is_affectnet(str(root)) and not is_rafdb(str(root))
    assert detect_format(str(root)) == "affectnet"
    ds = open_dataset(str(root))
    assert isinstance(ds, AffectNetDataset) and ds.labels == AFFECTNET8 and len(ds) == 10
    assert_colour(ds.image(ds.ids.index("102/img05.jpg")), an_colour(5))
    root2 = make_affectnet(tmp_path / "b")
    assert detect_format(str(root2)) == "affectnet"
    v = open_dataset(str(root2), split="test", labels="affectnet7")
    assert v.split == "val" and v.labels == AFFECTNET7 and len(v) == 2


def test_affectnet_image_fallback_to_root(tmp_path):
    root = make_affectnet(tmp_path)
    # one image moved out of Manually_Annotated_Images/ to ROOT/<subDirectory_filePath>
    src = root / "Manually_Annotated_Images" / "100" / "img03.jpg"
    (root / "100").mkdir()
    shutil.move(str(src), str(root / "100" / "img03.jpg"))
    ds = AffectNetDataset(str(root))
    assert_colour(ds.image(ds.ids.index("100/img03.jpg")), an_colour(3))
    os.remove(str(root / "100" / "img03.jpg"))
    ds = AffectNetDataset(str(root))  # missing images are not checked at open time
    with pytest.raises(EdgeferError) as e:
        ds.image(ds.ids.index("100/img03.jpg"))
    assert "img03.jpg" in str(e.value) and "cannot read" in str(e.value)


def _train_text(bad_row=None, header=AFFECTNET_HEADER):
    rows = [an_row(k, s, e) for k, (s, e) in enumerate(TRAIN_ROWS[:4])]
    if bad_row is not None:
        rows.insert(1, bad_row)  # file line 3
    return header + "\n" + "\n".join(rows) + "\n"


@pytest.mark.parametrize("text, what, line", [
    (_train_text(header="path,label"), "header", 1),
    (_train_text(header="subDirectory_filePath,face_x,face_y,face_width,face_height,landmarks,label,valence,arousal"),
     "header", 1),
    (_train_text("1/x.jpg,1,2,3,4,1;2,happy,0.1,0.2"), "expression 'happy' is not an integer 0-10", 3),
    (_train_text("1/x.jpg,1,2,3,4,1;2,11,0.1,0.2"), "expression 11 outside 0-10", 3),
    (_train_text("1/x.jpg,1,2,3,4,1;2,1"), "7 columns, expected 9", 3),
    (_train_text("1/x.jpg,a,2,3,4,1;2,1,0.1,0.2"), "face box", 3),
    (_train_text("1/x.jpg,1,2,0,4,1;2,1,0.1,0.2"), "width 0", 3),
])
def test_affectnet_malformed_csv(tmp_path, text, what, line):
    root = make_affectnet(tmp_path, train_text=text)
    with pytest.raises(DataFormatError) as e:
        AffectNetDataset(str(root))
    msg = str(e.value)
    assert "training.csv line %d:" % line in msg
    assert what in msg


def test_affectnet_missing_and_empty_csv(tmp_path):
    root = make_affectnet(tmp_path, val_text=False)
    assert len(AffectNetDataset(str(root))) == 10
    with pytest.raises(EdgeferError) as e:
        AffectNetDataset(str(root), split="val")
    assert "validation.csv not found" in str(e.value)

    root = make_affectnet(tmp_path / "empty", val_text=AFFECTNET_HEADER + "\n")
    with pytest.raises(EdgeferError) as e:
        AffectNetDataset(str(root), split="val")
    assert "validation.csv" in str(e.value) and "empty" in str(e.value)

    root = make_affectnet(tmp_path / "none", val_text=an_row(0, "1/a.jpg", 9) + "\n" + an_row(1, "1/b.jpg", 10) + "\n")
    with pytest.raises(EdgeferError) as e:
        AffectNetDataset(str(root), split="val")
    assert "validation.csv" in str(e.value) and "no row" in str(e.value)


# --------------------------------------------------------------------------- folders


def make_tree(root, spec, start=0):
    """spec: {relative class folder: number of images}; returns {id: grey value}."""
    values = {}
    v = start
    for folder, n in spec.items():
        for j in range(n):
            ext = ("png", "jpg", "jpeg", "PNG")[j % 4]
            rel = "%s/%03d.%s" % (folder, j, ext)
            v += 9
            write_image(root.joinpath(*rel.split("/")), v % 256, shape=(48, 40))
            values[rel] = v % 256
    return values


def test_folder_class_layout_custom_labels(tmp_path):
    root = tmp_path / "faces"
    values = make_tree(root, {"Angry": 3, "happiness": 2, "Neutral": 4})
    (root / "README.txt").write_text("not an image")
    ds = FolderDataset(str(root))
    assert ds.name == "folder" and ds.split == "all" and ds.train_split == "all" and ds.splits == []
    assert ds.labels.names == ("neutral", "happy", "angry")  # canonical order
    assert ds.labels.name == "custom"
    assert ds.ids == sorted(values)
    assert ds.ids[0] == "Angry/000.png"
    assert ds.class_counts().tolist() == [4, 2, 3]
    for i, sid in enumerate(ds.ids):
        assert ds.labels.names[ds.targets[i]] == {"Angry": "angry", "happiness": "happy", "Neutral": "neutral"}[sid.split("/")[0]]
    k = ds.ids.index("happiness/001.jpg")
    img = ds.image(k)
    assert img.shape == (48, 40)
    assert_colour(img, values["happiness/001.jpg"])
    assert ds.box(k) is None
    assert detect_format(str(root)) == "folder"
    opened = open_dataset(str(root), split="all")
    assert isinstance(opened, FolderDataset) and opened.ids == ds.ids
    with pytest.raises(EdgeferError) as e:
        FolderDataset(str(root), split="train")
    assert "no split folders" in str(e.value)


def test_folder_known_protocol_and_given_labels(tmp_path):
    root = tmp_path / "fer"
    spec = {"angry": 1, "disgust": 2, "fear": 1, "happy": 3, "sad": 1, "surprise": 1, "neutral": 2}
    make_tree(root, spec)
    ds = FolderDataset(str(root))
    assert ds.labels == FER2013 and ds.labels.name == "fer2013"
    assert ds.class_counts().tolist() == [1, 2, 1, 3, 1, 1, 2]

    root8 = tmp_path / "fer8"
    make_tree(root8, dict(spec, contempt=2))
    ds8 = FolderDataset(str(root8))
    assert ds8.labels == FERPLUS and len(ds8) == 13
    ds7 = FolderDataset(str(root8), labels="fer2013")
    assert ds7.labels == FER2013 and len(ds7) == 11 and ds7.dropped == 2 and ds7.dropped_classes == ["contempt"]
    assert not any(i.startswith("contempt/") for i in ds7.ids)
    raf = FolderDataset(str(root8), labels="rafdb")
    assert raf.targets[raf.ids.index("surprise/000.png")] == 0


def test_folder_split_layout(tmp_path):
    root = tmp_path / "tree"
    values = make_tree(root, {"train/anger": 3, "train/Happy": 2, "train/sadness": 2,
                              "test/angry": 2, "test/happy": 1})
    (root / "docs").mkdir()
    (root / "docs" / "notes.txt").write_text("a folder without class folders is not a split")
    ds = FolderDataset(str(root))
    assert ds.splits == ["test", "train"] and ds.split == "train" and ds.train_split == "train"
    assert ds.labels.names == ("happy", "sad", "angry")
    assert len(ds) == 7 and ds.ids[0] == "train/Happy/000.png"
    test = FolderDataset(str(root), split="TEST")
    assert test.split == "test" and test.train_split == "train"
    assert test.labels == ds.labels  # classes collected over both splits
    assert test.ids == ["test/angry/000.png", "test/angry/001.jpg", "test/happy/000.png"]
    assert [test.labels.names[t] for t in test.targets] == ["angry", "angry", "happy"]
    assert test.class_counts().tolist() == [1, 0, 2]
    assert_colour(test.image(2), values["test/happy/000.png"])
    assert detect_format(str(root)) == "folder"
    assert open_dataset(str(root)).split == "train"
    with pytest.raises(EdgeferError) as e:
        FolderDataset(str(root), split="val")
    assert "not a split folder" in str(e.value) and "test, train" in str(e.value)
    with pytest.raises(EdgeferError) as e:
        FolderDataset(str(root), split="all")
    assert "not a split folder" in str(e.value)
    sub = ds.subset(np.flatnonzero(ds.targets == ds.labels.index("sad")))
    assert sub.ids == ["train/sadness/000.png", "train/sadness/001.jpg"]
    assert_colour(sub.image(1), values["train/sadness/001.jpg"])


def test_folder_split_names_and_aliases(tmp_path):
    root = tmp_path / "kaggle"
    make_tree(root, {"Training/happy": 2, "PublicTest/happy": 1, "Validation/sad": 1})
    ds = FolderDataset(str(root))
    assert ds.split == "Training" and ds.train_split == "Training"
    assert len(FolderDataset(str(root), split="train")) == 2
    assert FolderDataset(str(root), split="val").split == "Validation"
    assert FolderDataset(str(root), split="publictest").ids == ["PublicTest/happy/000.png"]

    only = tmp_path / "only"
    make_tree(only, {"eval/happy": 1, "eval/sad": 1})
    assert FolderDataset(str(only)).split == "eval"
    two = tmp_path / "two"
    make_tree(two, {"a/happy": 1, "b/sad": 1})
    with pytest.raises(EdgeferError, match="none named train"):
        FolderDataset(str(two))


def test_folder_numeric_classes(tmp_path):
    root = tmp_path / "affectnet_copy"
    make_tree(root, {"train/%d" % k: 1 + k % 2 for k in range(8)})
    make_tree(root, {"val/%d" % k: 1 for k in range(8)})
    with pytest.raises(EdgeferError) as e:
        FolderDataset(str(root))
    assert "--labels" in str(e.value) and os.path.join("train", "0") in str(e.value)
    with pytest.raises(EdgeferError, match="--labels"):
        open_dataset(str(root))

    ds = FolderDataset(str(root), labels="affectnet8")
    assert ds.labels == AFFECTNET8 and len(ds) == 12 and ds.dropped == 0
    assert ds.labels.names[ds.targets[ds.ids.index("train/1/000.png")]] == "happy"
    assert ds.labels.names[ds.targets[ds.ids.index("train/7/001.jpg")]] == "contempt"
    assert ds.class_counts().tolist() == [1, 2, 1, 2, 1, 2, 1, 2]

    ds7 = FolderDataset(str(root), split="val", labels="affectnet7")
    assert ds7.labels == AFFECTNET7 and len(ds7) == 7 and ds7.dropped == 1 and ds7.dropped_classes == ["7"]
    assert ds7.targets.tolist() == list(range(7))

    # rafdb has 7 classes, so folder 7 cannot be one of its indices
    with pytest.raises(EdgeferError) as e:
        FolderDataset(str(root), split="val", labels="rafdb")
    assert os.path.join("train", "7") in str(e.value) and "0-6" in str(e.value)

    none = tmp_path / "with_none"
    make_tree(none, {"0": 1, "1": 2, "8": 2})
    an = FolderDataset(str(none), labels="affectnet8")  # AffectNet 8-10 are dropped like the CSV reader does
    assert len(an) == 3 and an.dropped == 2 and an.dropped_classes == ["8"]
    make_tree(none, {"11": 1})
    with pytest.raises(EdgeferError) as e:
        FolderDataset(str(none), labels="affectnet8")
    assert os.path.join("with_none", "11") in str(e.value) and "not a class index" in str(e.value)

    ferroot = tmp_path / "fer_copy"
    make_tree(ferroot, {"%d" % k: 1 for k in range(7)})
    fer = FolderDataset(str(ferroot), labels="fer2013")  # numbers as FER2013 indices
    assert fer.split == "all" and fer.labels == FER2013 and len(fer) == 7
    assert fer.labels.names[fer.targets[fer.ids.index("0/000.png")]] == "angry"
    assert fer.labels.names[fer.targets[fer.ids.index("6/000.png")]] == "neutral"
    assert fer.targets.tolist() == list(range(7))


def test_folder_unknown_class_folder(tmp_path):
    root = tmp_path / "bad"
    make_tree(root, {"happy": 2, "sad": 1, "unknown": 2})
    with pytest.raises(EdgeferError) as e:
        FolderDataset(str(root))
    msg = str(e.value)
    assert os.path.join("bad", "unknown") in msg and "not a class folder" in msg
    assert "neutral" in msg and "happiness" in msg  # the accepted names
    # an empty non-class folder is ignored
    shutil.rmtree(str(root / "unknown"))
    (root / "unknown").mkdir()
    assert len(FolderDataset(str(root))) == 3

    split = tmp_path / "splitbad"
    make_tree(split, {"train/happy": 1, "train/NF": 1, "test/happy": 1})
    with pytest.raises(EdgeferError) as e:
        FolderDataset(str(split), split="test")
    assert os.path.join("train", "NF") in str(e.value)


def test_folder_stray_duplicate_and_empty(tmp_path):
    root = tmp_path / "stray"
    make_tree(root, {"happy": 1, "sad": 1})
    write_image(root / "loose.jpg", 7)
    with pytest.raises(EdgeferError) as e:
        FolderDataset(str(root))
    assert "loose.jpg" in str(e.value) and "not in a class folder" in str(e.value)

    dup = tmp_path / "dup"
    make_tree(dup, {"anger": 1, "angry": 1})
    with pytest.raises(EdgeferError) as e:
        FolderDataset(str(dup))
    assert "anger" in str(e.value) and "both class angry" in str(e.value)

    empty = tmp_path / "empty"
    (empty / "happy").mkdir(parents=True)
    (empty / "sad").mkdir()
    with pytest.raises(EdgeferError) as e:
        FolderDataset(str(empty))
    assert "no images" in str(e.value) and "empty" in str(e.value)

    nothing = tmp_path / "nothing"
    nothing.mkdir()
    with pytest.raises(EdgeferError, match="no class folders"):
        FolderDataset(str(nothing))

    emptysplit = tmp_path / "emptysplit"
    make_tree(emptysplit, {"train/happy": 2, "test/contempt": 1})
    with pytest.raises(EdgeferError) as e:
        FolderDataset(str(emptysplit), split="test", labels="fer2013")
    assert "test" in str(e.value) and "no images of label set fer2013" in str(e.value) and "contempt" in str(e.value)


def test_folder_nested_images_and_missing_file(tmp_path):
    root = tmp_path / "nested"
    values = make_tree(root, {"happy/session1": 2, "happy": 1, "sad": 1})
    ds = FolderDataset(str(root))
    assert ds.ids == ["happy/000.png", "happy/session1/000.png", "happy/session1/001.jpg", "sad/000.png"]
    assert_colour(ds.image(2), values["happy/session1/001.jpg"])
    os.remove(str(root / "sad" / "000.png"))
    with pytest.raises(EdgeferError, match="000.png"):
        ds.image(3)


# -- folder walks and empty classes (issue 12, class 5) -------------------------------------------


def test_a_symlink_loop_is_walked_once(tmp_path):
    root = tmp_path / "faces"
    for cls in ("happy", "sad"):
        for k in range(3):
            write_image(root / cls / ("%d.png" % k), 60 + k)
    os.symlink("..", str(root / "happy" / "loop"))           # happy/loop -> faces/
    os.symlink(str(root / "sad"), str(root / "happy" / "also-sad"))  # a second way into sad/
    ds = FolderDataset(str(root), labels="fer2013")
    # happy's own 3, and sad's 3 once more through one of the links (which one depends on the
    # walk order); the loop back to faces/ never repeats a folder
    assert len(ds) == 6 + 3
    happy = [os.path.realpath(os.path.join(str(root), i)) for i in ds.ids if i.startswith("happy/")]
    assert len(happy) == len(set(happy)) == 6


def test_an_empty_class_folder_does_not_choose_the_label_set(tmp_path):
    root = tmp_path / "faces"
    for cls in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"):
        write_image(root / cls / "a.png", 80)
    assert FolderDataset(str(root)).labels.name == "fer2013"
    os.makedirs(str(root / "contempt"))
    with pytest.raises(EdgeferError) as e:
        FolderDataset(str(root))
    msg = str(e.value)
    assert str(root / "contempt") in msg and "holds no images" in msg and "ferplus instead of fer2013" in msg
    assert FolderDataset(str(root), labels="fer2013").labels.name == "fer2013"  # told: fine
