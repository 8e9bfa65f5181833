#!/usr/bin/env python3
"""Square SGEMM with torch.matmul (cuBLAS through PyTorch), the reference row for GpuCnn.Perf sgemm.
Prints one JSON object: {"size", "ms", "gflops", "tf32", "device"}.
  python3 perf/reference/pytorch_sgemm.py --size 4096 [--tf32]"""
import argparse, json, time
import torch

p = argparse.ArgumentParser()
p.add_argument("--size", type=int, default=4096)
p.add_argument("--reps", type=int, default=20)
p.add_argument("--tf32", action="store_true")
p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
a = p.parse_args()
torch.backends.cuda.matmul.allow_tf32 = a.tf32
g = torch.Generator(device="cpu").manual_seed(1)
x = (torch.rand(a.size, a.size, generator=g) * 2 - 1).to(a.device)
y = (torch.rand(a.size, a.size, generator=g) * 2 - 1).to(a.device)
sync = torch.cuda.synchronize if a.device.startswith("cuda") else (lambda: None)
torch.matmul(x, y); sync()
t = time.perf_counter()
for _ in range(a.reps):
    torch.matmul(x, y)
sync()
s = (time.perf_counter() - t) / a.reps
print(json.dumps({"size": a.size, "ms": s * 1e3, "gflops": 2 * a.size ** 3 / s / 1e9, "tf32": a.tf32, "device": a.device,
                  "device_name": torch.cuda.get_device_name() if a.device.startswith("cuda") else "cpu"}))
