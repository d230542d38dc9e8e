"""The communication lab (notebook 06): what moving weights and experience between processes costs, and which
knobs reduce it. Every function measures and returns rows (dicts); none asserts. Plots: ``rlteach.plotting.lab``;
``benchmarks/comm_lab.py`` runs the lab from the command line with larger budgets and writes a report.

    payloads          what rlteach's algorithms really send (weights, unrolls, messages), its size and checksum
    transports        one payload to another process by mp queue, shared memory or Ray: round trip and rate
    knobs             Ape-X with env_steps_per_weight_sync and transitions_per_message varied: throughput, lag,
                      messages, bytes
    parameter_server  A3C with a parameter server on Ray, synchronous against asynchronous updates
    tables            the rows of each experiment as a markdown table

Import from here: ``from rlteach import lab`` then ``lab.knob_sweep(...)``.
"""

from rlteach.lab.knobs import apex_message_bytes, knob_sweep
from rlteach.lab.parameter_server import sync_vs_async
from rlteach.lab.payloads import checksum, default_payloads, payload_bytes
from rlteach.lab.tables import format_bytes, knob_table, markdown_table, sync_table, transport_table
from rlteach.lab.transports import TRANSPORTS, transport_benchmark

__all__ = [
    "default_payloads", "payload_bytes", "checksum",
    "TRANSPORTS", "transport_benchmark",
    "apex_message_bytes", "knob_sweep",
    "sync_vs_async",
    "markdown_table", "format_bytes", "transport_table", "knob_table", "sync_table",
]
