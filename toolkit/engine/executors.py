"""Executors: where shard tasks run. The runner hands one a list of tasks and gets back the failures;
it does not know whether they ran in-process, on a local cluster or on a remote one.

- `Synchronous`: in this process, one shard after another (debugging, tests, `runner.scheduler:
  synchronous`); a failed shard is retried `runner.retries` times.
- `Dask`: a `LocalCluster` started for the build (default: one single-threaded worker process per
  core, or one per GPU), or any `dask.distributed` scheduler address. Tasks are submitted with
  `pure=False` and a unique key, retried `runner.retries` times by dask; a worker that dies has its
  task moved by the scheduler. With `runner.gpu_resource`, a shard is three chained tasks and only the
  model stage asks for the resource.

Both report progress through `progress.update(stage, n)` and each finished shard's record through
`done(task, record, extra)`. `after(task, record)`, when given, runs right after each shard in the same
task (on the worker that built it, while its file is fresh); its result is `extra` (None when it raised:
it is an optimisation whose work the caller can redo). The runner uses it for the card's per-shard parts
(`toolkit/card/parts.py`), so that work runs in parallel with the other shards instead of after them.
"""

from __future__ import annotations

import logging
import os
import traceback
import uuid
from typing import Callable

from toolkit.errors import ToolkitError
from toolkit.engine.pipeline import ShardTask, build_shard
from toolkit.config.recipe import Recipe

Done = Callable[[ShardTask, dict, object], None]
After = Callable[[ShardTask, dict], object]


class Executor:
    name = "executor"

    def run(self, tasks: list[ShardTask], progress, done: Done, after: After | None = None) -> list[dict]:
        """Run every task; return one {shard, error, traceback} per shard that failed for good."""
        raise NotImplementedError


def then(after: After | None, task: ShardTask, record: dict):
    """`after(task, record)`, or None when there is none or it raised (the shard itself succeeded)."""
    if after is None:
        return None
    try:
        return after(task, record)
    except Exception:  # noqa: BLE001 - the caller redoes the work itself, and reports its error then
        logging.getLogger(__name__).debug("after %s failed", task.name, exc_info=True)
        return None


def with_after(after: After | None, task: ShardTask, fn, *args) -> tuple[dict, object]:
    """A shard's last task on a worker: its record, then `after` on it in the same task."""
    record = fn(*args)
    return record, then(after, task, record)


def executor_for(scheduler: str | None, recipe: Recipe, echo) -> "Executor":
    if scheduler == "synchronous":
        return Synchronous(recipe)
    return Dask(recipe, scheduler, echo)


