"""The model life cycle: tracked experiments, the model registry the service serves from,
promotion gates, drift and the feedback loop (issue 22; README "The model life cycle").

``store`` says where MLflow keeps runs and models; ``registry`` registers a model's files
as a version, moves aliases (``champion``, ``challenger``) and fetches a version's files.
Only those two are imported by the API; the rest (tracking the lab's commands, the gates)
belongs to the training side.
"""
