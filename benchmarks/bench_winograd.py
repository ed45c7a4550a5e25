"""An idea measured for issue 19, not shipped: Winograd convolution for I3D's 3x3x3 layers.

On a CPU without native bf16 the network's fp32 convolutions already run near the matmul peak,
so the only way left to a faster extraction is fewer multiplications. Winograd's minimal
filtering F(m, 3) computes m outputs of a 3-tap filter with m + 2 multiplications instead of
3m; nested over T, H and W, F(4x4x4, 3x3x3) needs 216 per 64 outputs instead of 1,728 (8x
fewer). Written here in torch operations only (no kernel of our own), in cache-sized chunks
(one clip, one T-tile at a time), and timed against torch's own convolution (oneDNN):

    flock /work/heavy.lock python benchmarks/bench_winograd.py --threads 2

Printed: for each 3x3x3 shape of I3D (batch of 8 clips of 16 x 224 x 224), oneDNN's time, the
Winograd time, the ratio and the largest difference relative to the output's largest value;
then the whole network (BatchNorm folded, channels-last 3-D, batch of 8) with the layers that
were faster alone swapped in, against the network as `haan extract` runs it, same run, and the
features' agreement. The transform matrices come from the interpolation points (Lavin and
Gray, 2016), and their identity is checked in exact fractions before anything runs.
"""

from __future__ import annotations

import argparse
import copy
import math
import platform
import time
from fractions import Fraction

import torch
import torch.nn.functional as F
from torch import nn

from haan.video.i3d import ConvUnit, fold_batch_norm, random_i3d

POINTS = {2: (0, 1, -1), 4: (0, 1, -1, 2, -2)}  # finite interpolation points of F(m, 3)


def winograd_matrices(m: int, r: int = 3) -> tuple[list, list, list]:
    """AT (m, n), G (n, r), BT (n, n), n = m + r - 1, such that for a signal d (n) and a filter
    g (r): y = AT @ ((G @ g) * (BT @ d)) is the valid correlation y[i] = sum_k g[k] d[i + k].
    AT and G follow from the points (plus the point at infinity); BT is the unique solution of
    that identity, found by elimination in exact fractions."""
    n = m + r - 1
    p = [Fraction(x) for x in POINTS[m]]
    at = [[p[j] ** i for j in range(n - 1)] + [Fraction(int(i == m - 1))] for i in range(m)]
    f = [math.prod(p[j] - p[l] for l in range(n - 1) if l != j) for j in range(n - 1)]
    g = [[p[j] ** k / f[j] for k in range(r)] for j in range(n - 1)]
    g.append([Fraction(0)] * (r - 1) + [Fraction(1)])
    # Row j of BT appears only with the product column AT[:, j] * G[j, :]: solve, for each input
    # tap l, sum_j (AT[i, j] G[j, k]) BT[j, l] = [l == i + k] over all (i, k).
    rows = [[at[i][j] * g[j][k] for j in range(n)] for i in range(m) for k in range(r)]
    bt_columns = []
    for tap in range(n):
        rhs = [Fraction(int(tap == i + k)) for i in range(m) for k in range(r)]
        bt_columns.append(_solve(rows, rhs, n))
    bt = [[bt_columns[tap][j] for tap in range(n)] for j in range(n)]
    for i in range(m):  # the identity, exactly
        for k in range(r):
            for tap in range(n):
                assert sum(at[i][j] * g[j][k] * bt[j][tap] for j in range(n)) == int(tap == i + k)
    return at, g, bt


def _solve(rows: list, rhs: list, unknowns: int) -> list:
    """The solution of a consistent, full-column-rank system, in exact fractions."""
    augmented = [row[:] + [b] for row, b in zip(rows, rhs)]
    pivot_rows = []
    for col in range(unknowns):
        pivot = next(i for i, row in enumerate(augmented) if row[col] != 0 and i not in pivot_rows)
        pivot_rows.append(pivot)
        for i, row in enumerate(augmented):
            if i != pivot and row[col] != 0:
                factor = row[col] / augmented[pivot][col]
                augmented[i] = [a - factor * b for a, b in zip(row, augmented[pivot])]
    return [augmented[pivot_rows[col]][-1] / augmented[pivot_rows[col]][col]
            for col in range(unknowns)]


