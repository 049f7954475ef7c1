"""The data set interface shared by every reader (numpy only, so it runs on a device)."""

import numpy as np

from ..errors import EdgeferError


class FaceDataset(object):
    """Face images of one split of a data set, with labels and stable sample ids.

    Attributes:
        name: the data set's kind (``fer2013``, ``rafdb``, ``affectnet``, ``folder``).
        path: what ``--data`` pointed at.
        labels: the :class:`~edgefer.labels.LabelSet` the targets index into.
        split: the split's name in the data set's own terms (e.g. ``PublicTest``).
        ids: list of str, one stable id per sample (CSV row index, or relative path).
        targets: int64 array (N,), class index per sample.
        soft_targets: float32 array (N, C) of label distributions (e.g. FER+ votes) or None.

    Subclasses implement :meth:`_load` (sample index -> uint8 image, HxW gray or HxWx3
    RGB) and may implement :meth:`box` for uncropped images with a face box.
    """

    #: the name of the split models are trained on; validation slices are carved from it
    train_split = "train"

    def __init__(self, name, path, labels, split, ids, targets, soft_targets=None):
        self.name = name
        self.path = str(path)
        self.labels = labels
        self.split = split
        self.ids = list(ids)
        self.targets = np.asarray(targets, dtype=np.int64)
        self.soft_targets = None if soft_targets is None else np.asarray(soft_targets, np.float32)
        if len(self.ids) != len(self.targets):
            raise ValueError("ids and targets differ in length")
        self._index = None

    def __len__(self):
        return len(self.ids)

    def __repr__(self):
        return "<%s %s split=%s labels=%s n=%d>" % (type(self).__name__, self.path, self.split, self.labels.name, len(self))

    def image(self, i):
        """The uint8 image of sample ``i`` (HxW grayscale or HxWx3 RGB), framed as stored."""
        return self._load(i)

    def box(self, i):
        """The face box (x0, y0, x1, y1) in the image of sample ``i``, or None when the image
        is already a face crop."""
        return None

    def _load(self, i):
        raise NotImplementedError

    def inputs(self, indices, preprocess):
        """Model input (float32 N x 3 x H x W) for some sample indices through ``preprocess``
        (a :class:`~edgefer.preprocess.Preprocess`), with each sample's face box."""
        idx = [int(i) for i in indices]
        return preprocess.batch([self.image(i) for i in idx], [self.box(i) for i in idx])

    def class_counts(self):
        return np.bincount(self.targets, minlength=len(self.labels))

    def index_of(self, ids):
        """Positions of the given sample ids; unknown ids raise an error naming one."""
        if self._index is None:
            self._index = {s: k for k, s in enumerate(self.ids)}
        out = []
        for s in ids:
            try:
                out.append(self._index[str(s)])
            except KeyError:
                raise EdgeferError("sample id %r is not in %s split %s" % (s, self.path, self.split)) from None
        return np.asarray(out, dtype=np.int64)

    def subset(self, indices, split=None):
        """A view of some samples (same images), e.g. a validation slice."""
        indices = np.asarray(indices, dtype=np.int64)
        return _Subset(self, indices, split or self.split)

    def describe(self):
        """One line: data set, label protocol, split and size."""
        return "%s %s | labels %s | split %s | %d images" % (self.name, self.path, self.labels.name, self.split, len(self))


class _Subset(FaceDataset):
    def __init__(self, parent, indices, split):
        FaceDataset.__init__(
            self, parent.name, parent.path, parent.labels, split,
            [parent.ids[k] for k in indices], parent.targets[indices],
            None if parent.soft_targets is None else parent.soft_targets[indices],
        )
        self.parent = parent
        self.parent_indices = indices
        self.train_split = parent.train_split

    def _load(self, i):
        return self.parent._load(int(self.parent_indices[i]))

    def box(self, i):
        return self.parent.box(int(self.parent_indices[i]))


def read_image(path, what="image"):
    """Decode an image file to uint8 RGB (or grayscale when the file is grayscale)."""
    from .. import deps

    cv2 = deps.cv2("reading image files")
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise EdgeferError("%s %s: cannot read it as an image (missing, unreadable or not an image file)" % (what, path))
    if img.dtype != np.uint8:  # 16-bit PNGs and the like
        img = cv2.convertScaleAbs(img, alpha=255.0 / max(1, int(img.max())))
    if img.ndim == 3:
        if img.shape[2] == 4:
            img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
        elif img.shape[2] == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        else:
            img = img[:, :, 0]
    return img
