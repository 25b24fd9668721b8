"""`toolkit audit OUT`: prove a dataset is aligned, or show which cue leaks the label.

Cheap per-image features (container format, JPEG quality from the quantisation tables, chroma
subsampling, progressive flag, WebP lossy/lossless, size, metadata, colour and frequency statistics)
feed classifiers cross-validated by pair; a file-property group scoring above --threshold ROC-AUC is a
leak. Also: PSNR/SSIM of each fake against its real (outliers listed) and class balance per split,
source and augmentation. Writes OUT/meta/audit/ (report.json, plots, card section) and refreshes the
dataset card. Exit code 1 when a leak is flagged or a pair's members differ in a file property (unless
--no-fail), so CI can gate on it; 2 when
DATASET does not exist or is neither a toolkit build nor a dataset `load_dataset` reads.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from toolkit.errors import ToolkitError
from toolkit.store.layout import BUILD_FILE

HELP = "shortcut audit: can metadata alone tell real from fake? (exit 1 on a leak)"
ORDER = 30


def add_arguments(p) -> None:
    p.add_argument("dataset", help="a toolkit build folder (or any datasets.load_dataset path)")
    p.add_argument("--threshold", type=float, default=0.6,
                   help="ROC-AUC above which a file-property group is a leak (default 0.6)")
    p.add_argument("--no-fail", action="store_true", help="report only: exit 0 even when a leak or an unaligned pair is flagged")
    p.add_argument("--json", metavar="PATH", help="also write the JSON report to PATH ('-' for stdout)")
    p.add_argument("--max-pairs", type=int, default=None,
                   help="audit at most this many pairs (chosen by a hash of pair_id; default all)")
    p.add_argument("--report-dir", metavar="DIR",
                   help="where meta/audit/ goes when DATASET is not a local folder (default: DATASET itself)")


def run(args) -> int:
    from toolkit.audit.report import write_report
    from toolkit.commands._inputs import dataset_input
    from toolkit.audit.run import run_audit

    if not 0.5 <= args.threshold <= 1.0:
        raise ToolkitError(f"--threshold: must be within 0.5..1.0 (a ROC-AUC), got {args.threshold}")
    if args.max_pairs is not None and args.max_pairs < 2:
        raise ToolkitError(f"--max-pairs: must be at least 2, got {args.max_pairs}")
    local_folder = dataset_input(args.dataset)  # no such path / a file: one line, exit 2 (_inputs.py)
    t0 = time.time()
    try:
        report = run_audit(args.dataset, threshold=args.threshold, max_pairs=args.max_pairs)
    except ToolkitError as e:
        if local_folder and not (Path(args.dataset) / BUILD_FILE).exists():
            raise ToolkitError(f"{args.dataset}: not a toolkit build (no {BUILD_FILE}), and not a dataset "
                               f"`load_dataset` reads either ({e})") from None
        raise
    dest = args.report_dir or (args.dataset if Path(args.dataset).is_dir() else None)
    written = []
    if dest:
        report["timings"]["total_s"] = round(time.time() - t0, 3)
        written = write_report(dest, report)
    report["timings"]["total_s"] = round(time.time() - t0, 3)
    if args.json:
        text = json.dumps(report, indent=1) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
        else:
            Path(args.json).write_text(text)
    print(summary_text(report, dest, written), file=sys.stderr if args.json == "-" else sys.stdout)
    return 1 if (report["leak"] or report["misaligned_pairs"]) and not args.no_fail else 0


def summary_text(report: dict, dest, written) -> str:
    sc = report["shortcuts"]
    lines = [f"audit of {report['dataset']}: {report['rows']} rows, {report['pairs']} pairs "
             f"in {report['timings']['total_s']:.1f} s"]
    for g, r in sc["groups"].items():
        auc = "  n/a" if r["auc"] is None else f"{r['auc']:.3f}"
        tag = "LEAK" if r["leak"] else ("gate" if r["gating"] else "info")
        resp = ", ".join(f"{x['feature']} {x['auc']:.2f}" for x in r.get("responsible", [])[:3])
        lines.append(f"  {tag:4s} {g:13s} AUC {auc}" + (f"  <- {resp}" if resp and r["leak"] else ""))
    mm = report["paired_mismatches"]["mismatched_pairs"]
    if mm:
        lines.append("  pairs differing in file properties: " + ", ".join(f"{k} {v}" for k, v in mm.items()))
    for s, f in report["fidelity"].items():
        if f["pairs"]:
            lines.append(f"  fidelity {s}: PSNR median {f['psnr_median']:.2f} dB, SSIM median "
                         f"{f['ssim_median'] if f['ssim_median'] is not None else float('nan'):.3f}, "
                         f"{f['outlier_count']} outliers")
    for p in report["balance"]["problems"]:
        lines.append(f"  balance: {p}")
    for n in report["notes"]:
        lines.append(f"  note: {n}")
    verdict = (f"LEAK FLAGGED in {', '.join(sc['leaking_groups'])} (ROC-AUC > {sc['threshold']:g})"
               if report["leak"] else f"no shortcut above ROC-AUC {sc['threshold']:g}")
    if report["misaligned_pairs"]:
        verdict += (f"; NOT ALIGNED: {report['misaligned_pairs']} of "
                    f"{report['paired_mismatches']['pairs_compared']} pairs differ in file properties")
    lines.append(f"  verdict: {verdict}")
    if written:
        lines.append(f"  report: {Path(dest) / 'meta/audit'} ({', '.join(Path(w).name for w in written)})")
    return "\n".join(lines)
