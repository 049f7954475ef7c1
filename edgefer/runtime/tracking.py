"""Face tracking and emotion smoothing.

* **Identity**: detections are matched to tracks by IoU, greedily from the highest overlap
  (at a handful of faces per frame this equals the Hungarian assignment in practice and
  needs no scipy on the device). A match needs IoU >= ``iou_threshold``. A track missing
  for more than ``max_missed`` frames is lost.
* **Smoothing**: per-track class probabilities, either an exponential moving average
  (``alpha`` = weight of the new frame) or the mean over the last ``window`` frames.
* **Hysteresis**: the reported emotion changes only when another class's smoothed
  probability beats the current one's by at least ``hysteresis`` — a face hovering between
  two classes does not flicker.
* **Events**: ``appeared`` (new track), ``emotion_changed``, ``lost``.
"""

from collections import deque

import numpy as np

from ..errors import EdgeferError
from .boxes import iou_matrix
from .types import Event, Face

SMOOTHING = ("ema", "window", "none")


class Track(object):
    __slots__ = ("id", "box", "score", "landmarks", "probs", "history", "emotion", "missed", "hits", "raw")

    def __init__(self, track_id, det, probs, window):
        self.id = track_id
        self.box, self.score, self.landmarks = det.box, det.score, det.landmarks
        self.probs = probs.astype(np.float32).copy()
        self.history = deque([self.probs], maxlen=max(1, window))
        self.emotion = int(np.argmax(self.probs))
        self.missed = 0
        self.hits = 1
        self.raw = self.probs


class Tracker(object):
    """IoU tracker with per-track smoothing and hysteresis (see the module docstring)."""

    def __init__(self, labels, iou_threshold=0.3, max_missed=10, smoothing="ema", alpha=0.3, window=8,
                 hysteresis=0.1):
        if smoothing not in SMOOTHING:
            raise EdgeferError("--smoothing %r: expected one of %s" % (smoothing, ", ".join(SMOOTHING)))
        if not 0.0 < alpha <= 1.0:
            raise EdgeferError("--alpha %r: expected 0 < alpha <= 1" % (alpha,))
        if hysteresis < 0:
            raise EdgeferError("--hysteresis %r: expected >= 0" % (hysteresis,))
        self.labels = list(labels)
        self.iou_threshold = float(iou_threshold)
        self.max_missed = int(max_missed)
        self.smoothing = smoothing
        self.alpha = float(alpha)
        self.window = int(window)
        self.hysteresis = float(hysteresis)
        self.tracks = []
        self._next_id = 1

    def reset(self):
        self.tracks = []
        self._next_id = 1

    def _smooth(self, track, probs):
        track.raw = probs
        if self.smoothing == "ema":
            track.probs = (1.0 - self.alpha) * track.probs + self.alpha * probs
        elif self.smoothing == "window":
            track.history.append(probs)
            track.probs = np.mean(np.stack(track.history), axis=0)
        else:
            track.probs = probs

    def _decide(self, track):
        """Hysteresis: switch only when the best class beats the current one by the margin."""
        best = int(np.argmax(track.probs))
        if best != track.emotion and track.probs[best] - track.probs[track.emotion] >= self.hysteresis:
            old = track.emotion
            track.emotion = best
            return old
        return None

    def update(self, detections, probs, frame_index=0, timestamp=0.0):
        """Match this frame's detections (with their class probabilities, (N, C)) to tracks.
        Returns (faces, events) for the frame: one :class:`Face` per detection, in the
        detections' order."""
        probs = np.asarray(probs, np.float32).reshape(len(detections), len(self.labels))
        events = []
        assigned = [None] * len(detections)
        if self.tracks and detections:
            m = iou_matrix([t.box for t in self.tracks], [d.box for d in detections])
            pairs = np.dstack(np.unravel_index(np.argsort(-m, axis=None), m.shape))[0]
            used_t, used_d = set(), set()
            for ti, di in pairs:
                if m[ti, di] < self.iou_threshold:
                    break
                if ti in used_t or di in used_d:
                    continue
                used_t.add(ti)
                used_d.add(di)
                assigned[di] = self.tracks[ti]
        matched = set(id(t) for t in assigned if t is not None)
        survivors = []
        for t in self.tracks:
            if id(t) in matched:
                survivors.append(t)
                continue
            t.missed += 1
            if t.missed > self.max_missed:
                events.append(Event(Event.LOST, t.id, self.labels[t.emotion], frame_index=frame_index,
                                    timestamp=timestamp))
            else:
                survivors.append(t)
        self.tracks = survivors
        faces = []
        for det, p, t in zip(detections, probs, assigned):
            if t is None:
                t = Track(self._next_id, det, p, self.window)
                self._next_id += 1
                self.tracks.append(t)
                events.append(Event(Event.APPEARED, t.id, self.labels[t.emotion], frame_index=frame_index,
                                    timestamp=timestamp))
            else:
                t.box, t.score, t.landmarks = det.box, det.score, det.landmarks
                t.missed = 0
                t.hits += 1
                self._smooth(t, p)
                old = self._decide(t)
                if old is not None:
                    events.append(Event(Event.EMOTION_CHANGED, t.id, self.labels[t.emotion], self.labels[old],
                                        frame_index=frame_index, timestamp=timestamp))
            faces.append(Face(t.id, det.box, det.score, det.landmarks, self.labels, t.probs, p,
                              self.labels[t.emotion], float(t.probs[t.emotion])))
        return faces, events

    def finish(self, frame_index=0, timestamp=0.0):
        """``lost`` events for every open track (end of the stream)."""
        events = [Event(Event.LOST, t.id, self.labels[t.emotion], frame_index=frame_index, timestamp=timestamp)
                  for t in self.tracks]
        self.tracks = []
        return events
