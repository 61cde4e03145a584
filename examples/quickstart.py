"""casty quickstart: a crash-safe job pipeline over a log file, on one SQLite file.

Run it with ``casty-quickstart [FILE] [--db PATH] [--reset]`` (``FILE`` defaults
to the web-shop log shipped with casty). It reads the file, turns every
non-blank line into a job on a durable queue, and lets a few workers process
the jobs: find the log level, spot duplicate lines, collect per-path request
statistics. Then it prints a summary. Kill it at any moment (Ctrl-C, or
``kill -9``) and run the same command again: it carries on where it stopped,
and the final numbers are exactly those of an uninterrupted run.

The structures it uses, all in the SQLite journal ``--db``:

``queue[Job]("jobs")``
    the jobs, one per line, each carrying its line number.
``map[str, Cursor]("ingest")``
    how far the file has been read (line, byte offset, digest of the bytes so far).
``semaphore("workers", permits=3, lease=3)``
    at most three jobs are processed at once; a permit held by a killed run
    comes back by itself when its lease ends.
``map[str, int]("first-seen")``
    digest of a line's text → number of the first line with that text.
``set[Done]("done")``
    the ledger: one record per finished line (the commit point of a job).
``counter("processed")``, ``counter("duplicates")``, ``counter("level-…")``
    live totals (the level counters count unique lines), reconciled with the
    ledger at start.
``lock("summary")`` and ``map[str, Report]("reports")``
    the summary is computed and stored under the lock.
``lock("run", lease=3)``
    only one run at a time works on a database; the run renews the lease while
    it goes on, and the lease of a killed run runs out by itself.

Why nothing is lost or counted twice, though a crash may strike between any
two writes (each write alone is atomic and durable once acknowledged):

1. Reading: the cursor is advanced *before* the jobs of a batch are enqueued.
   At start, every non-blank line up to the cursor that is not in the ledger
   is enqueued again, so a job lost anywhere (not yet enqueued, or taken from
   the queue by a worker that died) is recovered. A job may thus be in the
   queue twice; that is harmless because of 2.
2. A job's commit point is ``done.add(record)``. Everything before it is
   idempotent: ``first_seen.put_if_absent(digest, line)`` returns the line
   that was first, so a retried line gets the same answer as before, and the
   record is a pure function of the line. ``add`` returning ``False`` means
   the line was already counted.
3. The counters are incremented after the commit. A crash between the commit
   and the increments would leave them short, so at start they are compared
   with the ledger and repaired (``counter.set``). A counter increment is not
   idempotent; a ledger plus reconciliation makes it exact.
4. Whatever a dead process could hold (the run lock, the workers' permits, the
   summary lock) is taken with a lease, so it comes back by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import importlib.resources
import json
import logging
import os
import re
import signal
import stat
import sys
import time
from collections import Counter as Tally
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from casty import ActorSystem, Distributed, Lock, serializable
from casty.errors import (
    AskTimeout,
    CastyError,
    ConcurrencyConflict,
    JournalError,
    JournalUnavailable,
    SchemaError,
)

__all__ = ["main"]

MAX_LINE_BYTES = 4096
"""Longer lines are cut to this many bytes (and counted as truncated)."""
WORKERS = 4
MAX_WORKERS = 64  # more workers than this only queue up behind the permits
PERMITS = 3
LEASE = 3.0
"""Seconds a worker's permit stays valid if its process dies while holding it."""
WINDOW = 64
"""At most this many jobs are enqueued but not yet done (bounds the work redone after a crash)."""
BATCH = 16
LEVELS = ("DEBUG", "INFO", "WARN", "ERROR", "CRITICAL", "none")
DEFAULT_DB = "casty-quickstart.db"
TITLE = "[bold]casty quickstart[/] — a crash-safe job pipeline on durable distributed structures"

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 1, 2, 130, 141


# -- durable values (registered under stable names: they are stored as JSON) --------
@serializable("quickstart.Job")
@dataclass(frozen=True, slots=True)
class Job:
    """One line to process."""

    line: int
    text: str