class WinogradConv(nn.Module):
    """A folded ConvUnit with a 3x3x3 kernel, stride 1, 'SAME' padding and ReLU, computed as
    F(m x m x m, 3x3x3). Input and output (B, C, T, H, W) in the channels-last 3-D layout."""

    def __init__(self, unit: ConvUnit, m: int = 4):
        super().__init__()
        at, g, bt = winograd_matrices(m)
        self.m, self.a = m, m + 2
        self.bt = torch.tensor([[float(v) for v in row] for row in bt])          # (a, a)
        self.at = torch.tensor([[float(v) for v in row] for row in at])          # (m, a)
        gd = torch.tensor([[float(v) for v in row] for row in g], dtype=torch.float64)
        weight = unit.conv3d.weight.detach().double()                            # (Co, Ci, 3, 3, 3)
        # Filters in the transformed domain: (aW, aH, aT, Ci, Co), the order the input gets.
        transformed = torch.einsum("oitxy,at,bx,cy->cbaio", weight, gd, gd, gd)
        self.filters = transformed.float().reshape(self.a ** 3, *weight.shape[1::-1]).contiguous()
        self.bias = unit.conv3d.bias.detach().clone()

    def _windows(self, x: torch.Tensor, axis: int, count: int) -> torch.Tensor:
        """x's windows of a along `axis`, moved by m: (a, ..., count, ...) with the window
        position first, then BT applied over that first axis."""
        shape = list(x.shape)
        shape[axis] = count
        gathered = x.new_empty([self.a] + shape)
        index = [slice(None)] * axis
        for k in range(self.a):
            gathered[k] = x.narrow(axis, k, (count - 1) * self.m + 1)[(*index, slice(None, None, self.m))]
        return (self.bt @ gathered.view(self.a, -1)).view(gathered.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 4, 1)                                            # (B, T, H, W, Ci)
        batch, *sizes, _ = x.shape
        m, a = self.m, self.a
        tiles = [math.ceil(s / m) for s in sizes]
        pads = [(1, t * m + 1 - s) for t, s in zip(tiles, sizes)]
        x = F.pad(x, (0, 0, *pads[2], *pads[1], *pads[0]))
        out_channels = self.filters.shape[-1]
        out = x.new_empty(batch, tiles[0], m, tiles[1], m, tiles[2], m, out_channels)
        for b in range(batch):
            for t in range(tiles[0]):
                slab = x[b:b + 1, t * m:t * m + a]                              # (1, a, Hp, Wp, Ci)
                u = self._windows(slab, 1, 1)
                u = self._windows(u, 3, tiles[1])
                u = self._windows(u, 5, tiles[2])                    # (aW, aH, aT, 1, 1, nH, nW, Ci)
                product = torch.bmm(u.view(a ** 3, -1, u.shape[-1]), self.filters)  # (P, N, Co)
                y = (self.at @ product.view(a, -1)).view(m, a, -1)              # (mW, aH, aT*N*Co)
                y = (self.at @ y).view(m * m, a, -1)                            # (mW*mH, aT, N*Co)
                y = (self.at @ y).view(m, m, m, tiles[1], tiles[2], out_channels)  # (mW, mH, mT, ...)
                torch.add(y.permute(2, 3, 1, 4, 0, 5), self.bias, out=out[b, t])
        out = out.view(batch, *(n * m for n in tiles), out_channels)
        out = out[:, :sizes[0], :sizes[1], :sizes[2]].relu_()
        return out.permute(0, 4, 1, 2, 3)


def best_seconds(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    print(f"CPU: {cpu}; {args.threads} threads; torch {torch.__version__}")
    for m in POINTS:
        winograd_matrices(m)
    print("transform matrices F(2,3), F(4,3): identity exact")

    base = fold_batch_norm(random_i3d(3, seed=0)).to(memory_format=torch.channels_last_3d)
    clips = torch.randn(8, 3, 16, 224, 224).contiguous(memory_format=torch.channels_last_3d)
    inputs = {}

    def record(name):
        def hook(module, args_, output):
            inputs[name] = args_[0]
        return hook

    handles = [unit.register_forward_hook(record(name)) for name, unit in base.named_modules()
               if isinstance(unit, ConvUnit) and unit.kernel == (3, 3, 3)]
    with torch.inference_mode():
        base.features(clips)
    for handle in handles:
        handle.remove()

    faster = []
    print(f"\n{'3x3x3 layer (B=8)':22s} {'Ci->Co':>9s} {'T x H x W':>10s} {'oneDNN':>8s} "
          f"{'Winograd':>9s} {'ratio':>6s} {'max rel':>8s}")
    with torch.inference_mode():
        for name, x in inputs.items():
            unit = base.get_submodule(name)
            wino = WinogradConv(unit)
            reference = unit(x)
            difference = (wino(x) - reference).abs().max() / reference.abs().max()
            direct_s = best_seconds(lambda: unit(x), args.repeats)
            wino_s = best_seconds(lambda: wino(x), args.repeats)
            if direct_s > wino_s:
                faster.append(name)
            conv = unit.conv3d
            print(f"{name:22s} {conv.in_channels:>4d}->{conv.out_channels:<4d} "
                  f"{'x'.join(map(str, x.shape[2:])):>10s} {direct_s * 1e3:6.0f}ms "
                  f"{wino_s * 1e3:7.0f}ms {direct_s / wino_s:5.2f}x {difference:8.1e}")

        swapped = copy.deepcopy(base)
        for name in faster:
            parent, _, child = name.rpartition(".")
            setattr(swapped.get_submodule(parent) if parent else swapped, child,
                    WinogradConv(base.get_submodule(name)))
        base_s = best_seconds(lambda: base.features(clips), args.repeats)
        swapped_s = best_seconds(lambda: swapped.features(clips), args.repeats)
        a, b = base.features(clips), swapped.features(clips)
    cosine = F.cosine_similarity(a, b, dim=1).min().item()
    print(f"\nwhole network, batch of 8, {len(faster)} layers swapped ({', '.join(faster)}):")
    print(f"  as haan extract runs it {base_s:.2f} s, with Winograd {swapped_s:.2f} s: "
          f"{base_s / swapped_s:.2f}x; features min cosine {cosine:.7f}, max rel "
          f"{((a - b).abs().max() / a.abs().max()).item():.1e}")


if __name__ == "__main__":
    main()
