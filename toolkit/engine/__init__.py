"""The build engine: plan, run shards on an executor, isolate poison samples, count drops, summarise."""
