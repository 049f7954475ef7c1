import sys, os, shutil, numpy as np, subprocess
sys.path.insert(0, "/work/main/benchmarks"); sys.path.insert(0, "/work/main")
import arm64_check as A
root = os.path.expanduser("~/.cache/edgefer/arm64/bookworm-arm64")
shutil.copy("/tmp/diag/x86.npz", root + "/tmp/x86.npz"); shutil.copy("/tmp/diag/logits.py", root + "/tmp/logits.py")
subprocess.run(["/work/main/.venv/bin/python", "/tmp/diag/logits.py", "/tmp/diag/x86.npz", "/tmp/diag/lx.npz"], check=True)
with A.Chroot(root) as c:
    c.run([A.VENV + "/bin/python", "/tmp/logits.py", "/tmp/x86.npz", "/tmp/la.npz"])
x = np.load("/tmp/diag/lx.npz"); a = np.load(root + "/tmp/la.npz")
print("letterbox input max diff", np.abs(x["x"] - a["x"]).max())
sx = 1/(1+np.exp(-x["logits"].astype(float))); sa = 1/(1+np.exp(-a["logits"].astype(float)))
print("logit max diff", np.abs(x["logits"] - a["logits"]).max(), "score max diff", np.abs(sx - sa).max())
print("reg max diff (px of 128)", np.abs(x["reg"] - a["reg"]).max())
print("scores near 0.6 threshold:", ((sx > 0.59) & (sx < 0.61)).sum())