@serializable("quickstart.Done")
@dataclass(frozen=True, slots=True)
class Done:
    """The ledger record of a finished line: a pure function of the line and its first occurrence."""

    line: int
    level: str
    duplicate: bool
    path: str | None = None
    status: int | None = None
    ms: int | None = None


@serializable("quickstart.Cursor")
@dataclass(frozen=True, slots=True)
class Cursor:
    """Lines ``1..line`` (bytes ``0..offset``, whose SHA-256 is ``digest``) have been read."""

    line: int
    offset: int
    digest: str
    source: str


@serializable("quickstart.PathStats")
@dataclass(frozen=True, slots=True)
class PathStats:
    path: str
    requests: int
    errors: int
    avg_ms: float
    max_ms: int


@serializable("quickstart.Report")
@dataclass(frozen=True, slots=True)
class Report:
    """The summary, as stored in the ``reports`` map."""

    source: str
    jobs: int
    unique: int
    duplicates: int
    levels: dict[str, int]
    requests: int
    statuses: dict[str, int]
    paths: tuple[PathStats, ...]
    runs: int
    finished_at: float


# -- reading the input -----------------------------------------------------------------
class InputError(Exception):
    """The input cannot be used; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class RawLine:
    number: int
    end: int
    data: bytes
    truncated: bool


def iter_lines(stream: IO[bytes], hasher: Any) -> Iterator[RawLine]:
    """Physical lines with their end offset; memory stays bounded however long a line is."""
    number = offset = 0
    while True:
        chunk = stream.readline(MAX_LINE_BYTES + 1)
        if not chunk:
            return
        hasher.update(chunk)
        offset += len(chunk)
        data, truncated = chunk, False
        if len(chunk) > MAX_LINE_BYTES and not chunk.endswith(b"\n"):
            data, truncated = chunk[:MAX_LINE_BYTES], True
            while not chunk.endswith(b"\n"):
                chunk = stream.readline(1 << 16)
                if not chunk:
                    break
                hasher.update(chunk)
                offset += len(chunk)
        number += 1
        yield RawLine(number, offset, data.rstrip(b"\r\n"), truncated)


def decode(raw: RawLine) -> tuple[str, bool]:
    """The line's text and whether it had invalid UTF-8 (replaced by U+FFFD)."""
    data = raw.data
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by truncation is not an encoding error.
        if raw.truncated and exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            return data[: exc.start].decode("utf-8"), False
        return data.decode("utf-8", errors="replace"), True


@dataclass(slots=True)
class Scan:
    """What a pass over the input found."""

    lines: int = 0
    jobs: int = 0
    blank: int = 0
    truncated: int = 0
    invalid: int = 0
    size: int = 0
    cursor_ok: bool = True
    requeue: list[Job] = field(default_factory=list)


