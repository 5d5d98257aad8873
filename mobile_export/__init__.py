"""Export the lifter for phones: Core ML (iOS) and ONNX (Android), parity-checked."""
