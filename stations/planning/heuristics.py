"""Siting heuristics: lazy greedy, 1-opt swaps and iterated local search (MCLP), and
greedy set covering with pruning (LSCP). Ties go to the lower candidate index.

See :mod:`stations.planning.siting` for the model; :mod:`stations.planning.exact` checks
these against spopt.
"""

from __future__ import annotations

import heapq
import time

import numpy as np
import scipy.sparse as sp

from .siting_model import SitingProblem

def _row(cov: sp.csr_matrix, j: int) -> np.ndarray:
    return cov.indices[cov.indptr[j]:cov.indptr[j + 1]]


def _greedy(cov: sp.csr_matrix, w: np.ndarray, *, p: int | None = None, need: float | None = None,
            start: list[int] | None = None) -> tuple[list[int], np.ndarray]:
    """Lazy greedy: add the candidate of largest gain until ``p`` sites or ``need`` weight."""
    remaining = w.astype(np.float64).copy()
    cnt = np.zeros(len(w), dtype=np.int32)
    chosen: list[int] = []
    covered = 0.0
    for j in start or []:
        idx = _row(cov, j)
        covered += remaining[idx].sum()
        remaining[idx] = 0
        cnt[idx] += 1
        chosen.append(j)
    gains = cov.astype(np.float64) @ remaining
    taken = set(chosen)
    heap = [(-float(gv), j) for j, gv in enumerate(gains) if gv > 0 and j not in taken]
    heapq.heapify(heap)
    eps = 1e-12 * max(1.0, float(w.sum()))
    while heap:
        if p is not None and len(chosen) >= p:
            break
        if need is not None and covered >= need - eps:
            break
        neg, j = heapq.heappop(heap)
        idx = _row(cov, j)
        true = float(remaining[idx].sum())
        if true <= eps:
            continue
        if heap and true < -heap[0][0] - eps:
            heapq.heappush(heap, (-true, j))
            continue
        chosen.append(j)
        covered += true
        remaining[idx] = 0
        cnt[idx] += 1
    return chosen, cnt


def _swap_improve(cov: sp.csr_matrix, cov_csc: sp.csc_matrix, w: np.ndarray, chosen: list[int], cnt: np.ndarray,
                  *, max_rounds: int = 200, time_limit_s: float = 30.0) -> tuple[list[int], np.ndarray]:
    """1-opt: swap one chosen site for the best outside one while the covered weight grows."""
    t0 = time.perf_counter()
    chosen = list(chosen)
    covf = cov.astype(np.float64)
    eps = 1e-9 * max(1.0, float(w.sum()))
    for _ in range(max_rounds):
        if time.perf_counter() - t0 > time_limit_s:
            break
        g_unc = covf @ (w * (cnt == 0))
        best = (eps, -1, -1)
        in_set = np.zeros(cov.shape[0], bool)
        in_set[chosen] = True
        for pos, s in enumerate(chosen):
            idx = _row(cov, s)
            only = idx[cnt[idx] == 1]
            loss = float(w[only].sum())
            gains = g_unc.copy()
            if len(only):
                gains += cov_csc[:, only].astype(np.float64) @ w[only]
            gains[in_set] = -np.inf
            j = int(np.argmax(gains))
            delta = float(gains[j]) - loss
            if delta > best[0]:
                best = (delta, pos, j)
        if best[1] < 0:
            break
        _, pos, j = best
        s = chosen[pos]
        cnt[_row(cov, s)] -= 1
        cnt[_row(cov, j)] += 1
        chosen[pos] = j
    return chosen, cnt


def _refill(covf: sp.csr_matrix, cov: sp.csr_matrix, w: np.ndarray, keep: list[int], p: int,
            rng: np.random.Generator, alpha: float) -> tuple[list[int], np.ndarray]:
    """Randomised greedy: refill to ``p`` sites, each time picking at random among the
    candidates whose gain is at least ``alpha`` times the best gain."""
    chosen = list(keep)
    cnt = np.zeros(len(w), dtype=np.int32)
    for j in chosen:
        cnt[_row(cov, j)] += 1
    while len(chosen) < p:
        gains = covf @ (w * (cnt == 0))
        gains[chosen] = -1.0
        top = float(gains.max())
        if top <= 0:
            break
        pool = np.nonzero(gains >= alpha * top)[0]
        j = int(rng.choice(pool))
        chosen.append(j)
        cnt[_row(cov, j)] += 1
    return chosen, cnt