def open_input(path: Path) -> IO[bytes]:
    """Open ``path`` for reading or raise :class:`InputError` with a clear reason."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(f"cannot read {path}: no such file") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"cannot read {path}: it is a directory, give a text or log file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"cannot read {path}: not a regular file")
    try:
        return path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


def scan(path: Path, cursor: Cursor | None, done_lines: set[int]) -> Scan:
    """Count the input, check it still starts as it did, list lines to enqueue again."""
    result = Scan(cursor_ok=cursor is None)
    hasher = hashlib.sha256()
    with open_input(path) as stream:
        for raw in iter_lines(stream, hasher):
            result.lines += 1
            result.size = raw.end
            text, invalid = decode(raw)
            result.truncated += raw.truncated
            result.invalid += invalid
            if not text.strip():
                result.blank += 1
                continue
            result.jobs += 1
            if cursor is not None and raw.number <= cursor.line and raw.number not in done_lines:
                result.requeue.append(Job(raw.number, text))
            if cursor is not None and raw.number == cursor.line:
                result.cursor_ok = raw.end == cursor.offset and hasher.hexdigest() == cursor.digest
        if cursor is not None and cursor.line == 0:
            result.cursor_ok = True
    return result


# -- what a job computes ------------------------------------------------------------------
_LEVEL = re.compile(r"\b(DEBUG|INFO|WARN|WARNING|ERROR|CRITICAL|FATAL)\b")
_REQUEST = re.compile(r'"(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (\S+) HTTP/[0-9.]+" (\d{3})(?: (\d+)ms)?')
_ID_SEGMENT = re.compile(r"/\d+(?=/|$)")


def classify(text: str) -> tuple[str, str | None, int | None, int | None]:
    """Level, normalized request path, HTTP status and latency of a log line."""
    found = _LEVEL.search(text)
    level = "none" if found is None else found.group(1)
    level = {"WARNING": "WARN", "FATAL": "CRITICAL"}.get(level, level)
    request = _REQUEST.search(text)
    if request is None:
        return level, None, None, None
    path = _ID_SEGMENT.sub("/:id", request.group(2).split("?", 1)[0])
    ms = request.group(4)
    return level, f"{request.group(1)} {path}", int(request.group(3)), None if ms is None else int(ms)


def line_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


# -- the pipeline -------------------------------------------------------------------------
class Pipeline:
    """The structures of one database and the jobs of one run."""

    def __init__(self, d: Distributed, *, permits: int) -> None:
        self.d = d
        self.permits = permits
        self.jobs = d.queue[Job]("jobs")
        self.ingest = d.map[str, Cursor]("ingest")
        self.first_seen = d.map[str, int]("first-seen")
        self.done = d.set[Done]("done")
        self.reports = d.map[str, Report]("reports")
        self.processed = d.counter("processed")
        self.duplicates = d.counter("duplicates")
        self.by_level = {level: d.counter(f"level-{level.lower()}") for level in LEVELS}
        self.runs = d.counter("runs")
        self.done_lines: set[int] = set()
        self.outstanding: set[int] = set()
        self.room = asyncio.Condition()
        self.reading_finished = False
        self.done_this_run = 0

    # -- start: reconcile the counters with the ledger ------------------------------
    async def reconcile(self, records: frozenset[Done]) -> list[str]:
        """Make the counters agree with the ledger; describe each repair."""
        levels = Tally(r.level for r in records if not r.duplicate)
        wanted = [(self.processed, len(records)), (self.duplicates, sum(r.duplicate for r in records))]
        wanted += [(self.by_level[level], levels[level]) for level in LEVELS]
        repairs = []
        for counter, value in wanted:
            current = await counter.get()
            if current != value:
                await counter.set(value)
                repairs.append(f"counter {counter.name!r} {current} → {value}")
        return repairs

    async def enqueue(self, jobs: list[Job]) -> None:
        self.outstanding.update(job.line for job in jobs)
        await asyncio.gather(*(self.jobs.enqueue(job) for job in jobs))

    # -- reading: advance the cursor, then enqueue ---------------------------------
    async def read(self, path: Path, source: str, cursor: Cursor | None) -> None:
        start = 0 if cursor is None else cursor.line
        hasher = hashlib.sha256()
        batch: list[Job] = []
        with open_input(path) as stream:
            last: RawLine | None = None
            for raw in iter_lines(stream, hasher):
                if raw.number <= start:
                    continue
                last = raw
                text, _ = decode(raw)
                if text.strip():
                    batch.append(Job(raw.number, text))
                if len(batch) >= BATCH:
                    await self._flush(batch, Cursor(raw.number, raw.end, hasher.hexdigest(), source))
                    batch = []
            if last is not None:
                await self._flush(batch, Cursor(last.number, last.end, hasher.hexdigest(), source))
        self.reading_finished = True

    async def _flush(self, batch: list[Job], cursor: Cursor) -> None:
        async with self.room:
            await self.room.wait_for(lambda: len(self.outstanding) < WINDOW)
        await self.ingest.put("cursor", cursor)
        await self.enqueue(batch)

    # -- working ------------------------------------------------------------------------
    async def work(self) -> None:
        permit = self.d.semaphore("workers", self.permits, lease=LEASE, timeout=LEASE + 30)
        while True:
            async with permit:
                try:
                    job = await self.jobs.take(timeout=0.25)
                except AskTimeout:
                    if self.reading_finished and not self.outstanding:
                        return
                    continue
                await self.handle(job)

    async def handle(self, job: Job) -> None:
        if job.line not in self.done_lines:
            level, path, status, ms = classify(job.text)
            first = await self.first_seen.put_if_absent(line_key(job.text), job.line)
            duplicate = first is not None and first != job.line
            if await self.done.add(Done(job.line, level, duplicate, path, status, ms)):
                tally = self.duplicates if duplicate else self.by_level[level]
                await asyncio.gather(self.processed.increment(), tally.increment())
                self.done_this_run += 1
            self.done_lines.add(job.line)
        async with self.room:
            self.outstanding.discard(job.line)
            self.room.notify_all()

    # -- the summary ----------------------------------------------------------------------
    async def summarize(self, source: str) -> Report:
        async with self.d.lock("summary", lease=10.0, timeout=30.0):
            records = await self.done.members()
            levels = {level: await self.by_level[level].get() for level in LEVELS}
            requests = [r for r in records if r.path is not None and not r.duplicate]
            by_path: dict[str, list[Done]] = {}
            for record in requests:
                by_path.setdefault(record.path or "", []).append(record)
            paths = []
            for name, hits in by_path.items():
                latencies = [r.ms for r in hits if r.ms is not None]
                errors = sum(1 for r in hits if r.status is not None and r.status >= 400)
                avg = sum(latencies) / len(latencies) if latencies else 0.0
                paths.append(PathStats(name, len(hits), errors, round(avg, 1), max(latencies, default=0)))
            paths.sort(key=lambda p: (-p.requests, p.path))
            statuses = Tally(f"{r.status // 100}xx" for r in requests if r.status is not None)
            processed = await self.processed.get()
            duplicates = await self.duplicates.get()
            report = Report(
                source=source,
                jobs=processed,
                unique=processed - duplicates,
                duplicates=duplicates,
                levels=levels,
                requests=len(requests),
                statuses=dict(sorted(statuses.items())),
                paths=tuple(paths),
                runs=await self.runs.get(),
                finished_at=time.time(),
            )
            await self.reports.put("latest", report)
            return report


# -- output ---------------------------------------------------------------------------------
class QuietConsole(Console):
    """A console that, when its reader goes away, stops printing and lets the run stop cleanly."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


