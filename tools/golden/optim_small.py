# Writes tests/golden/optim_adamw_sgd.safetensors: PyTorch's AdamW and SGD (Nesterov) and MAE's
# LARS (util/lars.py, written out below) run 3 steps on a weight w [3, 4] and a bias b [4] with
# fixed gradients; tests/test_optim.cpp replays the same steps and compares every parameter.
# Groups follow MAE's rule: b without weight decay, w with. At step 1 b has no gradient (skipped;
# AdamW's per-parameter step count then lags). Run: python3 tools/golden/optim_small.py
import torch
from safetensors.torch import save_file

torch.manual_seed(0)
init = {"w": torch.randn(3, 4, dtype=torch.float64), "b": torch.randn(4, dtype=torch.float64)}
grads = [{"w": torch.randn(3, 4, dtype=torch.float64), "b": torch.randn(4, dtype=torch.float64)}
         for _ in range(3)]
del grads[1]["b"]
H = dict(adamw_lr=0.01, adamw_beta1=0.9, adamw_beta2=0.95, adamw_eps=1e-8, adamw_wd=0.05,
         sgd_lr=0.1, sgd_momentum=0.9, sgd_wd=1e-3, lars_lr=0.5, lars_wd=0.05, lars_momentum=0.9,
         lars_trust=0.001)


class LARS(torch.optim.Optimizer):  # MAE's util/lars.py
    def __init__(self, params, lr=0, weight_decay=0, momentum=0.9, trust_coefficient=0.001):
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum,
                                      trust_coefficient=trust_coefficient))

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            for p in g["params"]:
                dp = p.grad
                if dp is None:
                    continue
                if p.ndim > 1:
                    dp = dp.add(p, alpha=g["weight_decay"])
                    param_norm, update_norm = torch.norm(p), torch.norm(dp)
                    one = torch.ones_like(param_norm)
                    q = torch.where(param_norm > 0., torch.where(
                        update_norm > 0, (g["trust_coefficient"] * param_norm / update_norm), one), one)
                    dp = dp.mul(q)
                state = self.state[p]
                if "mu" not in state:
                    state["mu"] = torch.zeros_like(p)
                mu = state["mu"]
                mu.mul_(g["momentum"]).add_(dp)
                p.add_(mu, alpha=-g["lr"])


def run(tag, make, dtype):
    params = {k: v.to(dtype).clone().requires_grad_() for k, v in init.items()}
    opt = make(params)
    out = {}
    for t, g in enumerate(grads):
        for k, p in params.items():
            p.grad = g[k].to(dtype).clone() if k in g else None
        opt.step()
        for k, p in params.items():
            out[f"{tag}.{t}.{k}"] = p.detach().clone()
    return out


def groups(params, wd):
    return [{"params": [params["b"]], "weight_decay": 0.0},
            {"params": [params["w"]], "weight_decay": wd}]


adamw = lambda ps: torch.optim.AdamW(groups(ps, H["adamw_wd"]), lr=H["adamw_lr"],
                                     betas=(H["adamw_beta1"], H["adamw_beta2"]), eps=H["adamw_eps"])
sgd = lambda ps: torch.optim.SGD(groups(ps, H["sgd_wd"]), lr=H["sgd_lr"],
                                 momentum=H["sgd_momentum"], nesterov=True)
lars = lambda ps: LARS([ps["w"], ps["b"]], lr=H["lars_lr"], weight_decay=H["lars_wd"],
                       momentum=H["lars_momentum"], trust_coefficient=H["lars_trust"])

tensors = {f"init.{k}": v for k, v in init.items()}
for t, g in enumerate(grads):
    tensors.update({f"grad.{t}.{k}": v for k, v in g.items()})
tensors.update(run("adamw", adamw, torch.float64))
tensors.update(run("adamw_f32", adamw, torch.float32))
tensors.update(run("sgd", sgd, torch.float64))
tensors.update(run("lars", lars, torch.float64))
save_file(tensors, "tests/golden/optim_adamw_sgd.safetensors",
          metadata={k: repr(v) for k, v in H.items()})
