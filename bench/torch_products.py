"""PyTorch side of `npm run bench torch` (bench/torch.bench.ts): the same products specpipe times, on the
same weights and images, timed the way a PyTorch user would compute them.

    /usr/bin/python3 bench/torch_products.py DIR

DIR holds what torch.bench.ts wrote: config.json, model.safetensors (specpipe's saveCheckpoint: PyTorch
state_dict layout and names), images.f32 (N x C x H x W, little-endian float32) and labels.i32. Prints
one JSON object on stdout: wall and CPU seconds (time.process_time, all threads) per full-data gradient,
Hess.v (double backward) and G.v (J^T H_out J v with J v by the double-vjp trick), each also with every
batch's first backward graph kept from a first call (retain_graph), at each thread count of
config "threads" (torch.set_num_threads), best of them; and of an SLQ job (start vectors one after another,
Lanczos with full reorthogonalisation in float64) at the thread count of the best Hess.v; plus
layout-independent checks (loss, |g|, g^T Hess g / |g|^2, g^T G g / |g|^2) that show both sides computed
the same quantities. Exit code 3 when torch is missing. The model is in eval mode (BatchNorm with its
running statistics), as specpipe's curvature products are.

Curvature of the mean loss over all N samples, in batches of `batch` (math.md section 1):
    Hess = (1/N) sum_i d^2 l_i / d theta^2,   G = (1/N) sum_i J_i^T H_i J_i,  H_i = diag(p_i) - p_i p_i^T.
"""

import json
import math
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
    if spec["kind"] == "vgg11":
        return vgg11(spec)
    if spec["kind"] == "resnet18":
        return resnet18(spec)
    if spec["kind"] == "densenet40":
        return densenet40(spec)
    raise SystemExit(f"torch_products.py: model kind {spec['kind']!r} is not supported by this bench")


# The conv nets. BatchNorm: specpipe's curvature products run the network in eval mode (src/curvature/batchCurvature.ts,
# network.forward(..., 'eval')): y = (x - running_mean) / sqrt(running_var + eps) * weight + bias, the running statistics
# fixed buffers, no batch statistics and so no coupling between a batch's samples. main() calls model.eval(), which
# makes every nn.BatchNorm2d here compute exactly that (eps 1e-5, src/nn/layers/batchNorm.ts).


def scaled_width(channels, width):
    """max(1, round(c * width)) with JavaScript's Math.round (halves up), src/nn/models/vgg11.ts scaledWidth."""
    return max(1, math.floor(channels * width + 0.5))


