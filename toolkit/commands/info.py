"""`toolkit info OUT [--json]`: what a build is, at a glance: its recipe (name, hash), its state
(complete, incomplete, or locked: a build is writing it now), rows per split and label, drops by reason,
and its size on disk. Reads only the small side files (meta/build.json, the shard records, the summary),
never the rows, so it is instant on any build and safe while one is running.

  toolkit info outputs/demo
  toolkit info outputs/demo --json | jq .splits.train

Exit 0 for a complete build, 1 for an incomplete or locked one (so scripts can wait on it), 2 when OUT
is not a build. For a full check of the bytes use `toolkit verify OUT`.
"""

from __future__ import annotations

import json

HELP = "what a build is: recipe, state (complete/incomplete/locked), counts per split and label, drops, size"
ORDER = 11


def add_arguments(p) -> None:
    p.add_argument("output", help="build folder or fsspec URL")
    p.add_argument("--json", action="store_true", help="print the facts as JSON on stdout")


def run(args) -> int:
    from toolkit.commands._inputs import build_input

    out = build_input(args.output)  # no such path / not a build: one line, exit 2
    facts = build_facts(out)
    if args.json:
        print(json.dumps(facts, indent=1, sort_keys=False))
    else:
        print(format_facts(facts))
    return 0 if facts["state"] == "complete" else 1


def build_facts(out) -> dict:
    """The facts `toolkit info` prints, from the side files only (a damaged one is a one-line error)."""
    from toolkit.store.build_dir import read_json, read_yaml_mapping
    from toolkit.store.layout import BUILD_FILE, RECIPE_FILE, SUMMARY_FILE, marker_file

    build = read_json(out, BUILD_FILE, keys=("shards",))
    recipe = read_yaml_mapping(out, RECIPE_FILE) if out.exists(RECIPE_FILE) else {}
    splits: dict[str, dict] = {}
    dropped: dict[str, int] = {}
    done = 0
    for name in build["shards"]:
        split, index = name.rsplit("-", 1)
        s = splits.setdefault(split, {"shards": 0, "shards_done": 0, "pairs": 0, "rows": 0, "real": 0, "fake": 0,
                                      "bytes": 0})
        s["shards"] += 1
        rel = marker_file(split, int(index))
        if not out.exists(rel):
            continue
        rec = read_json(out, rel)
        done += 1
        s["shards_done"] += 1
        real = int((rec.get("per_source") or {}).get("real", 0))
        s["pairs"] += int(rec.get("pairs", 0))
        s["rows"] += int(rec.get("rows", 0))
        s["real"] += real
        s["fake"] += int(rec.get("rows", 0)) - real
        s["bytes"] += int(rec.get("bytes", 0))
        for reason, n in (rec.get("dropped") or {}).items():
            dropped[reason] = dropped.get(reason, 0) + int(n)
    order = list(recipe.get("split") or {}) if isinstance(recipe.get("split"), dict) else []
    splits = {k: splits[k] for k in sorted(splits, key=lambda k: (order.index(k) if k in order else len(order), k))}
    summary = read_json(out, SUMMARY_FILE) if out.exists(SUMMARY_FILE) else None
    holder = lock_holder(out)
    complete = (summary is not None and summary.get("complete") is not False and not summary.get("failed_shards")
                and done == len(build["shards"]))
    state = "locked" if holder is not None else ("complete" if complete else "incomplete")
    return {
        "output": out.url,
        "name": recipe.get("name"),
        "recipe_hash": build.get("recipe_hash"),
        "plan": build.get("plan"),
        "toolkit": build.get("toolkit"),
        "state": state,
        "locked_by": holder,
        "shards": len(build["shards"]),
        "shards_done": done,
        "listed": build.get("listed"),
        "pairs": sum(s["pairs"] for s in splits.values()),
        "rows": sum(s["rows"] for s in splits.values()),
        "splits": splits,
        "generators": [f.get("name") or f.get("kind") for f in recipe.get("fakes") or [] if isinstance(f, dict)],
        "dropped": dict(sorted(dropped.items(), key=lambda kv: (-kv[1], kv[0]))),
        "data_bytes": sum(s["bytes"] for s in splits.values()),
        "total_bytes": _du(out),
    }


def lock_holder(out) -> dict | None:
    """Who holds OUT/_lock now, or None. Locally the lock is a flock (store/lock.py): a leftover file of a
    dead build is not held. Elsewhere the lock file is advisory: its presence is the answer."""
    from toolkit.store.lock import LOCK_FILE

    if not out.exists(LOCK_FILE):
        return None
    protocol = out.fs.protocol if isinstance(out.fs.protocol, (tuple, list)) else (out.fs.protocol,)
    if "file" not in protocol:
        try:
            return json.loads(out.read_bytes(LOCK_FILE) or b"{}")
        except (ValueError, OSError):
            return {}
    import fcntl
    import os

    try:
        fd = os.open(out.path(LOCK_FILE), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:  # the build just finished
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            return json.loads(os.read(fd, 65536) or b"{}")
        except (ValueError, OSError):
            return {}
    finally:
        os.close(fd)  # closing releases our shared lock, if we got it
    return None


def _du(out) -> int:
    try:
        return int(sum(out.fs.du(out.root, total=False).values()))
    except Exception:  # noqa: BLE001 - a filesystem without du: size unknown
        return 0


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def format_facts(f: dict) -> str:
    state = f["state"].upper() if f["state"] != "complete" else "complete"
    lines = [f"{f['output']}: dataset {f['name']!r} (recipe {f['recipe_hash']}, toolkit {f['toolkit']}): {state}, "
             f"{f['shards_done']}/{f['shards']} shards"]
    if f["locked_by"] is not None:
        from toolkit.store.lock import describe

        lines.append(f"  locked: a build is writing it now ({describe(f['locked_by'])})")
    lines.append(f"  {f['pairs']} pairs, {f['rows']} rows; generators: {', '.join(map(str, f['generators'])) or 'none'}")
    for name, s in f["splits"].items():
        lines.append(f"  {name:8s} {s['pairs']:>8d} pairs {s['rows']:>9d} rows  real {s['real']}, fake {s['fake']}"
                     + (f"  ({s['shards_done']}/{s['shards']} shards)" if s["shards_done"] != s["shards"] else ""))
    drops = ", ".join(f"{k} {v}" for k, v in f["dropped"].items())
    lines.append(f"  dropped: {drops or 'none'}" + (f" (of {f['listed']} listed reals)" if f["listed"] else ""))
    lines.append(f"  size: {_size(f['data_bytes'])} of data, {_size(f['total_bytes'])} in all")
    return "\n".join(lines)
