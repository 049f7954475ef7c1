"""A ROS 2 node (rclpy) that publishes edgefer's emotion events, the same messages robot.py
sends over UDP, as ``std_msgs/msg/String`` holding one JSON object each.

NOT RUNNABLE IN THIS PROJECT'S CHECKS: rclpy comes with a ROS 2 installation (Humble on
Ubuntu 22.04 / JetPack 6, Jazzy on Ubuntu 24.04), which the test machine does not have; this
file is written against rclpy's documented API and has not been run. Within a sourced ROS 2
environment (and a venv made with --system-site-packages, so that rclpy is visible):

    source /opt/ros/humble/setup.bash
    python3 examples/robot/ros2_node.py --ros-args -p source:=csi://0 -p topic:=edgefer/events
    ros2 topic echo /edgefer/events

Parameters: ``source`` (camera number, file, csi://0, picam://0, rtsp://...; default "0"),
``bundle`` ("default", "ferplus" or a NAME.edgefer folder), ``topic`` (default
"edgefer/events"), ``min_confidence`` (0.5), ``cooldown`` (10.0 s). Message layout: the
``data`` field is the JSON object of README.md ("Message"): ``v``, ``event``, ``id``,
``label``, ``previous``, ``confidence``, ``box``, ``frame``, ``timestamp``, ``source``,
``sent``, ``action``. QoS: reliable, keep last 10.
"""

import json
import os
import sys
import threading

import rclpy
from rclpy.node import Node
from std_msgs.msg import String

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from robot import Behaviour, wire  # noqa: E402  (the same messages and decisions as robot.py)

import edgefer  # noqa: E402


class EmotionEvents(Node):
    """Runs the edgefer pipeline in a thread and publishes each event on ``topic``."""

    def __init__(self):
        super().__init__("edgefer_emotions")
        self.declare_parameter("source", "0")
        self.declare_parameter("bundle", "default")
        self.declare_parameter("topic", "edgefer/events")
        self.declare_parameter("min_confidence", 0.5)
        self.declare_parameter("cooldown", 10.0)
        param = self.get_parameter
        source = param("source").value
        self.source = int(source) if str(source).isdigit() else source
        self.publisher = self.create_publisher(String, param("topic").value, 10)
        self.pipe = edgefer.Pipeline(bundle=param("bundle").value)
        self.get_logger().info(self.pipe.describe())
        behaviour = Behaviour(param("min_confidence").value, param("cooldown").value)
        self.memory = wire(self.pipe, behaviour, self.publish)
        self.done = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, name="edgefer-pipeline", daemon=True)
        self.thread.start()

    def publish(self, message):
        msg = String()
        msg.data = json.dumps(message, separators=(",", ":"))
        self.publisher.publish(msg)
        if message["action"]:
            self.get_logger().info("%s face %s (%s)" % (message["action"], message["id"], message["label"]))

    def _run(self):
        try:
            for _ in self.pipe.stream(self.source, sinks=[self.memory]):
                if not rclpy.ok():
                    break
        except Exception as exc:  # noqa: BLE001 - reported by main()
            self.error = exc
        finally:
            self.done.set()

    def close(self):
        self.pipe.stop()
        self.thread.join(timeout=10)
        self.pipe.close()


def main(args=None):
    rclpy.init(args=args)
    node = EmotionEvents()
    try:
        while rclpy.ok() and not node.done.is_set():
            rclpy.spin_once(node, timeout_sec=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        node.close()
        if node.error is not None:
            node.get_logger().error("the pipeline failed: %s" % node.error)
        node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
    return 1 if node.error is not None else 0


if __name__ == "__main__":
    sys.exit(main())