class Output:
    """Progress and summary; a live bar on a terminal, plain lines otherwise."""

    def __init__(self, console: Console, total: int, json_mode: bool) -> None:
        self.console = console
        self.total = total
        self.json_mode = json_mode
        self.progress: Progress | None = None
        self.task: Any = None
        self.last = -1

    def start(self, done: int) -> None:
        if self.console.is_terminal and not self.json_mode:
            self.progress = Progress(
                TextColumn("[bold]jobs"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
            )
            self.task = self.progress.add_task("jobs", total=max(self.total, 1), completed=done)
            self.progress.start()
        self.update(done)

    def update(self, done: int) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=done)
        elif done != self.last:
            print(f"progress: {done}/{self.total} jobs done", flush=True)
        self.last = done

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def print_report(console: Console, report: Report, found: Scan, run: RunInfo) -> None:
    jobs = Table(title="Jobs", title_justify="left", title_style="bold", show_header=False, box=None)
    jobs.add_column(min_width=24)
    jobs.add_column(justify="right")
    jobs.add_row("lines read", str(found.lines))
    jobs.add_row("jobs (non-blank lines)", str(found.jobs))
    jobs.add_row("processed", str(report.jobs))
    jobs.add_row("duplicates removed", str(report.duplicates))
    jobs.add_row("unique lines", str(report.unique))
    jobs.add_row("done by this run", str(run.done_now))
    jobs.add_row("done by earlier runs", str(run.done_before))
    console.print(jobs)
    console.print()

    levels = Table(
        title="Unique lines by level", title_justify="left", title_style="bold", box=box.SIMPLE_HEAD
    )
    levels.add_column("level", min_width=22)
    levels.add_column("lines", justify="right")
    levels.add_column("share", justify="right")
    for level, count in report.levels.items():
        share = f"{100 * count / report.unique:.1f}%" if report.unique else "-"
        levels.add_row(level if level != "none" else "(no level)", str(count), share)
    console.print(levels)

    if report.paths:
        statuses = ", ".join(f"{k} {v}" for k, v in report.statuses.items())
        paths = Table(
            title=f"HTTP requests: {report.requests} ({statuses})",
            title_justify="left",
            title_style="bold",
            box=box.SIMPLE_HEAD,
        )
        paths.add_column("request", min_width=22)
        paths.add_column("count", justify="right")
        paths.add_column("4xx/5xx", justify="right")
        paths.add_column("avg ms", justify="right")
        paths.add_column("max ms", justify="right")
        for p in report.paths[:10]:
            paths.add_row(escape(p.path), str(p.requests), str(p.errors), f"{p.avg_ms:.0f}", str(p.max_ms))
        if len(report.paths) > 10:
            paths.add_row(f"… and {len(report.paths) - 10} more", "", "", "", "")
        console.print(paths)


