"""Power/energy-vs-batch figure: the data step keeps every point, the figure draws them."""

from __future__ import annotations

from ador.report.energy_figures import energy_vs_batch, energy_vs_batch_data

CURVE = [{"hardware": "h100-sxm-80gb", "model": "llama3-8b", "tp": 1, "precision": "bf16",
          "max_num_seqs": cap, "batch": cap, "avg_power_w": p, "idle_w": 80.0,
          "energy_per_output_token_j": e, "clock_fraction": 1.0, "limit_w": 700.0}
         for cap, p, e in ((8, 490.0, 0.45), (64, 600.0, 0.09), (512, 700.0, 0.05))]
ROWS = [{"hardware": "h100-sxm-80gb", "model": "llama3-8b", "tp": 1, "max_num_seqs": 16,
         "metric": m, "measured": v, "predicted": v * 1.05}
        for m, v in (("avg_power_per_gpu", 513.3), ("energy_per_output_token", 0.26),
                     ("output_throughput", 1953.6))]


def test_data_step_keeps_curve_and_power_energy_points():
    data = energy_vs_batch_data(CURVE, ROWS)
    assert len(data["curve"]) == 3
    assert set(data["points"]["metric"]) == {"avg_power_per_gpu", "energy_per_output_token"}


def test_figure_has_model_limit_measured_and_simulated_traces():
    fig = energy_vs_batch(energy_vs_batch_data(CURVE, ROWS))
    names = {t.name for t in fig.data}
    assert any("model" in n for n in names) and any("board limit" in n for n in names)
    assert any("measured" in n for n in names) and any("simulated" in n for n in names)
