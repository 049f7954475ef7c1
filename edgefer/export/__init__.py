"""Export: ONNX, INT8, TensorRT engines and bundles."""