def vgg11(spec):
    """src/nn/models/vgg11.ts: kuangliu/pytorch-cifar VGG('VGG11') with BatchNorm, channels x width; `features`
    indices advance by 3 per conv block (Conv2d, BatchNorm2d, ReLU) and 1 per MaxPool2d(2), then Flatten and `classifier`."""
    cin, h, w = spec["input"]
    layers, prev = [], cin
    for item in [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]:
        if item == "M":
            layers.append(nn.MaxPool2d(2))
            h, w = h // 2, w // 2
        else:
            c = scaled_width(item, spec["width"])
            layers += [nn.Conv2d(prev, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU()]
            prev = c

    class VGG(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(*layers)
            self.classifier = nn.Linear(prev * h * w, spec["classes"])

        def forward(self, x):
            return self.classifier(torch.flatten(self.features(x), 1))

    return VGG()


class BasicBlock(nn.Module):
    """src/nn/models/resnet18.ts: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), convolutions without bias,
    shortcut = Sequential(Conv2d 1x1 stride s, BatchNorm2d) when the stride or channel count changes, else identity."""

    def __init__(self, cin, c, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, c, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != c:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, c, 1, stride=stride, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


def resnet18(spec):
    """src/nn/models/resnet18.ts: kuangliu/pytorch-cifar ResNet18() x width (3x3 stem, no max-pool, four stages of two
    BasicBlocks, strides 1, 2, 2, 2), global average pool (kuangliu's avg_pool2d(4) for 32x32), `linear`."""
    cin = spec["input"][0]
    stem = scaled_width(64, spec["width"])

    class ResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, stem, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(stem)
            prev = stem
            for stage, base in enumerate([64, 128, 256, 512]):
                c = scaled_width(base, spec["width"])
                blocks = []
                for b in range(2):
                    blocks.append(BasicBlock(prev, c, 2 if b == 0 and stage > 0 else 1))
                    prev = c
                setattr(self, f"layer{stage + 1}", nn.Sequential(*blocks))
            self.linear = nn.Linear(prev, spec["classes"])

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
            return self.linear(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))

    return ResNet()


class DenseLayer(nn.Module):
    """x <- cat(x, conv3x3(relu(bn(x)))) adding `growth` channels (src/nn/models/densenet40.ts)."""

    def __init__(self, cin, growth):
        super().__init__()
        self.bn = nn.BatchNorm2d(cin)
        self.conv = nn.Conv2d(cin, growth, 3, padding=1, bias=False)

    def forward(self, x):
        return torch.cat([x, self.conv(F.relu(self.bn(x)))], 1)


class Transition(nn.Module):
    """BN -> ReLU -> Conv1x1 (same channels) -> AvgPool2d(2) (src/nn/models/densenet40.ts)."""

    def __init__(self, c):
        super().__init__()
        self.bn = nn.BatchNorm2d(c)
        self.conv = nn.Conv2d(c, c, 1, bias=False)

    def forward(self, x):
        return F.avg_pool2d(self.conv(F.relu(self.bn(x))), 2)


def densenet40(spec):
    """src/nn/models/densenet40.ts: DenseNet (L = 40) without bottleneck or compression, growth k: stem Conv2d to
    round(16k/12) channels, dense1..3 of 12 DenseLayers, trans1..2 between them, then BN -> ReLU -> global average
    pool -> `linear`."""
    cin, k = spec["input"][0], spec["growth"]
    c = max(1, math.floor(16 * k / 12 + 0.5))

    class DenseNet(nn.Module):
        def __init__(self):
            super().__init__()
            nonlocal c
            self.conv1 = nn.Conv2d(cin, c, 3, padding=1, bias=False)
            for b in (1, 2, 3):
                layers = []
                for _ in range(12):
                    layers.append(DenseLayer(c, k))
                    c += k
                setattr(self, f"dense{b}", nn.Sequential(*layers))
                if b < 3:
                    setattr(self, f"trans{b}", Transition(c))
            self.bn = nn.BatchNorm2d(c)
            self.linear = nn.Linear(c, spec["classes"])

        def forward(self, x):
            out = self.trans1(self.dense1(self.conv1(x)))
            out = self.trans2(self.dense2(out))
            out = F.relu(self.bn(self.dense3(out)))
            return self.linear(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))

    return DenseNet()


def main(directory):
    cfg = json.load(open(f"{directory}/config.json"))
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

    kept = {}

    def hvp_kept(v):
        """Hess.v with each batch's first backward kept: create_graph once per batch (the first call), then one
        retain_graph backward per product, as specpipe's kept recordings (src/curvature/recordingCache.ts)."""
        if "hessian" not in kept:
            kept["hessian"] = [
                torch.autograd.grad(F.cross_entropy(model(x), y, reduction="sum") / n, params, create_graph=True)
                for x, y in batches
            ]
        acc = zeros()
        for g in kept["hessian"]:
            add(acc, torch.autograd.grad(g, params, grad_outputs=v, retain_graph=True))
        return acc

    def gvp_kept(v):
        """G.v with each batch's forward pass and J^T u graph kept (the first call), as specpipe's kept recordings."""
        if "ggn" not in kept:
            kept["ggn"] = []
            for x, _ in batches:
                out = model(x)
                u = torch.zeros_like(out, requires_grad=True)
                jtu = torch.autograd.grad(out, params, grad_outputs=u, create_graph=True)
                kept["ggn"].append((out, u, jtu, torch.softmax(out.detach(), dim=1)))
        acc = zeros()
        for out, u, jtu, p in kept["ggn"]:
            jv = torch.autograd.grad(jtu, u, grad_outputs=v, retain_graph=True)[0]
            hjv = p * jv - p * (p * jv).sum(dim=1, keepdim=True)
            add(acc, torch.autograd.grad(out, params, grad_outputs=hjv / n, retain_graph=True))
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
        """Best wall and best CPU seconds (the process, all threads) of `repeats` runs after a warm-up."""
        f()  # warm-up
        wall, cpu = float("inf"), float("inf")
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            f()
            wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
        return wall, cpu

    g, loss = gradient()
    gn = flat(g).norm().item()
    u = [x / gn for x in g]
    checks = {
        "loss": loss,
        "gradNorm": gn,
        "gHg": torch.dot(flat(u), flat(hvp(u))).item(),
        "gGg": torch.dot(flat(u), flat(gvp(u))).item(),
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

    reps = cfg["repeats"]
    by_threads, cpu_by_threads = {}, {}
    for threads in cfg["threads"]:  # the single products at each thread setting; the best is PyTorch's time
        torch.set_num_threads(threads)
        t = str(torch.get_num_threads())
        times = {
            "gradient": best(gradient, reps),
            "hessian": best(lambda: hvp(u), reps),
            "ggn": best(lambda: gvp(u), reps),
            "hessianKept": best(lambda: hvp_kept(u), reps),
            "ggnKept": best(lambda: gvp_kept(u), reps),
        }
        by_threads[t] = {j: wall for j, (wall, _) in times.items()}
        cpu_by_threads[t] = {j: cpu for j, (_, cpu) in times.items()}
    # SLQ is Hess.v products plus float64 vector work: once, at the thread count that gave the best Hess.v
    # (a second full SLQ at a losing setting would only double the bench's time).
    slq_threads = min(by_threads, key=lambda t: by_threads[t]["hessian"])
    torch.set_num_threads(int(slq_threads))
    t0, c0 = time.perf_counter(), time.process_time()
    nodes = slq()
    by_threads[slq_threads]["slq"] = time.perf_counter() - t0
    cpu_by_threads[slq_threads]["slq"] = time.process_time() - c0
    checks["slqTop"] = float(max(x.max() for x in nodes))
    jobs = ["gradient", "hessian", "ggn", "hessianKept", "ggnKept", "slq"]

    def least(table):
        return {j: min(s.get(j, float("inf")) for s in table.values()) for j in jobs}

    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "seconds": least(by_threads),
                "cpuSeconds": least(cpu_by_threads),
                "threads": {j: int(min(by_threads, key=lambda t: by_threads[t].get(j, float("inf")))) for j in jobs},
                "secondsByThreads": by_threads,
                "cpuSecondsByThreads": cpu_by_threads,
                "checks": checks,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
