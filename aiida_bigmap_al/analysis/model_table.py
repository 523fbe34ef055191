"""Cross-validated model scores as people read them: a table and a calibration plot.

Takes :class:`~aiida_bigmap_al.learning.scoring.ModelScore` objects; no AiiDA import.
"""

from __future__ import annotations

from .plots import plt

__all__ = ["calibration_plot", "format_scores"]


def format_scores(scores, chosen) -> str:
    """RMSE per temperature, bias and coverage of every model, then the chosen model per temperature."""
    conditions = list(scores[0].by_condition)
    header = (f"{'model':20s}" + "".join(f"{T - 273.15:>6.0f}" for T in conditions)
              + f"{'RMSE':>7s}{'bias':>7s}{'1 std':>7s}{'2 std':>7s}{'raw 1':>7s}{'raw 2':>7s}"
              f"{'train':>7s}")
    lines = ["leave-formulation-out cross-validation: RMSE (mS/cm) per temperature (°C), bias, "
             "fraction within 1 and 2 std",
             "(calibrated: recalibrated std + measurement noise; raw: the model's own std; train: "
             "RMSE on the training data,", f" which should not fall below the noise of the data, "
             f"{scores[0].noise_rmse:.3f})", header]
    for score in scores:
        cells = "".join(f"{score.by_condition[T]['rmse']:6.2f}" for T in conditions)
        lines.append(f"{score.name + (' *' if score is chosen else ''):20s}{cells}"
                     f"{score.rmse:7.3f}{score.bias:+7.3f}{score.coverage[1.0]:7.0%}"
                     f"{score.coverage[2.0]:7.0%}{score.coverage_raw[1.0]:7.0%}"
                     f"{score.coverage_raw[2.0]:7.0%}{score.training_rmse:7.3f}")
    lines.append(f"* chosen (lowest RMSE): {chosen.name}; per temperature:")
    for label, key in (("within 1 std", "within_1_std"), ("within 2 std", "within_2_std"),
                       ("std scale", None)):
        values = (chosen.calibration.scale(conditions) if key is None
                  else [chosen.by_condition[T][key] for T in conditions])
        cells = "".join(f"{v:6.2f}" if key is None else f"{v:6.0%}" for v in values)
        lines.append(f"  {label:18s}{cells}")
    return "\n".join(lines)


def calibration_plot(scores, path):
    """Observed against expected coverage of central intervals, calibrated (solid) and raw (dotted)."""
    figure, axes = plt.subplots(figsize=(5.6, 5.0), constrained_layout=True)
    axes.plot([0, 1], [0, 1], color="black", linewidth=0.8, label="ideal")
    for i, score in enumerate(scores):
        colour = f"C{i % 10}"
        curve = score.curve
        axes.plot(curve["expected"], curve["observed"], color=colour, label=score.name)
        axes.plot(curve["expected"], curve["observed_raw"], color=colour, linestyle=":")
    axes.set_xlabel("expected fraction within the interval")
    axes.set_ylabel("observed fraction of held-out formulations")
    axes.set_title("Calibration (dotted: the model's own std)")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
