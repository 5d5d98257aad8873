"""Phone and video 2D keypoints: the front end before lifting.

``task_builder`` assembles MediaPipe's pose landmarker model offline (``coach-api
pose-task``), ``video`` turns an uploaded video into MediaPipe-33 keypoints on the server
(decoding, bounding and detecting frames one at a time). Imports ``pose3d`` only; never
the service (``coach_api`` passes its settings in as arguments).
"""
