"""The benchmarks' shared machine description."""

import math

import torch

from bench.common import describe_machine


def test_every_result_names_the_hosts_speed_and_leaves_its_threads_alone():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        machine = describe_machine()
        assert torch.get_num_threads() == 2  # the probes ran on one thread, then put back
    finally:
        torch.set_num_threads(before)
    probes = ("python_loop_ms", "numpy_call_us", "numpy_gemm_gflops", "torch_gemm_gflops")
    for probe in probes:
        assert math.isfinite(machine[probe]) and machine[probe] > 0, probe