def workers_and_threads(recipe: Recipe) -> tuple[int, int]:
    """Local worker processes and torch threads per worker: fixed by the machine and the recipe, never
    by the number of pending shards, so a resumed build is byte-identical to an uninterrupted one."""
    cores = os.cpu_count() or 1
    if recipe.runner.device.startswith("cuda"):
        workers = recipe.runner.workers or 1
    else:
        workers = recipe.runner.workers or cores
    return workers, max(1, cores // workers)


# Settings of the LocalCluster a build starts (not of a cluster it is given with --scheduler), each
# measured with benchmarks/scaling.py (docs/performance.md, "Scaling and memory"): CPU taken from the
# shards, which on a machine with one core per worker is wall time.
# - The workers' statistical profiler samples the task thread's stack every 10 ms for the dashboard's
#   profile page, in a thread that takes the GIL (3% of the workers' CPU).
# - Every server's event loop checks every 20 ms that it is not blocked; each check wakes the loop thread,
#   which takes the GIL from the task thread (2-3%). Once a second still catches a blocked loop.
# - The nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536 (`distributed.nanny.pre-spawn-environ`):
#   glibc then returns freed heap to the kernel above 64 KiB, and the next image-sized buffer page-faults
#   it back, zeroed (8% of a shard's CPU). Left out: glibc's own threshold (dynamic, up to 32 MiB).
LOCAL_CLUSTER_CONFIG = {"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "1s"}
LOCAL_CLUSTER_UNSET_ENV = ("MALLOC_TRIM_THRESHOLD_",)


def local_cluster(workers: int, resources: dict | None = None, dashboard_address: str = "127.0.0.1:0"):
    """The LocalCluster a build starts: `workers` single-threaded worker processes, `LOCAL_CLUSTER_CONFIG`
    (read by each worker's nanny when it starts). The scheduler's HTTP server always starts (health,
    metrics); with no address it takes port 8787 and warns when another build on this machine has it,
    so it gets any free port on loopback. benchmarks/scaling.py starts its clusters here too."""
    import dask
    from distributed import LocalCluster

    environ = {k: v for k, v in (dask.config.get("distributed.nanny.pre-spawn-environ", None) or {}).items()
               if k not in LOCAL_CLUSTER_UNSET_ENV}
    with dask.config.set({**LOCAL_CLUSTER_CONFIG, "distributed.nanny.pre-spawn-environ": environ}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                            dashboard_address=dashboard_address, silence_logs=logging.ERROR,
                            **({"resources": resources} if resources else {}))


class Synchronous(Executor):
    name = "synchronous"

    def __init__(self, recipe: Recipe):
        self.recipe = recipe

    def run(self, tasks, progress, done, after=None) -> list[dict]:
        failed = []
        for t in tasks:
            for attempt in range(self.recipe.runner.retries + 1):
                try:
                    record = build_shard(t, report=progress.update)
                except Exception as e:  # noqa: BLE001 - report and carry on with the other shards
                    if attempt == self.recipe.runner.retries:
                        failed.append({"shard": t.name, "error": f"{type(e).__name__}: {e}",
                                       "traceback": traceback.format_exc(limit=6)})
                    continue
                done(t, record, then(after, t, record))
                break
        return failed


class Dask(Executor):
    name = "dask"

    def __init__(self, recipe: Recipe, address: str | None, echo):
        self.recipe, self.address, self.echo = recipe, address, echo

    def _connect(self):
        from distributed import Client

        if self.address:
            try:
                client = Client(self.address)  # distributed.comm.timeouts.connect (30 s by default)
            except (OSError, TimeoutError, ValueError, TypeError) as e:
                raise ToolkitError(f"runner.scheduler: cannot connect to the dask scheduler at {self.address!r} "
                                   f"({type(e).__name__}: {(str(e).splitlines() or [''])[0][:200]})") from None
            self.echo(f"dask: connected to {self.address} ({len(client.scheduler_info()['workers'])} workers)")
            return client, None
        workers, _ = workers_and_threads(self.recipe)
        gpu = self.recipe.runner.gpu_resource
        cluster = local_cluster(workers, resources={gpu: 1} if gpu else None, dashboard_address="127.0.0.1:0")
        return Client(cluster), cluster

    def run(self, tasks, progress, done, after=None) -> list[dict]:
        from distributed import Queue, wait

        client, cluster = self._connect()
        try:
            qname = f"toolkit-progress-{uuid.uuid4().hex[:8]}"
            queue = Queue(qname, client=client)
            for t in tasks:
                t.progress_queue = qname
            futures = {self._submit(client, t, after): t for t in tasks}
            pending = set(futures)
            failed = []
            while pending:
                try:
                    res = wait(pending, timeout=0.25, return_when="FIRST_COMPLETED")
                    finished, pending = res.done, res.not_done
                except Exception:  # noqa: BLE001 - timeout: nothing finished yet
                    finished = set()
                drain(queue, progress)
                for f in finished:
                    if f.status == "finished":
                        done(futures[f], *f.result())
                    elif f.status == "error":
                        t = futures[f]
                        exc = f.exception()
                        failed.append({"shard": t.name, "error": f"{type(exc).__name__}: {exc}",
                                       "traceback": "".join(traceback.format_tb(f.traceback(), limit=6))})
            drain(queue, progress)
            return failed
        finally:
            client.close()
            if cluster is not None:
                cluster.close()

    def _submit(self, client, t: ShardTask, after: After | None = None):
        """A shard's stages grouped by the resources they declare (`pipeline.shard_stages`), one chained
        task per group: one task per shard unless a stage asks for a resource (the model stage with
        `runner.gpu_resource`). The future returned is the shard's last task: (its record, `after`'s
        result), `after` running in that same task."""
        from toolkit.engine.pipeline import run_stages, shard_stages

        tag = f"{t.name}-{uuid.uuid4().hex[:6]}"
        kw = {"pure": False, "retries": self.recipe.runner.retries}
        groups: list[tuple[list[str], dict]] = []
        for name, resources in shard_stages(self.recipe):
            if groups and groups[-1][1] == resources:
                groups[-1][0].append(name)
            else:
                groups.append(([name], resources))
        arg = t
        for i, (names, resources) in enumerate(groups):
            last = i == len(groups) - 1
            key = f"shard-{tag}" if len(groups) == 1 else f"{'+'.join(names)}-{tag}"
            arg = client.submit(*((with_after, after, t) if last else ()), run_stages, tuple(names), arg,
                                key=key, **({"resources": resources} if resources else {}), **kw)
        return arg


def drain(queue, progress) -> None:
    try:
        items = queue.get(batch=True)
    except Exception:  # noqa: BLE001
        return
    for item in items or []:  # {stage: n} from a QueueReport; a single (stage, n) is taken too
        for stage, n in (item.items() if isinstance(item, dict) else [item]):
            progress.update(stage, n)

