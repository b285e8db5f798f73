"""PyTorch reference of qbheat's heat-propagation op (engine/ops/heat.h, QBHEAT.md section 2).

heat_propagate(v, a, b, mode, corner, norm) extends the visible block V [N, h, w, d] (channels
last) to the full grid Z [N, 2h, 2w, d] with plain differentiable torch ops; golden-file and
benchmark scripts import it. Run it (python3 tools/torch_ref/heat.py) for a self-check.
"""

import torch
import torch.nn.functional as F

MODES = ("cell", "block")
CORNERS = ("tl", "tr", "bl", "br")
LN_EPS = 1e-6


def _signs(corner):
    """(s, t): signs of the horizontal and vertical steps away from the block."""
    if corner not in CORNERS:
        raise ValueError(f"heat_propagate: unknown corner {corner!r} (expected one of {CORNERS})")
    s = -1.0 if corner in ("tr", "br") else 1.0
    t = -1.0 if corner in ("bl", "br") else 1.0
    return s, t


def _step(z, m, sign, norm):
    """One Euler step on features in the last axis: z + sign * F(z) m^T (column form (I + sM) z)."""
    f = F.layer_norm(z, (z.shape[-1],), eps=LN_EPS) if norm else z
    return z + sign * (f @ m.T)


def _march(border, m, sign, count, norm):
    """`count` successive steps from `border`; returns them nearest first."""
    out, cur = [], border
    for _ in range(count):
        cur = _step(cur, m, sign, norm)
        out.append(cur)
    return out


def heat_propagate(v, a, b, mode="cell", corner="tl", norm=False):
    """Z [N, 2h, 2w, d] from V [N, h, w, d] and A, B [d, d]; the visible part of Z equals V."""
    if v.dim() != 4 or a.shape != (v.shape[3], v.shape[3]) or b.shape != a.shape:
        raise ValueError(f"heat_propagate: v [N,h,w,d] and a, b [d,d] expected, got "
                         f"{tuple(v.shape)}, {tuple(a.shape)}, {tuple(b.shape)}")
    s, t = _signs(corner)
    if mode == "block":
        side = _step(v, a, s, norm)
        across = _step(v, b, t, norm)
        far = _step(side, b, t, norm)  # A first, then B
        near_row = torch.cat([v, side] if s > 0 else [side, v], dim=2)
        far_row = torch.cat([across, far] if s > 0 else [far, across], dim=2)
        return torch.cat([near_row, far_row] if t > 0 else [far_row, near_row], dim=1)
    if mode != "cell":
        raise ValueError(f"heat_propagate: unknown mode {mode!r} (expected one of {MODES})")
    h, w = v.shape[1], v.shape[2]
    # Horizontal pass in the visible rows, from the block's border column.
    cols = _march(v[:, :, w - 1] if s > 0 else v[:, :, 0], a, s, w, norm)
    if s > 0:
        rows = torch.cat([v, torch.stack(cols, dim=2)], dim=2)
    else:
        rows = torch.cat([torch.stack(cols[::-1], dim=2), v], dim=2)
    # Vertical pass over all 2w columns, from the border row.
    lines = _march(rows[:, h - 1] if t > 0 else rows[:, 0], b, t, h, norm)
    if t > 0:
        return torch.cat([rows, torch.stack(lines, dim=1)], dim=1)
    return torch.cat([torch.stack(lines[::-1], dim=1), rows], dim=1)


def _self_check():
    torch.manual_seed(0)
    dt = torch.float64
    n, h, w, d = 2, 2, 3, 3
    v = torch.randn(n, h, w, d, dtype=dt)
    a = 0.1 * torch.randn(d, d, dtype=dt)
    b = 0.1 * torch.randn(d, d, dtype=dt)
    eye = torch.eye(d, dtype=dt)
    zero = torch.zeros(d, d, dtype=dt)
    # Step signs written out per corner (not from _signs), so a sign slip there shows up.
    for corner, (s, t) in {"tl": (1, 1), "tr": (-1, 1), "bl": (1, -1), "br": (-1, -1)}.items():
        r0, c0 = (h if t < 0 else 0), (w if s < 0 else 0)
        for mode in MODES:
            for norm in (False, True):
                z = heat_propagate(v, zero, zero, mode, corner, norm)
                assert z.shape == (n, 2 * h, 2 * w, d)
                assert torch.equal(z[:, r0:r0 + h, c0:c0 + w], v), (mode, corner, norm)
                if mode == "block":  # every quarter is a copy of the block
                    assert torch.equal(z, v.repeat(1, 2, 2, 1)), (mode, corner)
        # Cell mode, norm off: Z[i, j] = (I + tB)^di (I + sA)^dj V[nearest visible cell].
        z = heat_propagate(v, a, b, "cell", corner)
        for i in range(2 * h):
            for j in range(2 * w):
                si = min(max(i, r0), r0 + h - 1)
                sj = min(max(j, c0), c0 + w - 1)
                pa = torch.linalg.matrix_power(eye + s * a, abs(j - sj))
                pb = torch.linalg.matrix_power(eye + t * b, abs(i - si))
                want = v[:, si - r0, sj - c0] @ (pb @ pa).T
                assert torch.allclose(z[:, i, j], want, atol=1e-12), (corner, i, j)
        # Block mode, far quarter: (I + tB)(I + sA) V, position by position.
        z = heat_propagate(v, a, b, "block", corner)
        far = z[:, h - r0:2 * h - r0, w - c0:2 * w - c0]
        assert torch.allclose(far, v @ ((eye + t * b) @ (eye + s * a)).T, atol=1e-12), corner
    # Gradients of V, A, B by finite differences, every mode x corner x norm.
    for mode in MODES:
        for corner in CORNERS:
            for norm in (False, True):
                inputs = [x.clone().requires_grad_() for x in (v, a, b)]
                assert torch.autograd.gradcheck(
                    lambda *xs: heat_propagate(*xs, mode=mode, corner=corner, norm=norm), inputs,
                    fast_mode=True)
    print("heat.py self-check: OK (copy, closed form, block far quarter, gradcheck)")


if __name__ == "__main__":
    _self_check()
