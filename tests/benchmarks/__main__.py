"""``python -m tests.benchmarks``: every benchmark in one run, printed as one markdown table.

    python -m tests.benchmarks [--quick] [--only inbox,memory,delivery,fanout,bovine,timelines]
                               [--database sqlite|postgres|both] [--out FILE] [--workdir DIR]

Progress goes to stderr, the table to stdout (and to ``--out``). What each row measures and how
the floor is defined: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.harness import PG_URL

from . import bovine_side, fanout, inbox, timelines
from .table import NO_GOAL, AnyRow, Row, header, not_run, render

SECTIONS = ("inbox", "memory", "delivery", "fanout", "bovine", "timelines")


@dataclass(frozen=True)
class Sizes:
    requests: int  # signed Create{Note} per inbox burst (and for the floor)
    likes: int  # Likes after the burst (alice gets as many posts to like)
    delivery_followers: int
    delivery_posts: int
    sign_samples: int
    fanout_nodes: int
    bovine_requests: int
    bovine_recipients: int
    timelines: dict[str, int]


FULL = Sizes(
    requests=2000,
    likes=200,
    delivery_followers=200,
    delivery_posts=5,
    sign_samples=3000,
    fanout_nodes=50,
    bovine_requests=500,
    bovine_recipients=100,
    timelines={"accounts": 21_000, "posts": 1_000_000, "readers": 50, "requests": 5000},
)
QUICK = Sizes(
    requests=100,
    likes=10,
    delivery_followers=10,
    delivery_posts=2,
    sign_samples=300,
    fanout_nodes=2,
    bovine_requests=50,
    bovine_recipients=5,
    timelines={"accounts": 10, "posts": 100, "readers": 4, "requests": 50},
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (a check, not numbers)")
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated, of: {', '.join(SECTIONS)}"
    )
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    parser.add_argument("--workdir", type=Path, help="keep node data and logs here")
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    args.only = only
    return args


def progress(message: str) -> None:
    print(f"== {message}", file=sys.stderr, flush=True)


async def guarded(
    name: str, goal: str, work: Callable[[], Awaitable[Sequence[AnyRow]]]
) -> list[AnyRow]:
    """Run one section; a failure becomes a row saying so, and the other rows still run."""
    start = time.perf_counter()
    try:
        rows = list(await work())
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        return [not_run(name, goal, f"{type(exc).__name__}: {str(exc)[:200]}")]
    progress(f"{name}: {time.perf_counter() - start:.0f} s")
    return rows


def delivery_wall(rows: Sequence[AnyRow]) -> float | None:
    for row in rows:
        if row.name.startswith("signed deliveries") and "wall " in row.value:
            return float(row.value.rsplit("wall ", 1)[1].split("/", 1)[0].replace(",", ""))
    return None


async def run(args: argparse.Namespace) -> str:
    sizes = QUICK if args.quick else FULL
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    rows: list[AnyRow] = []
    plein_accept: float | None = None
    plein_delivery: float | None = None
    with tempfile.TemporaryDirectory(prefix="plein-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for database in databases:
            if "inbox" in args.only or "memory" in args.only:
                progress(f"inbox ({database}, {sizes.requests} requests)")
                measured = inbox.Measured()

                async def do_inbox(db: str = database, m: inbox.Measured = measured) -> list[Row]:
                    found = await inbox.run(
                        database=db,
                        requests=sizes.requests,
                        likes=sizes.likes,
                        workdir=workdir,
                        memory="memory" in args.only,
                        measured=m,
                    )
                    if "inbox" not in args.only:
                        found = [r for r in found if r.name.startswith("memory")]
                    return found

                rows += await guarded(f"inbox ({database})", "-", do_inbox)
                if plein_accept is None and measured.accept:
                    plein_accept = measured.accept
            if "delivery" in args.only:
                progress(f"delivery ({database})")
                found = await guarded(
                    f"signed deliveries per core ({database})",
                    f">= {fanout.DELIVERY_GOAL * 100:.0f}% of signing",
                    lambda db=database: fanout.delivery(  # type: ignore[misc]
                        database=db,
                        followers=sizes.delivery_followers,
                        posts=sizes.delivery_posts,
                        workdir=workdir,
                        sign_samples=sizes.sign_samples,
                    ),
                )
                rows += found
                plein_delivery = plein_delivery or delivery_wall(found)
            if "fanout" in args.only:
                progress(f"fan-out ({database}, {sizes.fanout_nodes} follower nodes)")

                async def do_fanout(db: str = database) -> list[Row]:
                    found, _ = await fanout.fanout(
                        database=db, nodes=sizes.fanout_nodes, workdir=workdir
                    )
                    return found

                rows += await guarded(
                    f"fan-out ({database})",
                    NO_GOAL,
                    do_fanout,
                )
            if "timelines" in args.only:
                progress(f"timelines ({database})")
                rows += await timeline_rows(database, sizes, workdir)
        if "bovine" in args.only:
            progress("bovine-herd side by side")
            rows += await guarded(
                "bovine-herd 0.5.19 side by side",
                bovine_side.GOAL,
                lambda: bovine_side.run(
                    requests=sizes.bovine_requests,
                    recipients=sizes.bovine_recipients,
                    workdir=workdir,
                    plein_accept=plein_accept,
                    plein_delivery=plein_delivery,
                ),
            )
        pg = PG_URL if "postgres" in databases else None
        return render(rows, await header(pg) + (" (quick sizes)" if args.quick else ""))


async def timeline_rows(database: str, sizes: Sizes, workdir: Path) -> list[AnyRow]:
    async def work() -> list[Row]:
        t = sizes.timelines
        return await timelines.run(
            accounts=t["accounts"],
            posts=t["posts"],
            readers=t["readers"],
            requests=t["requests"],
            database=database,
            workdir=workdir / f"timelines-{database}",
        )

    return await guarded(f"timelines ({database})", "-", work)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    table = asyncio.run(run(args))
    print(table)
    if args.out:
        args.out.write_text(table, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
