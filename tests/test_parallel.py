"""The resampling engine: identical numbers for any n_jobs, chunking, errors."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

import effekt as ek
from effekt.parallel import parallel_map, resample, spawn_generators


def _normals(rng, size, scale=1.0):
    return rng.normal(scale=scale, size=(size, 2))


def test_same_numbers_for_any_n_jobs():
    one = resample(_normals, 1234, seed=5, n_jobs=1, progress=False)
    two = resample(_normals, 1234, seed=5, n_jobs=2, progress=False)
    np.testing.assert_array_equal(one, two)
    assert one.shape == (1234, 2)


def test_seed_changes_numbers_and_none_is_fresh():
    a = resample(_normals, 10, seed=1, progress=False)
    b = resample(_normals, 10, seed=2, progress=False)
    assert not np.array_equal(a, b)


def test_chunks_use_spawned_streams():
    # the first chunk equals drawing from the first spawned generator directly
    out = resample(_normals, 300, seed=9, chunk_size=250, progress=False)
    first = spawn_generators(9, 2)[0].normal(size=(250, 2))
    np.testing.assert_array_equal(out[:250], first)


def test_partial_functions_are_accepted():
    out = resample(functools.partial(_normals, scale=0.0), 5, seed=0, progress=False)
    assert (out == 0).all()


def test_parallel_map_keeps_order_and_shows_progress(capsys):
    assert parallel_map(abs, [-3, 2, -1], n_jobs=2, progress=False) == [3, 2, 1]
    with ek.set_options(progress=True):
        parallel_map(abs, [-1] * 3, desc="placebos")
    assert "placebos" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"reps": 0}, "'reps' parameter of resample must be a positive integer"),
        ({"n_jobs": 0}, "'n_jobs' parameter of resample must be a positive integer or -1"),
        ({"seed": -1}, "'seed' parameter of resample must be a non-negative integer"),
        ({"chunk_size": 0}, "'chunk_size' parameter of resample"),
    ],
)
def test_bad_arguments(kw, message):
    args = {"reps": 10, "seed": 1, "progress": False, **kw}
    with pytest.raises(ek.ParameterError, match=message):
        resample(_normals, **args)


def test_dask_backend_gives_the_same_numbers():
    """joblib's dask backend on a local dask.distributed cluster: same streams, same numbers."""
    distributed = pytest.importorskip("dask.distributed")
    from joblib import parallel_config

    expected = resample(_normals, 600, seed=5, n_jobs=1, progress=False)
    with (
        distributed.Client(processes=False, n_workers=1, threads_per_worker=2) as client,
        parallel_config(backend="dask"),
    ):
        got = resample(_normals, 600, seed=5, n_jobs=2, progress=False)
        assert client.status == "running"
    np.testing.assert_array_equal(got, expected)


def test_thread_map_keeps_order_and_holds_few_items():
    import threading

    from effekt.parallel import thread_map

    drawn: list[int] = []
    seen: set[str] = set()

    def items():
        for i in range(50):  # drawn in order, in the calling thread
            drawn.append(i)
            yield i

    def square(i: int) -> int:
        seen.add(threading.current_thread().name)
        return i * i

    out = thread_map(square, items(), threads=2)
    first = next(out)
    assert first == 0
    assert len(drawn) <= 5  # at most 2 * threads items ahead of the consumer
    assert [first, *out] == [i * i for i in range(50)]
    assert drawn == list(range(50))
    assert list(thread_map(square, range(5), threads=1)) == [0, 1, 4, 9, 16]


def test_threads_option_defaults_to_omp_num_threads(monkeypatch):
    from effekt.options import resolve_threads

    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert resolve_threads() == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert 1 <= resolve_threads() <= 8
    with ek.set_options(threads=5):
        assert resolve_threads() == 5
    with pytest.raises(ek.OptionError, match="threads"):
        ek.set_options(threads=0)


def _mean_of_normals(rng):
    from scipy import stats

    x = rng.normal(1.0, 2.0, size=20)
    half = stats.t.ppf(0.975, 19) * x.std(ddof=1) / np.sqrt(20)
    return {
        "estimate": x.mean(),
        "ci_lower": x.mean() - half,
        "ci_upper": x.mean() + half,
        "truth": 1.0,
    }


def test_monte_carlo_study_on_a_dask_cluster_equals_one_job():
    """A simulation study (effekt.simulate.monte_carlo) moved to a local dask.distributed
    cluster by joblib's backend switch gives the replications of n_jobs=1, draw for draw."""
    distributed = pytest.importorskip("dask.distributed")
    from joblib import parallel_config

    from effekt.simulate import monte_carlo

    expected = monte_carlo(_mean_of_normals, n_reps=300, seed=11, n_jobs=1, progress=False)
    with (
        distributed.Client(processes=False, n_workers=1, threads_per_worker=2),
        parallel_config(backend="dask"),
    ):
        got = monte_carlo(_mean_of_normals, n_reps=300, seed=11, n_jobs=2, progress=False)
    pd.testing.assert_frame_equal(got.draws, expected.draws)
    pd.testing.assert_frame_equal(got.to_frame(), expected.to_frame())
