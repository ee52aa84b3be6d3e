"""PNG plots of a suite run: metric per epoch of the neural models, and quality against training time."""
import numpy as np

__all__ = ["plot_epochs", "plot_quality_time"]


def _colors(models):
    """One fixed colour per model (tab10 in the suite's order), the same in every plot of a run."""
    palette = [f"C{i}" for i in range(10)]
    return {model: palette[i % len(palette)] for i, model in enumerate(models)}


def _styles(models):
    """Alternating line styles, so that curves that coincide (e.g. V2 and V3) stay visible."""
    return {model: ("-", "--", "-.", ":")[i % 4] for i, model in enumerate(models)}


def _label(spec, model):
    """Display name of a model without markdown backticks."""
    return spec.labels.get(model, model).replace("`", "")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_epochs(history, spec, path, *, title=None, models=None):
    """One panel per history column of ``spec.epoch_panels``: mean over seeds per epoch, one line per model.

    Parameters
    ----------
    history : DataFrame
        One row per model × seed × epoch (``model``, ``seed``, ``epoch`` and skorch's columns).
    spec : suite
        Gives ``epoch_panels`` and ``labels``. A panel is ``(column, axis label)`` or ``(column, axis
        label, True)``: then every curve is divided by its first epoch, so losses of different scales
        (softmax vs BPR) share one axis.
    path : path-like
        Where to write the PNG.
    title : str, default=None
        Figure title.
    models : list of str, default=None
        Every model of the run, in order (fixes the colours); None: those in ``history``.
    """
    plt = _pyplot()
    colors = _colors(models or list(dict.fromkeys(history["model"])))
    styles = _styles(models or list(dict.fromkeys(history["model"])))
    panels = [(p[0], p[1], len(p) > 2 and p[2]) for p in spec.epoch_panels
              if p[0] in history and history[p[0]].notna().any()]
    if not panels:
        panels = [("train_loss", "training loss", False)]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.6 * len(panels), 4.2), squeeze=False)
    n_seeds = history.groupby("model")["seed"].nunique().max()
    for ax, (col, label, relative) in zip(axes[0], panels, strict=True):
        for model, part in history.groupby("model", sort=False):
            if col not in part or part[col].isna().all():
                continue
            values = part[col]
            if relative:
                first = part.loc[part["epoch"] == part["epoch"].min()].set_index("seed")[col]
                values = values / part["seed"].map(first).to_numpy()
            stats = values.groupby(part["epoch"]).agg(["mean", "min", "max"])
            line, = ax.plot(stats.index, stats["mean"], marker="o" if len(stats) <= 30 else None, ms=3,
                            color=colors.get(model), linestyle=styles.get(model), label=_label(spec, model))
            if n_seeds > 1:
                ax.fill_between(stats.index, stats["min"], stats["max"], color=line.get_color(), alpha=0.15)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if history["epoch"].max() <= 12:
            ax.set_xticks(range(1, int(history["epoch"].max()) + 1))
    axes[0][0].legend(fontsize=8)
    band = " (line: mean over seeds, band: min–max)" if n_seeds > 1 else ""
    fig.suptitle((title or "") + f"\nper-epoch history of the neural models{band}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_quality_time(summary, spec, path, *, title=None, models=None):
    """Primary metric (mean ± std over seeds) against mean fit seconds, one point per model.

    Parameters
    ----------
    summary : DataFrame
        Output of :func:`~sklearn_ubergnn.benchmark.summarize_runs`.
    spec : suite
        Gives ``primary`` and ``labels``.
    path : path-like
        Where to write the PNG.
    title : str, default=None
        Figure title.
    models : list of str, default=None
        Every model of the run, in order (fixes the colours); None: the summary's index.
    """
    plt = _pyplot()
    colors = _colors(models or list(summary.index))
    metric = spec.primary
    fig, ax = plt.subplots(figsize=(9.5, 4.8))
    x = summary["fit_s_mean"].to_numpy(dtype=float)
    y = summary[f"{metric}_mean"].to_numpy(dtype=float)
    err = summary[f"{metric}_std"].fillna(0).to_numpy(dtype=float)
    floor = 1e-3
    x_plot = np.maximum(x, floor)
    ax.errorbar(x_plot, y, yerr=err, fmt="none", ecolor="0.6", capsize=3)
    epochs = summary["epochs_max"].fillna(0) if "epochs_max" in summary else np.zeros(len(summary))
    for i, model in enumerate(summary.index):
        trained = np.asarray(epochs)[i] > 0
        # hollow markers named in the legend: no text on the axes, and points that coincide stay visible
        ax.scatter(x_plot[i], y[i], s=55, zorder=3, facecolors="none", edgecolors=colors.get(model),
                   linewidths=1.6, marker="o" if trained else "s", label=_label(spec, model))
    if x_plot.max() / x_plot.min() > 30:
        ax.set_xscale("log")
        ax.set_xlim(x_plot.min() / 2, x_plot.max() * 3)
    else:
        ax.set_xlim(0, 1.15 * x_plot.max())
    ax.margins(y=0.15)
    scale = ", log scale" if ax.get_xscale() == "log" else ""
    ax.set_xlabel(f"training time: wall seconds of fit (mean over seeds{scale})")
    ax.set_ylabel(f"{metric}" + (" (%)" if spec.metric_digits == 2 else ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), title="square: no epochs",
              title_fontsize=8)
    ax.set_title((title or "") + "\nquality against training time (bars: std over seeds)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
