"""What the dask executor does for scaling over workers (docs/performance.md, "Scaling and memory"):
a shard task's progress goes to the client in batches, and the LocalCluster a build starts has its
workers' profiler, 20 ms event-loop tick and 64 KiB malloc trim threshold off."""

from __future__ import annotations

import pickle


class _Queue:
    def __init__(self, items=()):
        self.items = list(items)

    def put(self, item):
        self.items.append(item)

    def get(self, batch=False):
        items, self.items = self.items, []
        return items


def test_progress_of_a_dask_shard_task_is_sent_in_batches_and_adds_up():
    from toolkit.engine.executors import drain
    from toolkit.engine.progress import QueueReport
    from toolkit.engine.progress import Progress

    report = QueueReport("q", every_s=3600)
    report._q = _Queue()
    report("align", 16)  # the first report goes at once (the bars move when a shard starts)
    for _ in range(16):
        report("augment", 1)
    report("write", 16)
    assert report._q.items == [{"align": 16}]
    report.flush()  # the end of the shard task
    assert report._q.items == [{"align": 16}, {"augment": 16, "write": 16}]
    copy = pickle.loads(pickle.dumps(report))  # as dask ships it: no queue, nothing pending
    assert copy._q is None and copy._pending == {} and copy.queue == "q"

    progress = Progress(20, ["align", "augment", "write"], enabled=False)
    drain(_Queue([*report._q.items, ("align", 4)]), progress)  # and a chained stage's (stage, n)
    assert progress.done == {"align": 20, "augment": 16, "write": 16}


def test_the_local_cluster_of_a_build_runs_its_workers_without_the_costly_defaults():
    import os

    import dask
    from distributed import Client

    from toolkit.engine.executors import local_cluster

    def settings():
        return (os.environ.get("MALLOC_TRIM_THRESHOLD_"), os.environ.get("OMP_NUM_THREADS"),
                dask.config.get("distributed.worker.profile.enabled"), dask.config.get("distributed.admin.tick.interval"))

    with local_cluster(1) as cluster, Client(cluster) as client:
        assert list(client.run(settings).values()) == [(None, "1", False, "1s")]
    assert dask.config.get("distributed.worker.profile.enabled")  # this process's settings are untouched
