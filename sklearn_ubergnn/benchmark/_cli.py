"""Command-line options of the suites, shared by ``ubergnn benchmark`` and ``python -m benchmarks run``."""
import argparse
import sys
from pathlib import Path

from .._argtypes import nonzero_int, positive_int
from ._core import command_line, run_suite

__all__ = ["add_suite_arguments", "run_from_args"]

DESCRIPTION = (
    "Fit every model and baseline of a suite on the same split, for several seeds (each model x seed in a "
    "fresh process), and report quality (mean ± std over seeds), seconds per epoch, fit time, throughput "
    "and peak memory: a markdown table printed and written to RESULTS.md between the markers "
    "<!-- suite:SUITE:DATA:start/end -->, plus PNG plots (metric per epoch; quality against training "
    "time) in --output-dir. Suites: session (popularity, session-kNN, GRU4Rec when available, SR-GNN, "
    "UBER-GNN V1-V4; YOOCHOOSE 1/64 by default, or MovieLens-100k sessions with portraits), dynamic "
    "(EdgeBank and a recency heuristic, or a logistic-regression baseline, DAG-LSTM, RNN, Transformer; CollegeMsg "
    "or email-Eu link prediction under random, historical and inductive negatives, or Bitcoin-OTC event "
    "classification), bipartite (most popular, BPR-MF, LightGCN, GF-CF, "
    "DisentangledGraphEmbedder on MovieLens-100k)."
)


def add_suite_arguments(parser, *, default_results=None):
    """Add the suite options to an ``argparse`` parser (and the suites' description when it has none).

    Parameters
    ----------
    parser : argparse.ArgumentParser
    default_results : path-like, default=None
        RESULTS.md written by default at the full scale; None: ``benchmarks/RESULTS.md`` under the
        working directory when it exists, else ``RESULTS.md`` in the output folder.
    """
    if parser.description is None:
        parser.description = DESCRIPTION
    parser.add_argument("--suite", required=True, choices=("session", "dynamic", "bipartite"),
                        help="which suite to run")
    parser.add_argument(
        "--data", default=None,
        help="data set name or path. session: yoochoose (default; ../shared/data/yoochoose1_64, SR-GNN "
             "split, no portraits, so UBER-GNN V1-V4 are skipped), movielens (../shared/data/ml-100k, "
             "sessions per user and day with the u.user portrait), or a folder of either kind / a "
             "DIGINETICA CSV; dynamic: collegemsg (default, link prediction), bitcoin (event "
             "classification), email (email-Eu-core-temporal, link prediction) or a file; bipartite: movielens (default) or an ml-100k/ml-1m folder. "
             "Ignored with --quick/--tiny (synthetic data). $UBERGNN_SHARED_DATA overrides ../shared/data")
    parser.add_argument("--task", choices=("link", "classify"), default=None,
                        help="dynamic suite only: link prediction or event classification (default: link, "
                             "classify for bitcoin)")
    parser.add_argument("--seeds", type=positive_int, default=None,
                        help="number of seeds 0..N-1 per model (default 3; 1 with --quick/--tiny)")
    scale = parser.add_mutually_exclusive_group()
    scale.add_argument("--quick", action="store_true",
                       help="synthetic data with planted structure (make_sessions with portraits, so V1-V4 "
                            "run; make_interactions; make_bipartite), small models, few epochs: a few "
                            "minutes on 2 cores, for CI. Does not write RESULTS.md unless --write is given")
    scale.add_argument("--tiny", action="store_true",
                       help="a smoke test of seconds (tiny synthetic data, 1 epoch); never writes RESULTS.md "
                            "unless --write is given")
    parser.add_argument("--models", default=None,
                        help="comma-separated subset of the suite's models (default: all). session: "
                             "popularity, session-knn, sequential-rules, v-stan, gru4rec, sr-gnn, uber-gnn-mean, "
                             "uber-gnn-local, uber-gnn-user, uber-gnn-hybrid; dynamic: edgebank and recency (link) or "
                             "lr-history (classify), dag-lstm, rnn, transformer; bipartite: most_popular, mf_bpr, "
                             "lightgcn, gfcf, disentangled")
    nets = parser.add_argument_group("neural models (override the suite's defaults)")
    nets.add_argument("--epochs", type=positive_int, default=None,
                      help="maximum training epochs of every neural model (defaults: session 10 with early "
                           "stopping, quick 6; dynamic 5, quick 2; bipartite disentangled 6, LightGCN and "
                           "BPR-MF 400, quick 40)")
    nets.add_argument("--hidden-size", type=positive_int, default=None,
                      help="session: item/session vector size (default 100, quick 32); dynamic: embedding "
                           "size (default 64, quick 16)")
    nets.add_argument("--max-train", type=positive_int, default=None,
                      help="session suite: keep only the N most recent training prefixes")
    nets.add_argument("--max-test", type=positive_int, default=None,
                      help="session suite: score only the first N test prefixes")
    nets.add_argument("--quiet", action="store_true",
                      help="no per-epoch tables while the neural models train (default: skorch's epoch table, "
                           "with the validation metrics, on stderr; a progress bar too when stderr is a terminal)")
    nets.add_argument("--threads", type=nonzero_int, default=None,
                      help="n_jobs of every neural model: torch threads during its calls, -1 for all CPUs "
                           "(default: the estimators' own choice, as users run them)")
    out = parser.add_argument_group("output")
    out.add_argument("--output-dir", type=Path, default=None,
                     help="folder for results.md, runs.csv (one row per model x seed, written as runs "
                          "finish), history.csv and the PNG plots (default benchmark_output/SUITE)")
    shown = default_results or "benchmarks/RESULTS.md when present, else OUTPUT_DIR/RESULTS.md"
    out.add_argument("--results", type=Path, default=None,
                     help=f"the RESULTS.md whose suite section is replaced (default {shown})")
    out.add_argument("--write", action=argparse.BooleanOptionalAction, default=None,
                     help="write the section into --results (default: yes for a full run, no with "
                          "--quick/--tiny); --no-write prints and saves into --output-dir only")
    out.add_argument("--in-process", action="store_true",
                     help="run every model in this process instead of one fresh process per run (faster "
                          "start; peak RSS is then the process's running maximum, not per model)")
    out.add_argument("--no-plot", action="store_true", help="do not write the PNG plots")
    parser.set_defaults(_default_results=default_results)
    return parser


