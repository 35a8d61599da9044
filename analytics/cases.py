"""The case-ordered view of an event log, which every path analysis starts from.

Ordering convention: the events of one case are ordered by ``timestamp``, then by their
row order in the export (``row_nr``), because minute-resolution exports put several steps
in the same minute. A log already in time order is used as it is. One in export order
with whole-second times (as real exports are, whatever order their rows are in) is grouped
by case first and each case then put in time order (:func:`_by_time_within_cases`); in
any other the timestamps are sorted first (:func:`chronological_order`). The frame itself
is never sorted: the steps refer to the events by their row in the frame as given.

A **variant** is a case's ordered sequence of activities. Cases are told apart by a 64-bit
hash of ``case_id`` and variants by a 64-bit hash of the sequence (the sum of a hash of
each (position, activity) pair), so two different cases or paths share an id only with
probability about n² / 2⁶⁵: about 10⁻⁷ for 2 M cases.

Speed (10 M events on 2 cores, see ``benchmarks/RESULTS.md``): the one sort is of a single
64-bit column, (top bits of the case hash, row), sorted in place as values rather than as
an argsort plus gathers; the activity text is read once and coded through a hash table;
repeats are worked out once per variant (a few hundred) and spread back to the events.
numpy sorts and passes run on one core, so the long ones are split in two halves, one per
core (:func:`in_halves`): the time order within cases at a case start near the middle; the
one sort is Polars' own, on both cores (:func:`sort_keys`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import polars as pl

T = TypeVar("T")

# Rows per block in passes that need a temporary (an index cast to 64 bits, a product):
# per block it stays in the cache and comes back from the heap; over the whole column it
# would be fresh memory, faulted in and zeroed (analytics/heap.py).
BLOCK = 1 << 16


def blocks(part: slice) -> Iterator[slice]:
    """``part`` (a slice with start and stop) in consecutive slices of :data:`BLOCK` rows."""
    for start in range(part.start, part.stop, BLOCK):
        yield slice(start, min(start + BLOCK, part.stop))


def chronological(events: pl.DataFrame) -> pl.DataFrame:
    """Events in (timestamp, export row) order; free when they already are."""
    order = chronological_order(events)
    return events if order is None else events[order]


def _in_time_order(events: pl.DataFrame) -> bool:
    return events["row_nr"].is_sorted() and events["timestamp"].is_sorted()


def chronological_order(events: pl.DataFrame) -> np.ndarray | None:
    """The events' rows (positions in the frame) in (timestamp, ``row_nr``) order; None
    when the frame already is in that order.

    Only the timestamps are sorted, never the frame: each row's time, in the coarsest
    unit that loses nothing (second, millisecond or the column's own tick), goes above
    the row's position in one 64-bit value, and the values are sorted in place (3x faster
    than an argsort on 10 M rows). Positions break ties as ``row_nr`` does when the frame
    is in export order; a frame that is not, or a time span too long for the bits left,
    is argsorted by (timestamp, ``row_nr``) instead.
    """
    if _in_time_order(events):
        return None
    timestamps = events["timestamp"]
    n = events.height
    bits = max(1, (n - 1).bit_length())
    ticks = timestamps.to_physical()
    origin = ticks.min() or 0
    elapsed = ticks - origin
    span = elapsed.max() or 0
    per_second = _per_second(timestamps.dtype)
    units = (per_second, per_second // 1000, 1) if events["row_nr"].is_sorted() else ()
    for unit in units:
        if (span // unit).bit_length() + bits > 64:
            continue
        if unit > 1 and (elapsed % unit != 0).any():
            continue
        key = np.empty(n, dtype=np.uint64)
        at = 0
        for chunk in elapsed.get_chunks():
            part = key[at : at + chunk.len()]
            part[:] = chunk.to_numpy()
            if unit > 1:
                part //= np.uint64(unit)
            part <<= np.uint64(bits)
            for block in blocks(slice(at, at + chunk.len())):
                key[block] |= np.arange(block.start, block.stop, dtype=np.uint64)
            at += chunk.len()
        key.sort()
        key &= np.uint64((1 << bits) - 1)
        return key.astype(np.uint32 if bits <= 32 else np.int64)
    order = events.select(pl.arg_sort_by("timestamp", "row_nr", maintain_order=True))
    return order.to_series().to_numpy()


def text_codes(
    values: pl.Series, hashed: np.ndarray, rows: np.ndarray | None = None
) -> tuple[np.ndarray, list[str]]:
    """Dense codes of a text column given its ``hash()``: 0 for the alphabetically first
    text, ..., and ``len(names)`` for null; and the texts. With ``rows``, ``hashed`` is
    the hash of ``values[rows]`` and the codes are for those rows.

    The distinct hashes (few: activities, scenarios) are mapped to codes through a
    collision-free multiply-shift table, several times faster on 10 M rows than casting
    the text to an ``Enum``; only one text per distinct hash is read.
    """
    first = pl.Series(hashed).arg_unique().to_numpy()
    found = values.gather(pl.Series(first if rows is None else rows[first])).to_list()
    names = sorted(v for v in found if v is not None)
    where = {name: code for code, name in enumerate(names)}
    rank = np.array([where.get(v, len(names)) for v in found], dtype=np.uint32)
    return _map(hashed, hashed[first], rank).astype(np.min_scalar_type(len(names))), names


def _map(hashed: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values[i]`` wherever ``hashed`` equals ``keys[i]`` (every hash is one of the keys).

    Through a collision-free multiply-shift table, ``slots[(hash * m) >> shift]``, when
    one of 20 random odd multipliers gives one for the key count (2k² slots, so up to
    about 1,400 keys); else through a hash lookup, a few times slower on 10 M rows.
    """
    bits = max(4, 2 * len(keys).bit_length() + 1)
    rng = np.random.default_rng(0)
    for _ in range(20 if bits <= 22 else 0):
        multiplier = rng.integers(1, 2**63, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        shift = np.uint64(64 - bits)
        at = (keys * multiplier) >> shift
        if np.unique(at).size == keys.size:
            slots = np.zeros(1 << bits, dtype=values.dtype)
            slots[at] = values
            mapped = np.empty(hashed.size, dtype=values.dtype)
            for block in blocks(slice(0, hashed.size)):
                at = hashed[block] * multiplier
                at >>= shift  # below 2^22: the same as int64, which np.take wants
                np.take(slots, at.view(np.int64), out=mapped[block])
            return mapped
    return pl.Series(hashed).replace_strict(keys, values).to_numpy()


def _as_enum(codes: np.ndarray, names: list[str]) -> pl.Series:
    """Codes into ``names`` as an ``Enum`` Series; a code past the names is null."""
    dtype = pl.Enum(names)
    physical = pl.Series([], dtype=dtype).to_physical().dtype
    series = pl.Series(codes)
    if codes.size and codes.max() >= len(names):
        series = pl.select(pl.when(series < len(names)).then(series)).to_series()
    return series.cast(physical).cat.to(dtype)


def _ordered_by_second(events: pl.DataFrame, seconds: np.ndarray, whole: bool) -> bool:
    """Whether (whole second, position in the frame) orders the events as (timestamp,
    ``row_nr``) does: the frame is in export order, every timestamp is a whole second
    (``whole``, from :func:`_seconds_since` counted from a whole second) and none was
    capped in ``seconds``."""
    if not whole or not events["row_nr"].is_sorted():
        return False
    return not (seconds.size and seconds.max() >= 2**31 - 1)


def _by_time_within_cases(
    row: np.ndarray, starts: np.ndarray, lengths: np.ndarray, second: np.ndarray, code: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows, seconds and codes of :func:`case_order` (cases contiguous, each case's
    rows in frame order: ``case_order`` without a time order) with each case in (second,
    row) order, which is (timestamp, ``row_nr``) order when :func:`_ordered_by_second`.

    Nothing to do when no case's seconds go down (a log exported case by case). Else
    one stable argsort of (case start, second) values: the disorder is within cases,
    a few steps wide, so the sort's runs are long and the gathers local. On a shuffled
    log at 10 M events this is half the CPU of sorting every timestamp first
    (:func:`chronological_order`) and scattering the ranks for ``case_order``. The
    cases are split in two at a case start near the middle, each part sorted and
    gathered on its own thread (:func:`in_halves`)."""
    down = second[1:] < second[:-1]
    down[starts[1:] - 1] = False  # from one case's last step to the next case's first
    if not down.any():
        return row, second, code
    columns = (row, second, code)
    ordered = (np.empty_like(row), np.empty_like(second), np.empty_like(code))

    def sort(part: slice) -> None:
        cases = slice(*np.searchsorted(starts, (part.start, part.stop)))
        key = np.repeat(starts[cases].astype(np.uint64), lengths[cases])  # rows: uint32
        key <<= np.uint64(32)
        key |= second[part]
        order = np.argsort(key, kind="stable")  # positions within the part
        for values, out in zip(columns, ordered, strict=True):
            np.take(values[part], order, out=out[part], mode="clip")

    middle = min(int(np.searchsorted(starts, row.size // 2)), starts.size - 1)
    in_halves(sort, row.size, int(starts[middle]))
    return ordered


def case_order(
    case: np.ndarray,
    second: np.ndarray,
    order: np.ndarray | None = None,
    codes: Callable[[], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """For events with case hashes ``case`` (uint64) and ``second`` (uint32), in the
    frame's row order, and their :func:`chronological_order` ``order`` (None: the rows
    are chronological): the row permutation that makes cases contiguous (ordered by
    hash), each case in chronological order; each case's first position in it; the
    seconds in that order; and, given ``codes`` (called after the sort, so that the
    codes can be worked out beside it: small unsigned integers per row), the codes in
    that order.

    One in-place sort of 64-bit values: the case hash's top bits with the row's
    chronological rank in the ``b`` bits below (``b`` = bits needed for a row number, 24
    at 10 M events). Two cases whose hashes share those top bits (about n² / 2^(65-b): a
    couple at 2 M cases) come out interleaved in one block; the hash's low ``b`` bits,
    fetched with the seconds in one gather, tell them apart, and only those blocks are
    sorted again. The codes ride in the same gather, between the hash's low bits and the
    seconds, when they fit in the bits left (8 at 10 M events): one random gather of 10 M
    rows less. The sort (:func:`sort_keys`), the gather and every pass over the rows
    run in two halves on two threads.
    """
    n = case.size
    bits = max(1, (n - 1).bit_length())
    low = np.uint64((1 << bits) - 1)
    # Two 8-byte buffers reused throughout: fresh memory costs more than the arithmetic.
    # The passes over them run in halves on two threads (in_halves); the sort is Polars'.
    key, spare = np.empty(n, dtype=np.uint64), np.empty(n, dtype=np.uint64)
    if order is not None:
        for block in blocks(slice(0, n)):  # each row's chronological rank
            spare[order[block]] = np.arange(block.start, block.stop, dtype=np.uint64)

    def keyed(part: slice) -> None:
        np.bitwise_and(case[part], ~low, out=key[part])
        if order is not None:
            key[part] |= spare[part]
            return
        for block in blocks(part):
            key[block] |= np.arange(block.start, block.stop, dtype=np.uint64)

    in_halves(keyed, n)
    sort_keys(key)
    rank, first = np.empty(n, dtype=np.uint32), np.ones(n, dtype=bool)

    def ranked(part: slice) -> None:
        np.bitwise_and(key[part], low, out=rank[part], casting="unsafe")
        after = slice(max(part.start, 1), part.stop)  # the top bits changed from the last
        before = slice(after.start - 1, after.stop - 1)
        np.bitwise_xor(key[after], key[before], out=spare[after])
        np.greater(spare[after], low, out=first[after])

    in_halves(ranked, n)
    row = rank if order is None else _take(order, rank).astype(np.uint32)
    # Seconds above the codes above the hash's low bits: one random gather fetches all.
    code = None if codes is None else codes()
    riding = code is not None and bits + int(code.max(initial=0)).bit_length() <= 32
    packed = key

    def pack(part: slice) -> None:
        mine = packed[part]
        mine[:] = second[part]
        mine <<= np.uint64(32)
        mine |= np.bitwise_and(case[part], low, out=spare[part])
        if riding:
            mine |= np.left_shift(code[part], np.uint64(bits), out=spare[part], dtype=np.uint64)

    in_halves(pack, n)
    _take(packed, row, out=spare)
    check, seconds = np.empty(n, dtype=np.uint32), np.empty(n, dtype=np.uint32)
    gathered = np.empty(n, dtype=code.dtype) if riding else None

    def unpack(part: slice) -> None:
        mine = spare[part]
        np.bitwise_and(mine, np.uint64(0xFFFFFFFF), out=check[part], casting="unsafe")
        if gathered is not None:
            np.right_shift(check[part], np.uint32(bits), out=gathered[part], casting="unsafe")
            check[part] &= np.uint32(low)
        np.right_shift(mine, np.uint64(32), out=seconds[part], casting="unsafe")

    in_halves(unpack, n)
    if gathered is not None:
        code = gathered
    elif code is not None:
        code = _take(code, row)
    split = check[1:] != check[:-1]
    mixed = np.flatnonzero(split & ~first[1:]) + 1
    if mixed.size:
        others = [seconds] if order is None else [row, seconds]
        _separate(mixed, first, rank, check, others + ([] if code is None else [code]))
        split = check[1:] != check[:-1]
    first[1:] |= split
    return row, np.flatnonzero(first), seconds, code


def in_halves(work: Callable[[slice], T], n: int, at: int | None = None) -> tuple[T, T]:
    """``work`` on ``range(n)`` split in two at ``at`` (by default the middle), both parts
    at once on two threads: for numpy passes and sorts over millions of rows, which let
    go of the GIL, while Polars' threads are idle (a random gather waits on memory on one
    core, a sort runs on one)."""
    at = n // 2 if at is None else at
    with ThreadPoolExecutor(1) as other:
        second = other.submit(work, slice(at, n))
        return work(slice(0, at)), second.result()


def sort_keys(values: np.ndarray) -> None:
    """Sorts ``values`` (1-d) in place by Polars' multi-threaded sort, copied back: on an
    AMD EPYC host whose numpy sort is slow (0.7 s for 10 M uint64 on one core), 0.21 s
    against 0.41-0.47 s for a partition and numpy's sort of each half on two threads; the
    first pass on a case-ordered 10 M log 1.62 -> 0.94 s, shuffled 1.65 -> 1.25 s, time
    order level (paired, quiet)."""
    if values.size > 1:
        values[:] = pl.Series(values).sort().to_numpy()


def _take(values: np.ndarray, index: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``values[index]`` (into ``out`` if given), gathered :func:`in_halves`, each half
    in :func:`blocks` (numpy casts an index to 64 bits before it gathers)."""
    out = np.empty(index.size, dtype=values.dtype) if out is None else out

    def gather(part: slice) -> None:
        for block in blocks(part):
            # "clip": the indexes are rows by construction; "raise" copies through a buffer.
            np.take(values, index[block], out=out[block], mode="clip")

    in_halves(gather, index.size)
    return out


