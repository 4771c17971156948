"""Gradient-boosted trees grown from secure sums of gradient and hessian histograms.

The federation grows each tree level by level (XGBoost's second-order method, Chen &
Guestrin 2016, with the histogram split finding of LightGBM and scikit-learn's
HistGradientBoosting):

1. Bin edges per model input are quantiles of the federation's DDSketch
   (:mod:`federated.sketch`), read once at the start of the run.
2. For the nodes of one level, every member bins its rows, routes them through the
   tree so far and sums its logistic-loss gradients ``g = p − y`` and hessians
   ``h = p(1 − p)`` per (node, input, bin) (:func:`level_histograms`). The bureau
   receives only the SecAgg+ sum over members of those histograms.
3. From the sums the bureau picks each node's best split (gain
   ``G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)``, each side's hessian at least
   ``min_child_weight``) or makes it a leaf of value ``−η·G/(H+λ)`` (:func:`grow_level`).

A tree of depth ``d`` costs ``d`` aggregations; the last level's sums give the leaf
values. Trees are kept in heap order (node ``i`` has children ``2i+1``, ``2i+2``) as
three float arrays (input, threshold, leaf value), so the whole ensemble is one flat
vector that travels, is hashed and is signed like the other models' weights.

No maintained library grows trees from histograms computed elsewhere (XGBoost,
LightGBM and scikit-learn build their histograms from the rows themselves), so the
split search (a cumulative sum and an argmax per node) is here; quantile sketches are
``ddsketch``'s, and the centralised baseline is scikit-learn's HistGradientBoosting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "LEAF",
    "Ensemble",
    "TreeParams",
    "bin_inputs",
    "empty_tree",
    "grow_level",
    "level_histograms",
    "train_centrally",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
LEAF = -1.0
_UNSET = -2.0  # A node the tree never reached (below a leaf).


@dataclass(frozen=True)
class TreeParams:
    """Growth parameters, identical at the bureau and every member."""

    depth: int = 4
    learning_rate: float = 0.3
    l2: float = 1.0
    min_child_weight: float = 5.0
    bins: int = 64

    @property
    def nodes(self) -> int:
        """Heap slots of one tree of this depth."""
        return int(2 ** (self.depth + 1) - 1)


def empty_tree(params: TreeParams) -> FloatArray:
    """A tree with no split yet: ``[input (nodes), threshold (nodes), value (nodes)]``, root open."""
    tree = np.zeros((3, params.nodes))
    tree[0, :] = _UNSET
    tree[0, 0] = LEAF
    return tree


@dataclass(frozen=True)
class Ensemble:
    """The base log-odds and the trees so far (shape ``trees × 3 × nodes``)."""

    base: float
    trees: FloatArray

    def to_vector(self) -> FloatArray:
        """Flatten to ``[base, tree_1 …]`` (the registry's weights)."""
        return np.concatenate([[self.base], self.trees.reshape(-1)])

    @classmethod
    def from_vector(cls, vector: FloatArray, params: TreeParams) -> Ensemble:
        """Parse :meth:`to_vector`'s layout.

        Raises
        ------
        ValueError
            When the length does not fit whole trees of ``params.depth``.

        """
        body = np.asarray(vector[1:], dtype=np.float64)
        size = 3 * params.nodes
        if body.size % size:
            raise ValueError("ensemble vector length does not fit whole trees of this depth")
        return cls(float(vector[0]), body.reshape(-1, 3, params.nodes))

    def margins(self, inputs: npt.NDArray[np.floating]) -> FloatArray:
        """Return the log-odds of every row."""
        out = np.full(inputs.shape[0], self.base)
        for tree in self.trees:
            out += tree[2][route(tree, inputs)]
        return out

    def probabilities(self, inputs: npt.NDArray[np.floating]) -> FloatArray:
        """Return default probabilities."""
        return 1.0 / (1.0 + np.exp(-self.margins(inputs)))


def route(tree: FloatArray, inputs: npt.NDArray[np.floating], *, levels: int | None = None) -> IntArray:
    """Return each row's node after at most ``levels`` splits (all of them when ``None``)."""
    rows = np.arange(inputs.shape[0])
    node = np.zeros(inputs.shape[0], dtype=np.int64)
    depth = int(math.log2(tree.shape[1] + 1)) - 1
    for _ in range(depth if levels is None else levels):
        feature = tree[0][node]
        split = feature >= 0
        if not split.any():
            break
        column = np.where(split, feature, 0).astype(np.int64)
        right = inputs[rows, column] > tree[1][node]
        node = np.where(split, 2 * node + 1 + right, node)
    return node


def bin_inputs(inputs: npt.NDArray[np.floating], edges: list[FloatArray]) -> npt.NDArray[np.int64]:
    """Return each input's bin: ``b`` holds values in ``(edges[b-1], edges[b]]``."""
    out = np.empty(inputs.shape, dtype=np.int64)
    for column, column_edges in enumerate(edges):
        out[:, column] = np.searchsorted(column_edges, inputs[:, column], side="left")
    return out


def level_histograms(
    binned: npt.NDArray[np.int64],
    nodes: IntArray,
    gradients: FloatArray,
    hessians: FloatArray,
    *,
    level: int,
    bins: int,
) -> FloatArray:
    """Return ``[G, H]`` histograms (each ``2**level × inputs × bins``) of the rows at ``level``.

    ``nodes`` are the rows' heap positions; rows not at this level (in a shallower
    leaf) count nowhere.
    """
    first = 2**level - 1
    width = 2**level
    local = nodes - first
    active = (local >= 0) & (local < width)
    inputs = binned.shape[1]
    cells = width * inputs * bins
    flat = (local[active, None] * inputs + np.arange(inputs)[None, :]) * bins + binned[active]
    g = np.bincount(flat.ravel(), weights=np.repeat(gradients[active], inputs), minlength=cells)
    h = np.bincount(flat.ravel(), weights=np.repeat(hessians[active], inputs), minlength=cells)
    return np.concatenate([g, h])


def grow_level(
    tree: FloatArray, sums: FloatArray, edges: list[FloatArray], params: TreeParams, *, level: int
) -> FloatArray:
    """Choose every open node's split at ``level`` from summed histograms; return the new tree.

    At the last level the children become leaves with the values of their sides' sums.
    """
    tree = tree.copy()
    width, inputs, bins = 2**level, len(edges), params.bins
    half = width * inputs * bins
    g = sums[:half].reshape(width, inputs, bins)
    h = np.maximum(sums[half:], 0.0).reshape(width, inputs, bins)
    for local in range(width):
        node = 2**level - 1 + local
        if tree[0][node] != LEAF:
            continue  # Not reached: below a leaf.
        # Every input's histogram sums the same rows: their mean is the node total with the DP
        # noise of one histogram averaged over all inputs (exactly the total without noise).
        total_g, total_h = float(g[local].sum(axis=1).mean()), float(h[local].sum(axis=1).mean())
        best = _best_split(g[local], h[local], edges, params, total_g, total_h)
        if best is None:
            tree[2][node] = _leaf(total_g, total_h, params)
            continue
        column, bin_index, left_g, left_h = best
        tree[0][node], tree[1][node] = float(column), float(edges[column][bin_index])
        children = (2 * node + 1, 2 * node + 2)
        for child, (cg, ch) in zip(
            children, ((left_g, left_h), (total_g - left_g, total_h - left_h)), strict=True
        ):
            tree[0][child] = LEAF
            tree[2][child] = _leaf(cg, ch, params)
    return tree


def _leaf(g: float, h: float, params: TreeParams) -> float:
    return -params.learning_rate * g / (h + params.l2)


def _best_split(
    g: FloatArray, h: FloatArray, edges: list[FloatArray], params: TreeParams, total_g: float, total_h: float
) -> tuple[int, int, float, float] | None:
    parent = total_g**2 / (total_h + params.l2)
    best_gain, best = 1e-9, None
    for column, column_edges in enumerate(edges):
        splits = len(column_edges)
        if splits == 0:
            continue
        left_g = np.cumsum(g[column, :splits])
        left_h = np.cumsum(h[column, :splits])
        right_g, right_h = total_g - left_g, total_h - left_h
        gain = left_g**2 / (left_h + params.l2) + right_g**2 / (right_h + params.l2) - parent
        allowed = (left_h >= params.min_child_weight) & (right_h >= params.min_child_weight)
        if not allowed.any():
            continue
        gain = np.where(allowed, gain, -np.inf)
        index = int(np.argmax(gain))
        if gain[index] > best_gain:
            best_gain, best = float(gain[index]), (column, index, float(left_g[index]), float(left_h[index]))
    return best


def train_centrally(
    binned: npt.NDArray[np.int64],
    inputs: npt.NDArray[np.floating],
    labels: npt.NDArray[np.integer],
    edges: list[FloatArray],
    params: TreeParams,
    *,
    trees: int,
) -> Ensemble:
    """Grow ``trees`` trees on one table with exactly the federation's steps (the centralised baseline).

    The federation sums every member's :func:`level_histograms`; here one table's histograms
    are the sums, so the same :func:`grow_level` gives the same trees a single member holding
    all rows would get.
    """
    y = np.asarray(labels, dtype=np.float64)
    rate = min(max(float(y.mean()), 1e-6), 1 - 1e-6)
    ensemble = Ensemble(math.log(rate / (1 - rate)), np.zeros((0, 3, params.nodes)))
    margins = np.full(y.size, ensemble.base)
    for _ in range(trees):
        p = 1.0 / (1.0 + np.exp(-margins))
        tree = empty_tree(params)
        for level in range(params.depth):
            sums = level_histograms(
                binned, route(tree, inputs), p - y, p * (1.0 - p), level=level, bins=params.bins
            )
            tree = grow_level(tree, sums, edges, params, level=level)
        margins = margins + tree[2][route(tree, inputs)]
        ensemble = Ensemble(ensemble.base, np.concatenate([ensemble.trees, tree[None]]))
    return ensemble
