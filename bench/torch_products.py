"""PyTorch side of `npm run bench torch` (bench/torch.bench.ts): the same products specpipe times, on the
same weights and images, timed the way a PyTorch user would compute them.

    /usr/bin/python3 bench/torch_products.py DIR

DIR holds what torch.bench.ts wrote: config.json, model.safetensors (specpipe's saveCheckpoint: PyTorch
state_dict layout and names), images.f32 (N x C x H x W, little-endian float32) and labels.i32. Prints
one JSON object on stdout: seconds per full-data gradient, Hess.v (double backward), G.v (J^T H_out J v
with J v by the double-vjp trick) and SLQ job (start vectors one after another, Lanczos with full
reorthogonalisation in float64), plus layout-independent checks (loss, |g|, g^T Hess g / |g|^2,
g^T G g / |g|^2) that show both sides computed the same quantities. Exit code 3 when torch is missing.

Curvature of the mean loss over all N samples, in batches of `batch` (math.md section 1):
    Hess = (1/N) sum_i d^2 l_i / d theta^2,   G = (1/N) sum_i J_i^T H_i J_i,  H_i = diag(p_i) - p_i p_i^T.
"""

import json
import struct
import sys
import time

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # noqa: BLE001 - any missing piece means "no PyTorch here"
    print(f"torch_products.py: cannot import torch/numpy ({e})", file=sys.stderr)
    sys.exit(3)


def read_safetensors(path):
    """state_dict from a safetensors file: 8-byte little-endian header length, JSON header, raw little-endian data."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    base = 8 + n
    dtypes = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        lo, hi = info["data_offsets"]
        arr = np.frombuffer(raw[base + lo : base + hi], dtype=np.dtype(dtypes[info["dtype"]]).newbyteorder("<"))
        out[name] = torch.from_numpy(arr.copy()).reshape(info["shape"])
    return out


def build(spec):
    """The PyTorch module documented with each model in src/nn/models/*.ts."""
    if spec["kind"] == "mlp":
        act = {"tanh": nn.Tanh, "relu": nn.ReLU}[spec["activation"]]
        sizes = [int(np.prod(spec["input"]))] + list(spec["hidden"]) + [spec["classes"]]
        layers = [nn.Flatten()]
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i + 2 < len(sizes):
                layers.append(act())
        return nn.Sequential(*layers)
    if spec["kind"] == "lenet":
        cin, h, w = spec["input"]
        c1, c2 = spec["channels"]
        k = spec["kernel"]
        p = k // 2

        def after(s):
            return (s + 2 * p - k + 1 - 2) // 2 + 1

        return nn.Sequential(
            nn.Conv2d(cin, c1, k, padding=p),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, k, padding=p),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(c2 * after(after(h)) * after(after(w)), spec["hidden"]),
            nn.ReLU(),
            nn.Linear(spec["hidden"], spec["classes"]),
        )
    raise SystemExit(f"torch_products.py: model kind {spec['kind']!r} is not supported by this bench")


def main(directory):
    cfg = json.load(open(f"{directory}/config.json"))
    torch.set_num_threads(cfg["threads"])
    model = build(cfg["spec"])
    model.load_state_dict(read_safetensors(f"{directory}/model.safetensors"), strict=True)
    model.eval()
    params = [p for p in model.parameters()]
    n, shape, batch = cfg["samples"], cfg["shape"], cfg["batch"]
    images = torch.from_numpy(np.fromfile(f"{directory}/images.f32", dtype="<f4").reshape([n] + shape).copy())
    labels = torch.from_numpy(np.fromfile(f"{directory}/labels.i32", dtype="<i4").astype(np.int64))
    batches = [(images[i : i + batch], labels[i : i + batch]) for i in range(0, n, batch)]

    def zeros():
        return [torch.zeros_like(p) for p in params]

    def add(acc, xs):
        for a, x in zip(acc, xs):
            a.add_(x)

    def gradient():
        acc, loss_sum = zeros(), 0.0
        for x, y in batches:
            loss = F.cross_entropy(model(x), y, reduction="sum") / n
            add(acc, torch.autograd.grad(loss, params))
            loss_sum += loss.item()
        return acc, loss_sum

    def hvp(v):
        acc = zeros()
        for x, y in batches:
            loss = F.cross_entropy(model(x), y, reduction="sum") / n
            g = torch.autograd.grad(loss, params, create_graph=True)
            add(acc, torch.autograd.grad(g, params, grad_outputs=v))
        return acc

    def gvp(v):
        acc = zeros()
        for x, _ in batches:
            out = model(x)
            u = torch.zeros_like(out, requires_grad=True)
            jtu = torch.autograd.grad(out, params, grad_outputs=u, create_graph=True)
            jv = torch.autograd.grad(jtu, u, grad_outputs=v)[0]  # J v, by the double-vjp trick
            p = torch.softmax(out.detach(), dim=1)
            hjv = p * jv - p * (p * jv).sum(dim=1, keepdim=True)  # H_out J v for cross-entropy
            add(acc, torch.autograd.grad(out, params, grad_outputs=hjv / n))
        return acc

    def flat(xs):
        return torch.cat([x.reshape(-1) for x in xs]).double()

    def unflat(v):
        out, o = [], 0
        for p in params:
            out.append(v[o : o + p.numel()].reshape(p.shape).float())
            o += p.numel()
        return out

    def best(f, repeats):
        f()  # warm-up
        t = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            f()
            t = min(t, time.perf_counter() - t0)
        return t

    g, loss = gradient()
    gn = flat(g).norm().item()
    u = [x / gn for x in g]
    checks = {
        "loss": loss,
        "gradNorm": gn,
        "gHg": torch.dot(flat(u), flat(hvp(u))).item(),
        "gGg": torch.dot(flat(u), flat(gvp(u))).item(),
    }
    reps = cfg["repeats"]
    seconds = {
        "gradient": best(gradient, reps),
        "hessian": best(lambda: hvp(u), reps),
        "ggn": best(lambda: gvp(u), reps),
    }

    def slq():
        """Start vectors one after another: m Lanczos steps each, full reorthogonalisation in float64."""
        gen = torch.Generator().manual_seed(0)
        size = sum(p.numel() for p in params)
        m = cfg["slqSteps"]
        nodes = []
        for _ in range(cfg["slqVectors"]):
            q = torch.randint(0, 2, (size,), generator=gen).double() * 2 - 1
            q /= q.norm()
            Q = torch.zeros((m, size), dtype=torch.float64)
            Q[0] = q
            alpha, beta = [], []
            for j in range(m):
                w = flat(hvp(unflat(Q[j])))
                alpha.append(torch.dot(w, Q[j]).item())
                for _pass in range(2):  # classical Gram-Schmidt against all of Q, twice
                    w -= Q[: j + 1].T @ (Q[: j + 1] @ w)
                b = w.norm().item()
                if j + 1 < m:
                    beta.append(b)
                    Q[j + 1] = w / b
            T = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
            nodes.append(np.linalg.eigvalsh(T))
        return nodes

    t0 = time.perf_counter()
    nodes = slq()
    seconds["slq"] = time.perf_counter() - t0
    checks["slqTop"] = float(max(x.max() for x in nodes))
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "seconds": seconds, "checks": checks}))


if __name__ == "__main__":
    main(sys.argv[1])
