"""The whole loop in ten lines, jetson-inference style: a source URI, the pipeline, an output URI.

    python examples/camera.py                       # camera 0 -> a window
    python examples/camera.py csi://0 web://0.0.0.0:8080
    python examples/camera.py video.mp4 annotated.mp4 [my.edgefer]
"""
import sys

import edgefer

source = sys.argv[1] if len(sys.argv) > 1 else "0"       # 0, video.mp4, rtsp://..., csi://0, picam://0, folder/
output = sys.argv[2] if len(sys.argv) > 2 else "display://0"  # out.mp4, frames/, out.jsonl, -, web://HOST:PORT
pipe = edgefer.Pipeline(sys.argv[3] if len(sys.argv) > 3 else "default")  # the shipped model unless given
for result in pipe.stream(int(source) if source.isdigit() else source, sinks=[output]):
    for face in result.faces:
        print(result.index, face.track_id, face.emotion, round(face.confidence, 2))
