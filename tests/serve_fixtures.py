"""Shared by the ``tests/test_serve_*.py`` files: tiny runs of every kind, and the real server started
on a free loopback port as its own process (``python -m tinygrad_edu serve``), waited for with a
timeout, and stopped by its PID afterwards.

    from serve_fixtures import Server, runs  # noqa: F401  (fixtures)

    def test_something(runs):
        with Server(runs["gpt"]) as server:
            reply = server.post("/v1/completions", {...})
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import pytest
from run_factories import finetune_run, has_minilm, make_tiny_bert, quiet, staged, write_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_has = staged
_has_minilm = has_minilm


def free_port():
    """A TCP port nothing listens on now, on 127.0.0.1 (the load generator's helper)."""
    from benchmarks.bench_serve import free_port as free_loopback_port
    return free_loopback_port("127.0.0.1")


_quiet = quiet
_write_config = write_config


def make_runs(root):
    """``{"gpt", "image", "sst2", "ner": folder}``: each trained for a step or two (the ones whose data or
    vocabulary is not staged are left out)."""
    from tinygrad_edu import manual_seed
    runs = {}
    if _has("tinyshakespeare"):
        from tinygrad_edu.data.text_datasets import TinyShakespeare
        from tinygrad_edu.training.gpt_trainer import GPTTrainConfig, train_gpt
        folder = os.path.join(root, "gpt")
        config = GPTTrainConfig(n_layer=1, n_head=2, n_embd=16, block_size=32, batch_size=4, max_iters=3,
                                eval_interval=3, eval_iters=1, final_eval_iters=1, sample_tokens=5,
                                warmup_iters=1)
        _write_config(folder, "gpt", config)
        train_gpt(TinyShakespeare(split="train").text, TinyShakespeare(split="val").text, config, folder,
                  log=_quiet, progress_bar=False)
        runs["gpt"] = folder
    if _has("mnist"):
        from tinygrad_edu.training.datasets import load_image_data
        from tinygrad_edu.training.loop import TrainConfig, fit
        from tinygrad_edu.training.restore import build_image_model
        folder = os.path.join(root, "lenet")
        config = TrainConfig(model="lenet5", dataset="mnist", epochs=1, batch_size=32, max_steps=2,
                             limit_train=64, optimizer="adam", lr=1e-3)
        data = load_image_data("mnist", limit_train=64)
        manual_seed(0)
        _write_config(folder, "image", config)
        fit(build_image_model("lenet5", data.x_train.shape[1:], 10), data, config, folder, log=_quiet,
            progress_bar=False)
        runs["image"] = folder
    if _has_minilm():
        bert_dir = make_tiny_bert(os.path.join(root, "tiny_bert"))
        for task, name in (("sst2", "sst2"), ("conll2003", "ner")):
            if _has(task):
                runs[name] = finetune_run(os.path.join(root, name), bert_dir, task, max_length=32)
    return runs


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    return make_runs(str(tmp_path_factory.mktemp("serve_runs")))


def need(runs, *kinds):
    """Skip (with the reason) unless the runs of ``kinds`` could be made."""
    missing = [k for k in kinds if k not in runs]
    if missing:
        pytest.skip(f"no {', '.join(missing)} run: the staged data or the MiniLM vocabulary is missing")
    return [runs[k] for k in kinds]


class Server:
    """``python -m tinygrad_edu serve RUNS... --port FREE`` as a process; a context manager that waits
    (at most ``start_timeout`` s) until ``/health`` answers and stops the process by PID on exit."""

    def __init__(self, *run_folders, options=(), start_timeout=60.0):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.argv = [sys.executable, "-m", "tinygrad_edu", "serve", *map(str, run_folders), "--port",
                     str(self.port), *map(str, options)]
        self.start_timeout = start_timeout
        self.process = None

    def __enter__(self):
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
        self.log_path = os.path.join(tempfile.gettempdir(), f"tinygrad_edu_serve_{self.port}.log")
        self.log = open(self.log_path, "w+")
        self.process = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                        cwd=ROOT)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.output()}")
            try:
                if self.get("/health", timeout=2)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not answer /health within {self.start_timeout} s:\n"
                           f"{self.output()}")

    def output(self):
        """What the server printed so far (also after it stopped)."""
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=20.0):
        """Signal the process, wait for it (kill after ``timeout``); its exit code."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            return None

    def __exit__(self, *exc):
        self.stop()
        self.log.close()
        return False

    def __del__(self):
        if getattr(self, "log_path", None) and os.path.exists(self.log_path):
            try:
                os.remove(self.log_path)
            except OSError:
                pass

    # -- plain HTTP, with a timeout on every call ------------------------------------------------
    def request(self, method, path, body=None, headers=None, timeout=30.0):
        """``(status, headers, body bytes)``; ``body`` a dict (sent as JSON) or bytes."""
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        all_headers = {"Content-Type": "application/json"} if isinstance(body, (dict, list)) else {}
        all_headers.update(headers or {})
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as reply:
                return reply.status, dict(reply.headers), reply.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def get(self, path, timeout=30.0):
        return self.request("GET", path, timeout=timeout)

    def post(self, path, body, headers=None, timeout=30.0):
        """``(status, parsed JSON)``."""
        status, _, raw = self.request("POST", path, body, headers, timeout)
        return status, json.loads(raw) if raw else None
