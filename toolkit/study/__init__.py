"""`toolkit study STUDY.yaml`: an experiment as one file, run and resumed in one command.

One concern per module: `config` (the study file, validated before any work: one line + exit 2 on a
mistake), `plan` (what to build, train and evaluate, each keyed by content so that a re-run finds it
done), `run` (does the missing work; every result written atomically), `stats` (intervals over seeds,
the paired bootstrap over test pairs) and `report` (the results table, report.md and its figures).
docs/studies.md describes the file and the shipped studies.
"""
