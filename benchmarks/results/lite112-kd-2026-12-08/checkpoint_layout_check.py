# One-off check (2026-12-08, 2-core AMD EPYC, nothing else running): a checkpoint's inference
# (edgefer.train.evaluate.checkpoint_logits: `edgefer eval CHECKPOINT`, a --teacher checkpoint)
# in NHWC instead of NCHW. 1,024 FER2013 Training faces, batch 256, 2 threads, each layout twice:
#   lite112-wide best.pt (Lite0, 112 px): NCHW 96 / 111 img/s, channels_last 192 / 193 img/s
#   vit64-52 best.pt (EfficientViT-M5, 64 px): NCHW 797 / 932 img/s, channels_last 998 / 1066 img/s
# with the same logits (printed to 3 decimals). The teacher pass of lite112-kd (51,674 images
# in PyTorch) took 8 min in NCHW.
import time, numpy as np, torch
from edgefer.train import checkpoint
from edgefer.train.datasets import predict_logits
from edgefer.preprocess import Preprocess
from edgefer.data import open_dataset
torch.set_num_threads(2)
ck = checkpoint.load("/work/edgefer-runs/vit64-52/best.pt")
ds = open_dataset("../shared/data/fer2013/fer2013.csv.gz", split="Training").subset(np.arange(1024), split="Training")
pre = Preprocess.from_dict(ck["preprocess"])
for cl in (False, True, False, True):
    net = checkpoint.build_model(ck)
    if cl: net = net.to(memory_format=torch.channels_last)
    t = time.time(); a = predict_logits(net, ds, pre, torch.device("cpu")); dt = time.time() - t
    print("channels_last" if cl else "nchw", "%.0f img/s" % (1024 / dt), a[:2, :3].round(3).tolist(), flush=True)
