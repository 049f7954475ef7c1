"""torch ``Dataset`` wrappers over the numpy readers of :mod:`edgefer.data`."""

import numpy as np
import torch


class TrainFaces(torch.utils.data.Dataset):
    """(input, soft target, index) for training: the shared preprocessing's framing and
    resize, then the augmentation, then the block's normalisation.

    Targets are always distributions over the classes (one-hot, label-smoothed, or the
    data set's own soft labels such as FER+ votes), so mixup and weighting work alike."""

    def __init__(self, dataset, preprocess, transform, label_smoothing=0.0, soft_labels=False):
        self.ds = dataset
        self.pre = preprocess
        self.transform = transform
        k = len(dataset.labels)
        if soft_labels and dataset.soft_targets is not None:
            t = dataset.soft_targets.astype(np.float32)
        else:
            t = np.eye(k, dtype=np.float32)[dataset.targets]
        if label_smoothing:
            t = t * (1.0 - label_smoothing) + label_smoothing / k
        self.soft = torch.from_numpy(t)
        self.mean = torch.tensor(preprocess.mean).view(3, 1, 1)
        self.std = torch.tensor(preprocess.std).view(3, 1, 1)

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        img = self.pre.prepare(self.ds.image(i), self.ds.box(i))
        t = torch.from_numpy(np.ascontiguousarray(img))
        t = t[None] if t.ndim == 2 else t.permute(2, 0, 1)
        x = self.transform(t)
        if x.shape[0] == 1:
            x = x.expand(3, -1, -1)
        return (x - self.mean) / self.std, self.soft[i], i


def predict_logits(model, dataset, preprocess, device, batch_size=256, indices=None):
    """Logits of ``model`` on ``dataset`` (or the given sample indices) through the shared
    numpy preprocessing: the evaluation path, the same one the runtime uses."""
    idx = np.arange(len(dataset)) if indices is None else np.asarray(indices)
    out = np.zeros((len(idx), model_num_classes(model)), np.float32)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for s in range(0, len(idx), batch_size):
            chunk = idx[s:s + batch_size]
            x = dataset.inputs(chunk, preprocess)
            out[s:s + len(chunk)] = model(torch.from_numpy(x).to(device)).float().cpu().numpy()
    model.train(was_training)
    return out


def model_num_classes(model):
    m = getattr(model, "module", model)
    if hasattr(m, "num_classes"):
        return m.num_classes
    return m.get_classifier().out_features
