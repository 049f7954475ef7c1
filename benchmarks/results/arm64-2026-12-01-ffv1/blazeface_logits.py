import sys, numpy as np
from edgefer.runtime.blazeface import BlazeFace
det = BlazeFace("front", threads=1)
frames = np.load(sys.argv[1])["frames"]
L, B = [], []
for f in frames:
    x, s, px, py = det._letterbox(f)
    s512, s384, r512, r384 = det.session.run(det.output_names, {det.input_name: x})
    L.append(np.concatenate([s512[0, :, 0], s384[0, :, 0]]))
    B.append(np.concatenate([r512[0], r384[0]]))
np.savez(sys.argv[2], logits=np.stack(L), reg=np.stack(B), x=det._letterbox(frames[0])[0])
print("done", len(L))