def _separate(
    mixed: np.ndarray,
    first: np.ndarray,
    rank: np.ndarray,
    check: np.ndarray,
    others: list[np.ndarray],
) -> None:
    """Sorts, in place, the blocks holding positions ``mixed`` by (check, rank): cases
    whose hashes share their top bits, made contiguous; ``others`` are reordered with
    them."""
    starts = np.flatnonzero(first)
    ends = np.append(starts[1:], first.size)
    blocks = np.unique(np.searchsorted(starts, mixed, side="right") - 1)
    at = np.concatenate([np.arange(starts[b], ends[b]) for b in blocks])
    block = np.repeat(blocks, ends[blocks] - starts[blocks])
    fixed = at[np.lexsort((rank[at], check[at], block))]
    for values in (rank, check, *others):
        values[at] = values[fixed]


def _variant_ids(code: np.ndarray, step: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per case, a dense id of its activity sequence (0 for the first case's, then in order
    of first appearance): the wrapping sum over the case of a random 64-bit number per
    (step, activity): drawn from a table for cases of up to 4,096 steps, else hashed."""
    if not starts.size:
        return starts.astype(np.uint32)
    width, rows = int(code.max()) + 1, int(step.max()) + 1
    if rows <= 4096:
        table = np.random.default_rng(7).integers(0, 2**64 - 1, rows * width, dtype=np.uint64)
        picked = np.empty(code.size, dtype=np.uint64)
        for block in blocks(slice(0, code.size)):
            at = step[block].astype(np.int64)
            at *= width
            at += code[block]
            np.take(table, at, out=picked[block])
    else:
        pairs = (step.astype(np.uint64) << np.uint64(32)) | code.astype(np.uint64)
        picked = pl.Series(pairs).hash(7).to_numpy()
    keys = np.add.reduceat(picked, starts)
    first = pl.Series(keys).arg_unique().to_numpy()
    return _map(keys, keys[first], np.arange(first.size, dtype=np.uint32))


def representatives(
    variant: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For cases with path ids ``variant`` and steps ``starts[i]:ends[i]``: each present
    variant's case count (by ascending id), the step count of its first case, and the
    positions of those first cases' steps, concatenated."""
    cases = np.bincount(variant) if variant.size else np.zeros(0, dtype=np.int64)
    present = np.flatnonzero(cases)
    first = np.empty(cases.size, dtype=np.int64)
    first[variant[::-1]] = np.arange(variant.size - 1, -1, -1)
    first = first[present]
    span = ends[first] - starts[first]
    offsets = np.concatenate(([0], np.cumsum(span)))
    at = np.repeat(starts[first] - offsets[:-1], span) + np.arange(offsets[-1])
    return cases[present], span, at


def case_steps(events: pl.DataFrame) -> pl.DataFrame:
    """The events' steps, cases contiguous and each case's steps in order.

    Columns: ``row`` (the event's row in ``events``, to fetch anything else),
    ``case_no`` (0, 1, ...), ``step`` (0-based position in the case), ``last`` (the
    case's final step), ``activity`` (an ``Enum``), ``timestamp`` (to the whole second),
    ``repeat`` (this activity was already done earlier in the case), ``variant`` (the
    case's path id), ``case_scenario`` (the case's first non-null
    scenario, an ``Enum``). :func:`fetch` gets any other per-event column.
    """
    dtype = events.schema["timestamp"]
    origin = events.select(pl.col("timestamp").min().dt.truncate("1s").to_physical()).item()
    keys = events.select(
        pl.col("case_id").hash().alias("case"),
        pl.col("activity").hash(),
        pl.col("scenario").hash(),
    )
    # The activity codes, then the columns that depend on the case alone and the
    # timestamps, are worked out on a second thread beside the case order, then the
    # variant ids and repeats, which do not need them (0.2-0.3 s less at 10 M events).
    with ThreadPoolExecutor(1) as beside:
        coding = beside.submit(text_codes, events["activity"], keys["activity"].to_numpy())
        seconds, whole = _seconds_since(events["timestamp"], origin or 0)
        case = keys["case"].to_numpy()
        in_time = _in_time_order(events)
        by_second = not in_time and _ordered_by_second(events, seconds, whole)
        order = None if in_time or by_second else chronological_order(events)
        row, starts, second, code = case_order(case, seconds, order, lambda: coding.result()[0])
        del seconds
        n = row.size
        lengths = np.diff(np.append(starts, n))
        if by_second:
            row, second, code = _by_time_within_cases(row, starts, lengths, second, code)
        per_case = beside.submit(
            _per_case_columns,
            events["scenario"],
            keys["scenario"].to_numpy(),
            row,
            starts,
            lengths,
        )
        timestamps = beside.submit(_from_seconds, second, origin or 0, dtype)
        names = coding.result()[1]
        step = np.arange(n, dtype=np.uint32) - np.repeat(starts.astype(np.uint32), lengths)
        variant = _variant_ids(code, step, starts)
        per_event = np.repeat(variant, lengths)
        repeat = _repeats(code, step, variant, per_event, starts, starts + lengths)
        case_no, last, case_scenario = per_case.result()
    del keys
    return pl.DataFrame(
        {
            "row": row,
            "case_no": case_no,
            "step": step,
            "last": last,
            "activity": _as_enum(code, names),
            "timestamp": timestamps.result(),
            "repeat": repeat,
            "variant": per_event,
            "case_scenario": case_scenario,
        }
    )


def _per_case_columns(
    scenarios: pl.Series,
    hashed: np.ndarray,
    row: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, pl.Series]:
    """The per-step columns that depend on the case alone: ``case_no``, ``last`` and
    ``case_scenario``."""
    scenario, names = case_scenarios(scenarios, hashed, row, starts)
    last = np.zeros(row.size, dtype=bool)
    last[starts[1:] - 1] = True
    last[-1:] = True
    case_no = np.repeat(np.arange(starts.size, dtype=np.uint32), lengths)
    return case_no, last, _as_enum(np.repeat(scenario, lengths), names)


def _repeats(
    code: np.ndarray,
    step: np.ndarray,
    variant: np.ndarray,
    per_event: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
) -> np.ndarray:
    """Per step, whether its activity was done earlier in the case, given each case's
    ``variant`` (and each step's, ``per_event``) and its steps ``starts[i]:ends[i]``:
    worked out once per variant, on its first case's steps, then spread to every case of
    the variant."""
    _, span, at = representatives(variant, starts, ends)
    offsets = np.concatenate(([0], np.cumsum(span))).astype(np.uint32)
    model = pl.DataFrame({"v": np.repeat(np.arange(span.size), span), "code": code[at]})
    seen = model.select(~pl.col("code").is_first_distinct().over("v")).to_series()
    seen = seen.to_numpy().astype(bool)
    repeat = np.empty(step.size, dtype=bool)
    for block in blocks(slice(0, step.size)):
        at = np.take(offsets, per_event[block])
        at += step[block]
        np.take(seen, at, out=repeat[block])
    return repeat


# A log where more transitions than this stay in the same activity is a status-update log
# (one row per ticket update): its runs of updates are collapsed into steps by default.
SELF_LOOP_SHARE = 0.2


@dataclass(frozen=True)
class Loops:
    """Self-loops in the steps: ``share`` of the transitions (pairs of consecutive steps of
    a case) that stay in the same activity, counted before any collapse, and whether the
    views were ``collapsed``."""

    share: float
    collapsed: bool


def self_loops(steps: pl.DataFrame, collapse: bool | None = None) -> tuple[np.ndarray, Loops]:
    """Per step of :func:`case_steps`, whether it repeats the case's previous activity (a
    status update that left the state as it was); and the :class:`Loops`, collapsed when
    ``collapse`` says so or, when None, when more than :data:`SELF_LOOP_SHARE` of the
    transitions are self-loops."""
    code = steps["activity"].to_physical().to_numpy()
    loop = np.zeros(code.size, dtype=bool)
    np.equal(code[1:], code[:-1], out=loop[1:])
    loop &= steps["step"].to_numpy() != 0
    transitions = steps.height - int(np.count_nonzero(steps["step"].to_numpy() == 0))
    share = float(np.count_nonzero(loop)) / transitions if transitions else 0.0
    collapsed = share > SELF_LOOP_SHARE if collapse is None else collapse
    return loop, Loops(share, collapsed)


def collapse_self_loops(steps: pl.DataFrame, loop: np.ndarray) -> pl.DataFrame:
    """The steps without their self-loops (``loop``, from :func:`self_loops`): a run of
    updates in one activity is one step, at the time of the run's first update.

    ``step``, ``last`` and ``variant`` are worked out again; ``repeat`` stands as it is:
    the activities done before a kept step are the same with or without the run's later
    updates, which repeat the activity just before them.
    """
    kept = steps.filter(pl.Series(~loop))
    n = kept.height
    starts = np.flatnonzero(kept["step"].to_numpy() == 0)  # a case's first step is kept
    lengths = np.diff(np.append(starts, n))
    step = np.arange(n, dtype=np.uint32) - np.repeat(starts.astype(np.uint32), lengths)
    last = np.zeros(n, dtype=bool)
    last[starts[1:] - 1] = True
    last[-1:] = True
    variant = _variant_ids(kept["activity"].to_physical().to_numpy(), step, starts)
    return kept.with_columns(
        pl.Series("step", step),
        pl.Series("last", last),
        pl.Series("variant", np.repeat(variant, lengths)),
    )


def fetch(events: pl.DataFrame, columns: Sequence[pl.Expr], rows: pl.Series) -> pl.DataFrame:
    """``columns`` (expressions on the events) at ``rows`` of the events.

    The expressions are evaluated in one parallel pass. A loaded log comes in many
    chunks, and a scattered gather from them is slow (10x a contiguous one at 10 M
    events); joining the chunks first copies whole columns into fresh memory, which
    costs as much on a VM whose memory is faulted in page by page. So numbers without
    nulls are copied out to numpy, whose freed arrays are reused (analytics/heap.py),
    and gathered there in two halves
    (:func:`_take`); anything else (text, nulls) is gathered by Polars at the rows in
    ascending order, chunk after chunk, and put back in the order asked. Two id columns
    at 2 M of 10 M rows: 0.23-0.33 s and 7-9 k pages faulted in, against 0.15-0.57 s
    and 80 k pages for the copy that joins the chunks and a gather (the cost stage's
    first pass at 10 M events 3.1-3.3 -> 2.2-2.3 s with the numbers' path)."""
    selected = events.select(*columns)
    plain = [s for s in selected.iter_columns() if s.dtype.is_numeric() and not s.null_count()]
    index = rows.to_numpy()
    fetched = {s.name: pl.Series(s.name, _take(contiguous(s), index)) for s in plain}
    rest = selected.drop(fetched)
    if rest.width:
        order = rows.arg_sort().to_numpy()
        ascending = index[order]
        back = np.empty_like(order)
        back[order] = np.arange(order.size, dtype=order.dtype)
        for column in rest.iter_columns():
            fetched[column.name] = _chunk_by_chunk(column, ascending).gather(pl.Series(back))
    return pl.DataFrame([fetched[name] for name in selected.columns])


def _chunk_by_chunk(values: pl.Series, rows: np.ndarray) -> pl.Series:
    """``values`` at ``rows`` (ascending), gathered from each chunk of ``values`` in turn."""
    bounds = np.cumsum([0, *values.chunk_lengths()])
    cut = np.searchsorted(rows, bounds)
    parts = [
        chunk.gather(pl.Series(rows[start:stop] - first))
        for chunk, first, start, stop in zip(
            values.get_chunks(), bounds[:-1], cut[:-1], cut[1:], strict=True
        )
    ]
    return pl.concat(parts, rechunk=True)  # one chunk: the gather back is random


def contiguous(values: pl.Series) -> np.ndarray:
    """A numeric Series without nulls as one numpy array, copied chunk by chunk into
    memory numpy reuses (Polars' own copy of a chunked column is fresh memory each time:
    80 MB faulted in per 10 M floats)."""
    chunks = values.get_chunks()
    if len(chunks) == 1:
        return chunks[0].to_numpy()  # a view
    out, at = np.empty(values.len(), dtype=chunks[0].to_numpy().dtype), 0
    for chunk in chunks:
        out[at : at + chunk.len()] = chunk.to_numpy()
        at += chunk.len()
    return out


def like_chunks(values: np.ndarray, layout: pl.Series, name: str) -> pl.Series:
    """``values`` (one per row of ``layout``) as a Series in ``layout``'s chunks, without
    copying: Polars evaluates an expression over columns chunk by chunk in parallel when
    their chunks line up, and copies the misaligned ones whole when they do not."""
    parts, at = [], 0
    for length in layout.chunk_lengths():
        parts.append(pl.Series(name, values[at : at + length]))
        at += length
    return pl.concat(parts, rechunk=False) if len(parts) > 1 else pl.Series(name, values)


def case_bounds(steps: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each case's first position in ``steps`` and the position after its last."""
    starts = np.flatnonzero(steps["step"].to_numpy() == 0)
    return starts, np.append(starts[1:], steps.height)[: starts.size]


def case_table(
    steps: pl.DataFrame,
    events: pl.DataFrame | None = None,
    per_case: dict[str, np.ndarray] | None = None,
) -> pl.DataFrame:
    """One row per case of ``steps``, in case order (``case_no``): ``case_no``,
    ``variant``, ``scenario``, ``start``, ``end``, ``steps``, ``duration_s``, any
    ``per_case`` arrays (in case order, as from segment reductions over
    :func:`case_bounds`) and, with the ``events`` the steps came from, ``case_id`` and
    ``customer_id``. Sort by ``start`` for the cases in time order."""
    starts, ends = case_bounds(steps)
    firsts = steps.select("case_no", "variant", "case_scenario", "timestamp", "row")[starts]
    firsts = firsts.with_columns(enum_text(firsts["case_scenario"]))
    lasts = steps.select("timestamp", "step")[ends - 1]
    table = pl.concat(
        [firsts, lasts.rename(lambda c: f"last_{c}"), pl.DataFrame(per_case or {})],
        how="horizontal",
    ).select(
        "case_no",
        "variant",
        pl.col("case_scenario").alias("scenario"),
        pl.col("timestamp").alias("start"),
        pl.col("last_timestamp").alias("end"),
        (pl.col("last_step") + 1).alias("steps"),
        *(per_case or {}),
        (pl.col("last_timestamp") - pl.col("timestamp")).dt.total_seconds().alias("duration_s"),
        "row",
    )
    if events is None:
        return table.drop("row")
    return table.drop("row").hstack(fetch(events, [pl.col("case_id", "customer_id")], table["row"]))


def enum_text(values: pl.Series) -> pl.Series:
    """An ``Enum`` Series as ``String``: its categories gathered by code. At 2 M cases a
    sixth of the CPU of a cast, which builds each string again; the gather copies views."""
    categories = values.dtype.categories  # type: ignore[attr-defined]
    return pl.Series(values.name, categories, dtype=pl.String).gather(values.to_physical())


def _per_second(dtype: pl.DataType) -> int:
    return {"ns": 10**9, "us": 10**6, "ms": 10**3}[dtype.time_unit]  # type: ignore[attr-defined]


def _seconds_since(timestamps: pl.Series, origin: int) -> tuple[np.ndarray, bool]:
    """Whole seconds from ``origin`` (a physical value at or before every timestamp) to
    each timestamp, at most 2^31 - 1, as uint32; and whether each timestamp is a whole
    number of seconds after ``origin`` (seen in the same pass: the quotient was exact).

    Worked out chunk by chunk into the one output array: a loaded log comes in many
    chunks, and copying them into one first touches 80 MB of fresh memory at 10 M events.
    For milli- and microseconds the division is done in float64, 2-3x faster than integer
    division and exact: the elapsed ticks stay below 2^53, and a true quotient is at
    least 1/10^6 short of the next integer, more than the rounding error (under 2^-21)."""
    per_second = _per_second(timestamps.dtype)
    seconds = np.empty(timestamps.len(), dtype=np.uint32)
    at, whole = 0, True
    for chunk in timestamps.to_physical().get_chunks():
        ticks = chunk.to_numpy()
        for block in blocks(slice(0, ticks.size)):
            if per_second > 10**6:
                elapsed = ticks[block] - origin
                whole = whole and not np.remainder(elapsed, per_second).any()
                elapsed //= per_second
            else:
                elapsed = np.subtract(ticks[block], origin, dtype=np.float64)
                elapsed /= per_second
                whole = whole and bool(np.all(np.floor(elapsed) == elapsed))
            out = seconds[at + block.start : at + block.stop]
            np.minimum(elapsed, 2**31 - 1, out=out, casting="unsafe")
        at += ticks.size
    return seconds, whole


def _from_seconds(seconds: np.ndarray, origin: int, dtype: pl.DataType) -> pl.Series:
    """Whole seconds since ``origin`` (a physical value) back to a ``dtype`` (Datetime).

    Worked out in place in one int64 array that Polars then uses as it is: the same
    arithmetic as Polars expressions touched twice the fresh memory (160 MB at 10 M)."""
    ticks = seconds.astype(np.int64)
    ticks *= _per_second(dtype)
    ticks += origin
    return pl.Series(ticks).cast(dtype)


def case_scenarios(
    values: pl.Series, hashed: np.ndarray, row: np.ndarray, starts: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """Each case's first non-null scenario as a code into the returned names (a code
    past them: none), from the scenario column and its hash. Coded at the cases' first
    events; cases without one look further."""
    codes, names = text_codes(values, hashed[row[starts]], row[starts])
    missing = codes == len(names)
    if not missing.any() or values.null_count() == values.len():
        return codes, names
    lengths = np.diff(np.append(starts, row.size))
    found = (
        pl.DataFrame(
            {
                "case": np.repeat(np.flatnonzero(missing), lengths[missing]),
                "scenario": values.gather(pl.Series(row[np.repeat(missing, lengths)])),
            }
        )
        .group_by("case", maintain_order=True)
        .agg(pl.col("scenario").drop_nulls().first())
        .drop_nulls()
    )
    merged = sorted({*names, *found["scenario"]})
    where = {name: code for code, name in enumerate(merged)}
    mapping = np.array([where[name] for name in names] + [len(merged)], dtype=np.uint32)
    codes = mapping[codes]
    codes[found["case"].to_numpy()] = [where[v] for v in found["scenario"]]
    return codes, merged
