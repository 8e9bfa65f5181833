#!/usr/bin/env python3
"""PyTorch reference for GpuCnn's training-throughput benchmarks.

Trains the same models as `gpucnn bench` with the same batch sizes, optimiser (SGD, momentum 0.9, weight decay
5e-4) and precision, on one fixed batch of random data already on the device, so that both sides time the training
step and not a data loader. Prints one JSON object per run:
  {"model", "batch_size", "image_size", "device", "images_per_second", "ms_per_step", "peak_memory_bytes",
   "peak_reserved_bytes", "tf32"}
peak_memory_bytes is the caching allocator's peak of live tensors in the timed steps; peak_reserved_bytes is what the
allocator held from the driver, the closer match to GpuCnn's device_memory_bytes (driver-level, kernels included).

  python3 perf/reference/pytorch_train.py --model lenet5 --batch-size 64 --steps 200
  python3 perf/reference/pytorch_train.py --model alexnet --batch-size 128 --steps 30 [--tf32]
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn


def lenet5(classes=10):
    # The same topology as GpuCnn's LeNet5.Build: 61,706 parameters.
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, classes))


def alexnet(classes=1000):
    # torchvision's AlexNet (61,100,840 parameters), written out so the script needs no torchvision.
    return nn.Sequential(
        nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.AdaptiveAvgPool2d((6, 6)), nn.Flatten(),
        nn.Dropout(0.5), nn.Linear(256 * 36, 4096), nn.ReLU(),
        nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, classes))


MODELS = {"lenet5": (lenet5, 1, 28, 10), "alexnet": (alexnet, 3, 224, 1000)}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=MODELS, required=True)
    p.add_argument("--batch-size", type=int, required=True)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--image-size", type=int)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--tf32", action="store_true", help="allow TF32 in cuDNN and matmul (off by default: strict fp32)")
    a = p.parse_args()

    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.allow_tf32 = a.tf32
    torch.backends.cudnn.benchmark = True
    build, channels, size, classes = MODELS[a.model]
    size = a.image_size or size
    dev = torch.device(a.device)
    torch.manual_seed(1)
    model = build(classes).to(dev).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(a.batch_size, channels, size, size, device=dev)
    y = torch.randint(0, classes, (a.batch_size,), device=dev)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(a.warmup):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    print(json.dumps({
        "side": "pytorch", "model": a.model, "batch_size": a.batch_size, "image_size": size,
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "images_per_second": a.batch_size * a.steps / secs, "ms_per_step": secs / a.steps * 1000,
        "peak_memory_bytes": torch.cuda.max_memory_allocated(dev) if dev.type == "cuda" else None,
        "peak_reserved_bytes": torch.cuda.max_memory_reserved(dev) if dev.type == "cuda" else None,
        "tf32": a.tf32, "torch": torch.__version__,
    }))


if __name__ == "__main__":
    sys.exit(main())
