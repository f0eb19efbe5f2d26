"""One parallel resampling engine under every loop in effekt.

Bootstraps, placebo loops, randomization inference and simulation studies all
run through :func:`resample` (replications that each need random numbers) or
:func:`parallel_map` (independent tasks such as one placebo fit per donor).

- Work is cut into chunks whose boundaries depend only on the number of
  replications, never on ``n_jobs``.
- Each chunk draws from its own stream, spawned from the user's seed with
  :class:`numpy.random.SeedSequence`, so the numbers are identical for any
  ``n_jobs`` and any joblib backend.
- Chunks run through :class:`joblib.Parallel`, so
  ``with joblib.parallel_config(backend="dask"):`` (or Ray) moves the loop to a
  cluster without code changes.
- Long runs show a progress bar (tqdm) unless ``effekt.options["progress"]`` is
  False.
- Processes cost a start-up: each joblib (loky) worker imports numpy, pandas and
  effekt before its first chunk, a few seconds on a small machine
  (``benchmarks/bench_wild.py``: about 3.3 s for two workers on an idle two-core
  machine, where ``import pandas`` alone takes 1.3 s). ``n_jobs > 1`` pays off for
  loops that run longer than that with one worker; joblib keeps the workers for
  later loops in the same session.

Examples
--------
>>> import numpy as np
>>> from effekt.parallel import resample
>>> def draw(rng, size):
...     return rng.normal(size=size)
>>> a = resample(draw, 1000, seed=1, n_jobs=1, progress=False)
>>> b = resample(draw, 1000, seed=1, n_jobs=2, progress=False)
>>> bool(np.array_equal(a, b)), a.shape
(True, (1000,))
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

from effekt.errors import (
    check_int,
    check_keywords,
    check_n_jobs,
    check_seed,
)
from effekt.options import options, resolve_threads

__all__ = ["parallel_map", "resample", "spawn_generators", "thread_map"]

T = TypeVar("T")
R = TypeVar("R")

_CHUNK = 250  # replications per chunk: large enough to amortise dispatch, small for progress


def spawn_generators(
    seed: int | np.random.SeedSequence | None, n: int
) -> list[np.random.Generator]:
    """``n`` independent generators spawned from ``seed`` (same seed, same streams).

    Parameters
    ----------
    seed : int, SeedSequence or None
        None draws fresh entropy (not reproducible).
    n : int
        Number of streams.

    Returns
    -------
    list of numpy.random.Generator

    Examples
    --------
    >>> from effekt.parallel import spawn_generators
    >>> a, b = spawn_generators(7, 2)
    >>> float(a.random()) != float(b.random())
    True
    """
    check_seed("seed", "spawn_generators", seed)
    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return [np.random.default_rng(s) for s in root.spawn(n)]


def thread_map(
    func: Callable[[T], R], items: Iterable[T], threads: int | None = None
) -> Iterator[R]:
    """``func(x) for x in items`` on a pool of threads: results in order, a few items ahead.

    For effekt's own passes over large numpy arrays, whose kernels release the GIL:
    threads share the arrays (no copies, unlike processes), so two cores cut the time
    of a pass by up to a half. Items are drawn from ``items`` in order in the calling
    thread (so a generator that draws random numbers draws them in the same order for
    any number of threads), and at most ``2 * threads`` items and results are held at
    a time, which bounds their memory.

    Parameters
    ----------
    func : callable
        Called on each item; it must be safe to run concurrently with itself (for
        example, each call writes its own rows of a shared array, or returns its part).
    items : iterable
        The items, drawn lazily in order.
    threads : int, optional
        Number of threads; by default the ``threads`` option (``effekt.options``).
        With one thread the items are processed in this thread.

    Returns
    -------
    iterator
        ``func(item)`` for each item, in the order of ``items``.

    Examples
    --------
    >>> from effekt.parallel import thread_map
    >>> list(thread_map(lambda x: x * x, range(5), threads=2))
    [0, 1, 4, 9, 16]
    """
    n = resolve_threads() if threads is None else threads
    if n <= 1:
        yield from map(func, items)
        return
    pending: deque[Future[R]] = deque()
    with ThreadPoolExecutor(max_workers=n) as pool:
        for x in items:  # loop over the items, submitting ahead
            pending.append(pool.submit(func, x))
            if len(pending) >= 2 * n:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _progress(total: int, desc: str, show: bool | None) -> Any:
    show = bool(options["progress"]) if show is None else show
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False)


@check_keywords
def resample(
    func: Callable[[np.random.Generator, int], np.ndarray],
    reps: int,
    *,
    seed: int | np.random.SeedSequence | None,
    n_jobs: int = 1,
    chunk_size: int = _CHUNK,
    progress: bool | None = None,
    desc: str = "resampling",
) -> np.ndarray:
    """Run ``reps`` replications of ``func`` in chunks, reproducibly and in parallel.

    Parameters
    ----------
    func : callable ``(rng, size) -> ndarray``
        Computes ``size`` replications with generator ``rng``; returns an array
        whose first axis has length ``size``. It must be picklable for process
        backends (a module-level function or a :func:`functools.partial`).
    reps : int
        Total number of replications.
    seed : int, SeedSequence or None
        Root seed; chunk ``i`` always uses the ``i``-th spawned stream.
    n_jobs : int, default 1
        Parallel workers (``-1``: all cores). Results do not depend on it.
    chunk_size : int, default 250
        Replications per chunk. Results depend on it, so keep the default
        when comparing runs.
    progress : bool, optional
        Show a progress bar; default ``effekt.options["progress"]``.
    desc : str
        Progress-bar label.

    Returns
    -------
    numpy.ndarray
        The chunks' outputs concatenated along the first axis (length ``reps``).

    Raises
    ------
    ParameterError
        Invalid ``reps``, ``n_jobs``, ``chunk_size`` or ``seed``.
    """
    owner = "resample"
    check_int("reps", owner, reps, low=1, expected="a positive integer")
    check_int("chunk_size", owner, chunk_size, low=1, expected="a positive integer")
    check_n_jobs("n_jobs", owner, n_jobs)
    check_seed("seed", owner, seed)  # before any work, not when the first chunk is spawned
    sizes = [min(chunk_size, reps - start) for start in range(0, reps, chunk_size)]
    rngs = spawn_generators(seed, len(sizes))
    parts = parallel_map(
        _call_chunk,
        list(zip(rngs, sizes, strict=True)),
        n_jobs=n_jobs,
        progress=progress,
        desc=desc,
        extra=(func,),
        weights=sizes,
    )
    return np.concatenate(parts, axis=0)


def _call_chunk(item: tuple[np.random.Generator, int], func: Callable[..., np.ndarray]) -> Any:
    rng, size = item
    return func(rng, size)


@check_keywords
def parallel_map(
    func: Callable[..., R],
    items: Sequence[T] | Iterable[T],
    *,
    n_jobs: int = 1,
    progress: bool | None = None,
    desc: str = "",
    extra: tuple[Any, ...] = (),
    weights: Sequence[int] | None = None,
) -> list[R]:
    """Apply ``func(item, *extra)`` to every item, in order, with joblib.

    Parameters
    ----------
    func : callable
        Picklable function for process backends.
    items : sequence
        Inputs; results come back in the same order.
    n_jobs : int, default 1
        Parallel workers (``-1``: all cores). With 1, runs in this process.
    progress : bool, optional
        Show a progress bar; default ``effekt.options["progress"]``.
    desc : str
        Progress-bar label.
    extra : tuple
        Extra positional arguments passed to every call.
    weights : sequence of int, optional
        Progress units per item (e.g. replications per chunk).

    Returns
    -------
    list
        ``[func(item, *extra) for item in items]``.

    Examples
    --------
    >>> from effekt.parallel import parallel_map
    >>> parallel_map(pow, [1, 2, 3], extra=(2,), progress=False)
    [1, 4, 9]
    """
    check_n_jobs("n_jobs", "parallel_map", n_jobs)
    items = list(items)
    steps = list(weights) if weights is not None else [1] * len(items)
    bar = _progress(sum(steps), desc, progress)
    try:
        if n_jobs == 1:
            results = []
            for item, step in zip(items, steps, strict=True):
                results.append(func(item, *extra))
                if bar is not None:
                    bar.update(step)
            return results
        from joblib import Parallel, delayed

        runner = Parallel(n_jobs=n_jobs, return_as="generator")
        out: list[R] = []
        for result, step in zip(
            runner(delayed(func)(item, *extra) for item in items), steps, strict=True
        ):
            out.append(result)
            if bar is not None:
                bar.update(step)
        return out
    finally:
        if bar is not None:
            bar.close()