def mclp_heuristic(problem: SitingProblem, p: int, *, improve: bool = True, restarts: int = 150,
                   patience: int = 50, time_limit_s: float = 2.0, seed: int = 0) -> list[int]:
    """Candidate indices of ``p`` new sites maximising newly covered weight.

    Lazy greedy, then 1-opt swaps; then up to ``restarts`` rounds of iterated local
    search: drop a random 1 to p/2 of the best sites, refill with a randomised greedy
    (any candidate within 85 % of the best gain), swap again, and keep the result when it
    covers more. Stops after ``patience`` rounds without improvement or ``time_limit_s``.
    Deterministic for a given ``seed`` (unless the time limit cuts it short).
    """
    cov, w = problem.coverage, problem.weights
    chosen, cnt = _greedy(cov, w, p=p)
    if not improve or not chosen:
        return _order_by_gain(problem, chosen)
    t0 = time.perf_counter()
    csc = cov.tocsc()
    covf = cov.astype(np.float64)
    chosen, cnt = _swap_improve(cov, csc, w, chosen, cnt, time_limit_s=time_limit_s)
    best, best_obj = list(chosen), float(w[cnt > 0].sum())
    eps = 1e-9 * max(1.0, float(w.sum()))
    rng = np.random.default_rng(seed)
    stale = 0
    for _ in range(restarts):
        left = time_limit_s - (time.perf_counter() - t0)
        if len(best) < 2 or left <= 0 or stale >= patience:
            break
        k = int(rng.integers(1, max(1, len(best) // 2) + 1))
        drop = set(rng.choice(len(best), size=k, replace=False).tolist())
        keep = [j for i, j in enumerate(best) if i not in drop]
        trial, tcnt = _refill(covf, cov, w, keep, len(best), rng, 0.85)
        trial, tcnt = _swap_improve(cov, csc, w, trial, tcnt, time_limit_s=left)
        obj = float(w[tcnt > 0].sum())
        if obj > best_obj + eps:
            best, best_obj = list(trial), obj
            stale = 0
        else:
            stale += 1
    return _order_by_gain(problem, best)


def _order_by_gain(problem: SitingProblem, chosen: list[int]) -> list[int]:
    """Rank chosen sites greedily (largest marginal gain first), for the curve and the table."""
    out, left = [], list(chosen)
    remaining = problem.weights.astype(np.float64).copy()
    while left:
        gains = [remaining[_row(problem.coverage, j)].sum() for j in left]
        k = int(np.argmax(gains))
        j = left.pop(k)
        remaining[_row(problem.coverage, j)] = 0
        out.append(j)
    return out


def lscp_heuristic(problem: SitingProblem, need: float, *, improve: bool = True) -> list[int]:
    """Few candidate indices whose new coverage reaches ``need`` (in demand units).

    Greedy until ``need``, redundant sites dropped (latest first), then ``p - 1, p - 2...``
    tried with :func:`mclp_heuristic` while it still reaches ``need``. Returns every
    useful site when ``need`` cannot be reached.
    """
    cov, w = problem.coverage, problem.weights
    eps = 1e-9 * max(1.0, float(w.sum()))
    chosen, cnt = _greedy(cov, w, need=need)
    # Drop redundant sites, latest (smallest gain) first.
    covered = float(w[cnt > 0].sum())
    for j in list(reversed(chosen)):
        idx = _row(cov, j)
        loss = float(w[idx[cnt[idx] == 1]].sum())
        if covered - loss >= need - eps:
            chosen.remove(j)
            cnt[idx] -= 1
            covered -= loss
    if improve and covered >= need - eps:
        p = len(chosen) - 1
        while p >= 1:
            trial = mclp_heuristic(problem, p, patience=20, time_limit_s=0.5)
            if problem.covered_weight(trial) >= need - eps:
                chosen = trial
                p -= 1
            else:
                break
    return _order_by_gain(problem, chosen)