@dataclass(slots=True)
class RunInfo:
    done_before: int = 0
    done_now: int = 0


# -- the command ---------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="casty-quickstart",
        description=(
            "A crash-safe job pipeline over a text or log file, kept in a SQLite file. "
            "Interrupt it (Ctrl-C or kill -9) and run the same command again: it carries on."
        ),
    )
    parser.add_argument(
        "file", nargs="?", help="the text/log file to process (default: a bundled web-shop log)"
    )
    parser.add_argument("--db", default=DEFAULT_DB, help=f"SQLite database file (default: ./{DEFAULT_DB})")
    parser.add_argument("--reset", action="store_true", help="delete the database first and start over")
    parser.add_argument(
        "--workers", type=int, default=WORKERS, help=f"worker tasks, 1-{MAX_WORKERS} (default: {WORKERS})"
    )
    parser.add_argument(
        "--permits",
        type=int,
        default=PERMITS,
        help=f"jobs processed at once, a semaphore (default: {PERMITS})",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    args = parser.parse_args(argv)
    if not 1 <= args.workers <= MAX_WORKERS:
        parser.error(f"--workers must be between 1 and {MAX_WORKERS}")
    if args.permits < 1:
        parser.error("--permits must be at least 1")
    return args


def delete_database(db: Path) -> bool:
    removed = False
    for suffix in ("", "-wal", "-shm", "-journal"):
        target = db.with_name(db.name + suffix)
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
            removed = True
    return removed


class OneLineFormatter(logging.Formatter):
    """Library warnings as one line each: the quickstart never prints a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        message = f"{record.name}: {record.getMessage()}"
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            message += f" ({type(exc).__name__}: {exc})"
        return message


def quiet_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter())
    for name in ("casty", "casty_journal_sql", "asyncio", "sqlalchemy"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.ERROR)
        logger.propagate = False


class Interrupted(Exception):
    pass


async def run(args: argparse.Namespace, path: Path, source: str, console: Console) -> int:
    from casty_journal_sql import SqlJournal

    db = Path(args.db)
    if args.reset and delete_database(db):
        console.print(f"[yellow]--reset:[/] deleted {escape(str(db))}")
    if not db.parent.is_dir():
        raise InputError(f"cannot create the database {db}: directory {db.parent} does not exist")
    if db.is_dir():
        raise InputError(f"--db {db} is a directory, give a file name")
    new_db = not db.exists()
    journal = SqlJournal(f"sqlite+aiosqlite:///{db}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if _signalled:
        stop.set()
    try:
        await journal.open()
        async with ActorSystem("quickstart") as system:
            d = Distributed(system, journal=journal)
            if not args.json:
                console.print(TITLE)
            claim = await claim_database(d, db, console, quiet=args.json, stop=stop)
            heartbeat = asyncio.create_task(keep_claim(claim))
            try:
                return await pipeline_run(args, path, source, console, d, db, new_db, stop, heartbeat)
            finally:
                heartbeat.cancel()
                with contextlib.suppress(asyncio.CancelledError, CastyError):
                    await heartbeat
                with contextlib.suppress(CastyError):
                    await claim.release()
    finally:
        await journal.close()


async def claim_database(
    d: Distributed, db: Path, console: Console, *, quiet: bool, stop: asyncio.Event
) -> Lock:
    """Take the lock that makes this run the only one on ``db``.

    Its lease is renewed while the run goes on (:func:`keep_claim`); the lease of
    a run that was killed runs out within ``LEASE`` seconds. Two processes each
    run their own copy of an entity, so a copy that is behind fails with
    ``ConcurrencyConflict`` and reloads itself: that too means "try again".
    """
    lock = d.lock("run", lease=LEASE)
    give_up = time.monotonic() + LEASE + 2.0
    told = False
    while True:
        with contextlib.suppress(ConcurrencyConflict):
            if await lock.try_acquire():
                return lock
        if stop.is_set():
            raise Interrupted
        if time.monotonic() > give_up:
            raise InputError(
                f"another casty-quickstart is running on {db}; wait for it to finish or use another --db"
            )
        if not told and not quiet:
            console.print(
                f"  [yellow]waiting[/]   {escape(str(db))} is locked by another run or by a stopped run's "
                f"{LEASE:g}s lease"
            )
            told = True
        await asyncio.sleep(0.2)


async def keep_claim(lock: Lock) -> None:
    """Renew the run lock's lease until cancelled; fail if it was lost."""
    while True:
        await asyncio.sleep(LEASE / 3)
        if not await lock.extend(LEASE):
            raise JournalError("this run lost its lock on the database (another run took over)")


async def pipeline_run(
    args: argparse.Namespace,
    path: Path,
    source: str,
    console: Console,
    d: Distributed,
    db: Path,
    new_db: bool,
    stop: asyncio.Event,
    heartbeat: asyncio.Task[None],
) -> int:
    started = time.monotonic()
    p = Pipeline(d, permits=args.permits)
    cursor = await p.ingest.get("cursor")
    records = await p.done.members()
    p.done_lines = {r.line for r in records}
    found = await asyncio.to_thread(scan, path, cursor, p.done_lines)
    if not found.cursor_ok:
        assert cursor is not None
        raise InputError(
            f"{db} was filled from {cursor.source}, and the first {cursor.line} lines of {source} differ "
            f"from it; use --reset to start over or --db to use another database"
        )
    held = await d.semaphore("workers", args.permits).status()
    if held.permits not in (0, args.permits):
        raise InputError(
            f"{db} was run with --permits {held.permits}; pass --permits {held.permits} "
            "or --reset to start over"
        )
    info = RunInfo(done_before=len(p.done_lines))
    quiet = args.json
    say = (lambda *a, **k: None) if quiet else console.print

    notes = [f"{found.lines} lines", f"{found.jobs} jobs"]
    if found.blank:
        notes.append(f"{found.blank} blank lines skipped")
    say(f"  input     {escape(source)}: {', '.join(notes)}")
    if not found.jobs:
        say("  [yellow]note[/]      the file has no non-blank lines: nothing to do")
    if found.truncated:
        say(
            f"  [yellow]note[/]      {found.truncated} lines longer than {MAX_LINE_BYTES} bytes are cut "
            f"to their first {MAX_LINE_BYTES} bytes"
        )
    if found.invalid:
        say(
            f"  [yellow]note[/]      {found.invalid} lines are not valid UTF-8 (binary data?); "
            "the bad bytes are read as U+FFFD"
        )
    run_no = await p.runs.increment()
    if new_db or (cursor is None and not records):
        say(f"  database  {escape(str(db))}: new, run #{run_no}")
    else:
        say(f"  database  {escape(str(db))}: run #{run_no}, resuming")
        say(
            f"  resume    {info.done_before}/{found.jobs} jobs were done; {len(found.requeue)} unfinished "
            "jobs queued again"
        )
    for repair in await p.reconcile(records):
        say(f"  [yellow]repaired[/]  {repair} (a run stopped between two writes)")
    say(f"  workers   {args.workers} tasks sharing {args.permits} semaphore permits (lease {LEASE:g}s)")
    if held.holders:
        say(
            f"  [yellow]waiting[/]   {len(held.holders)} permits still leased by the stopped run "
            f"(back within {LEASE:g}s)"
        )

    output = Output(console, found.jobs, args.json)
    output.start(len(p.done_lines))
    tasks: list[asyncio.Task[None]] = []
    stopper = asyncio.create_task(stop.wait())
    try:
        if found.requeue:
            await p.enqueue(found.requeue)
        tasks.append(asyncio.create_task(p.read(path, source, cursor)))
        tasks.extend(asyncio.create_task(p.work()) for _ in range(args.workers))
        while unfinished := [task for task in tasks if not task.done()]:
            await asyncio.wait(
                [*unfinished, stopper, heartbeat], timeout=0.5, return_when=asyncio.FIRST_COMPLETED
            )
            output.update(len(p.done_lines))
            for task in [*tasks, heartbeat]:
                if task.done() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            if stop.is_set():
                raise Interrupted
    except BaseException:
        output.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    finally:
        stopper.cancel()
    output.update(len(p.done_lines))
    output.stop()
    info.done_now = p.done_this_run

    report = await p.summarize(source)
    elapsed = time.monotonic() - started
    if args.json:
        print(
            json.dumps(
                {
                    **asdict(report),
                    "done_before": info.done_before,
                    "done_now": info.done_now,
                    "lines": found.lines,
                    "blank": found.blank,
                    "truncated": found.truncated,
                    "invalid_utf8": found.invalid,
                }
            ),
            flush=True,
        )
        return EXIT_OK
    console.print()
    print_report(console, report, found, info)
    console.print()
    rate = f", {info.done_now / elapsed:.0f} jobs/s" if info.done_now and elapsed > 0 else ""
    console.print(f"Done in {elapsed:.1f}s{rate}. Summary saved in map 'reports' under lock 'summary'.")
    console.print("Run again: nothing is processed twice. [bold]--reset[/] starts over.")
    return EXIT_OK


def fail(message: str) -> None:
    """One plain line on stderr (never wrapped, never a traceback)."""
    print(f"casty-quickstart: error: {' '.join(message.split())}", file=sys.stderr, flush=True)


_signalled: list[int] = []


def _remember_signal(signum: int, frame: object) -> None:
    """Until the event loop takes over, Ctrl-C/SIGTERM are noted, then handled as a clean stop."""
    _signalled.append(signum)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``casty-quickstart``; returns (and exits with) the exit code."""
    _signalled.clear()
    previous = {sig: signal.signal(sig, _remember_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _main(argv)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _main(argv: list[str] | None) -> int:
    args = parse_args(argv)
    console = QuietConsole(highlight=False, soft_wrap=not sys.stdout.isatty())
    quiet_logging()
    try:
        with contextlib.ExitStack() as stack:
            if args.file is None:
                resource = importlib.resources.files("examples").joinpath("sample.log")
                path = stack.enter_context(importlib.resources.as_file(resource))
                source = "sample.log (bundled)"
            else:
                path = Path(args.file)
                source = args.file
            open_input(path).close()
            code = asyncio.run(run(args, path, source, console))
    except InputError as exc:
        fail(str(exc))
        code = EXIT_USAGE
    except Interrupted:
        console.print(
            f"\n[bold yellow]Interrupted.[/] Progress is saved in {escape(args.db)}; "
            "run the same command again to carry on."
        )
        code = EXIT_INTERRUPTED
    except KeyboardInterrupt:
        console.print(f"\n[bold yellow]Interrupted.[/] Progress is saved in {escape(args.db)}.")
        code = EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of our output went away (| head): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except (JournalUnavailable, SchemaError, OSError) as exc:
        fail(str(exc))
        code = EXIT_FAILED
    except CastyError as exc:
        fail(f"{exc} (progress is saved in {args.db}; run the same command again to carry on)")
        code = EXIT_FAILED
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
