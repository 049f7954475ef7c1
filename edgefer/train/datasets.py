"""torch ``Dataset`` wrappers over the numpy readers of :mod:`edgefer.data`."""

import numpy as np
import torch

from .. import progress


class TrainFaces(torch.utils.data.Dataset):
    """(prepared uint8 face, soft target, index) for training: the shared preprocessing's
    colour, framing and resize (:meth:`Preprocess.prepare`), C x H x W with C = 1 for
    gray3. Augmentation and normalisation happen on whole batches afterwards
    (:class:`~edgefer.train.transforms.BatchAugment`, :meth:`normalize`).

    Targets are always distributions over the classes (one-hot, label-smoothed, or the
    data set's own soft labels such as FER+ votes), so mixup and weighting work alike.
    ``teacher`` (N x K distributions, :mod:`edgefer.train.distill`) is mixed in with
    ``teacher_weight``: target = (1 - w) * label target + w * teacher."""

    def __init__(self, dataset, preprocess, label_smoothing=0.0, soft_labels=False, teacher=None,
                 teacher_weight=0.5):
        self.ds = dataset
        self.pre = preprocess
        k = len(dataset.labels)
        if soft_labels and dataset.soft_targets is not None:
            t = dataset.soft_targets.astype(np.float32)
        else:
            t = np.eye(k, dtype=np.float32)[dataset.targets]
        if label_smoothing:
            t = t * (1.0 - label_smoothing) + label_smoothing / k
        if teacher is not None:
            t = (1.0 - teacher_weight) * t + teacher_weight * np.asarray(teacher, np.float32)
        self.soft = torch.from_numpy(t)
        self.mean = torch.tensor(preprocess.mean).view(1, 3, 1, 1)
        self.std = torch.tensor(preprocess.std).view(1, 3, 1, 1)

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        img = self.pre.prepare(self.ds.image(i), self.ds.box(i))
        t = torch.from_numpy(np.ascontiguousarray(img))
        return (t[None] if t.ndim == 2 else t.permute(2, 0, 1)), self.soft[i], i

    def normalize(self, x):
        """Augmented N x C x H x W in [0, 1] -> the model's N x 3 x H x W input (the block's
        mean and std, grey copied to three channels as the runtime does)."""
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return (x - self.mean.to(x.device)) / self.std.to(x.device)


def predict_logits(model, dataset, preprocess, device, batch_size=256, indices=None, desc=None):
    """Logits of ``model`` on ``dataset`` (or the given sample indices) through the shared
    numpy preprocessing: the evaluation path, the same one the runtime uses. With ``desc``,
    the images done are reported through the progress hook under that name."""
    idx = np.arange(len(dataset)) if indices is None else np.asarray(indices)
    out = np.zeros((len(idx), model_num_classes(model)), np.float32)
    was_training = model.training
    model.eval()
    with torch.inference_mode(), (progress.bar(total=len(idx), desc=desc, unit="img") if desc else progress.Bar()) as bar:
        for s in range(0, len(idx), batch_size):
            chunk = idx[s:s + batch_size]
            x = dataset.inputs(chunk, preprocess)
            out[s:s + len(chunk)] = model(torch.from_numpy(x).to(device)).float().cpu().numpy()
            bar.update(len(chunk))
    model.train(was_training)
    return out


def model_num_classes(model):
    m = getattr(model, "module", model)
    if hasattr(m, "num_classes"):
        return m.num_classes
    return m.get_classifier().out_features