def run_from_args(args, *, prog, argv):
    """Run the suite that ``args`` describe; print the table; return the exit status (1 if a run failed)."""
    scale = "tiny" if args.tiny else "quick" if args.quick else "full"
    options = {"epochs": args.epochs, "max_train": args.max_train, "max_test": args.max_test}
    if args.hidden_size is not None:
        options["embedding_dim" if args.suite == "dynamic" else "hidden_size"] = args.hidden_size
    if args.task is not None:
        if args.suite != "dynamic":
            raise SystemExit(f"{prog}: --task applies to the dynamic suite only")
        options["task"] = args.task
    if args.suite != "session" and (args.max_train or args.max_test):
        raise SystemExit(f"{prog}: --max-train/--max-test apply to the session suite only")
    if args.suite == "bipartite" and args.hidden_size is not None:
        raise SystemExit(f"{prog}: --hidden-size does not apply to the bipartite suite")
    output_dir = args.output_dir or Path("benchmark_output") / args.suite
    results = args.results or args._default_results
    if results is None:
        here = Path("benchmarks/RESULTS.md")
        results = here if here.exists() else output_dir / "RESULTS.md"
    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    try:
        report = run_suite(
            args.suite, data=args.data, scale=scale, seeds=args.seeds, models=models, options=options,
            output_dir=output_dir, results_file=results, write=args.write, isolate=not args.in_process,
            threads=args.threads, verbose=0 if args.quiet else (2 if sys.stderr.isatty() else 1),
            plots=not args.no_plot, command=command_line(prog, argv),
        )
    except (FileNotFoundError, ValueError) as exc:
        raise SystemExit(f"{prog}: {exc}") from None
    print(report.table)
    print(f"\n{len(report.runs)} run(s) in {report.wall_s:.0f} s; files: "
          + ", ".join(str(f) for f in report.files), file=sys.stderr)
    return 1 if report.failed else 0
