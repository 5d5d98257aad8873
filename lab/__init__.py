"""Fitting and evaluating the models from data: the lab behind the ``coach`` commands.

Everything here needs simulated or recorded clips (``synthetic_data``) together with the
models it fits or measures (``pose3d``, ``scoring``), which must not import each other:

* :mod:`lab.clips`: a clip as the phone films it, lifted, with its trainer's reference;
* :mod:`lab.tallies`: detected error events against labels, precision / recall / F1;
* :mod:`lab.population_fitting`: the population model of form tolerance
  (``scoring.population``) fitted on correct sessions;
* :mod:`lab.calibration`: scoring prepared clips, and the rule thresholds chosen on them;
* :mod:`lab.detector_training`: the learned per-repetition detector (``scoring.detector``);
* :mod:`lab.knee_net_training`: the knee-error network (``scoring.knee_net``);
* :mod:`lab.live_eval`: held-out clips replayed through the live socket's session
  (``scoring.live``);
* :mod:`lab.scoring_eval`: ``coach fit-scoring`` and ``coach evaluate-scoring``;
* :mod:`lab.evaluate`: lifter reports and the bundled lifter (``coach evaluate`` / ``bundle``);
* :mod:`lab.front_end_eval`: the 2D front end (``pose2d.front_end``) on held-out real
  motion filmed all around (``coach evaluate-front-end``);
* :mod:`lab.mocap_clips`: real motion capture -> clip files (``coach mocap clips``).

The ``coach`` command parses its arguments and calls these; nothing here imports the
command-line package.
"""
