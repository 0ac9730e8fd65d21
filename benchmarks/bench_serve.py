"""The serving benchmark: ``python -m tinygrad_edu serve`` under a bounded load, beside the same model
called in process, so the server's overhead is a ratio.

    python -m benchmarks.bench_serve --sst2-run runs/sst2 --gpt-run runs/gpt_shakespeare
    python -m benchmarks.bench_serve --requests 500 --concurrency 1,8,32 --markdown serve.md
    python -m benchmarks.bench_serve                       # builds two tiny runs first (staged data)

It starts the servers itself, as processes on a free port of the loopback interface (it refuses any
other host: a load generator pointed at someone else's machine is an attack, not a benchmark), and
stops them by their PID when it ends, whatever happens.  Every client is a thread holding one
keep-alive ``http.client`` connection; a run is *bounded*: a fixed number of requests is shared
among the clients, then the clients stop.  Before anything is timed, the answers are compared with
the in-process model (the probabilities of every text to 1e-5, the greedy text of every prompt
exactly): timing a wrong answer would be worse than useless.

Rows (``ratio`` = server time / in-process time for the same work; 1.0 would be a free server):

* ``classify, C clients, batching``: ``--requests`` requests ``POST /v1/classify`` with one text
  each, shared among C concurrent clients (1, 8, 32), against a server with dynamic batching
  (concurrent requests are run as one padded batch of up to ``--max-batch`` texts, the first one
  waiting at most ``--max-wait-ms`` for the others).  ``req/s`` = requests / wall time; ``p50``,
  ``p99``: the latency of one request (send to last byte) at the 50th and 99th percentile.  The
  in-process reference is the same texts classified as ``predict_sentences`` does (WordPiece,
  pad, BERT forward, softmax) in batches of ``min(C, max_batch)``: the best batching C clients allow.
* ``classify, C clients, no batching``: the same against a second server started with
  ``--no-batching`` (every request is its own forward pass); the reference is the texts one at a
  time.  Batching wins when the per-call cost (Python, the engine's per-op overhead) dominates the
  arithmetic, as it does for small models.
* ``generate, C clients``: ``--gen-requests`` non-streamed greedy completions (``temperature 0``,
  ``max_tokens`` = ``--max-tokens``) of prompts of different lengths, shared among C clients (1, 4);
  ``tok/s`` = completion tokens / wall time.  Concurrent generations share decode steps (one
  scheduler step per token advances all of them, each with its own KV cache; the arithmetic stays per
  request, see ``tinygrad_edu/serve/generation.py``).  The reference is ``GPT.generate``
  for the same prompts, one after the other (batch 1: prompts of different lengths do not batch
  without padding, which would change the answers).

The times are wall-clock seconds on a shared machine: compare rows of one run, not runs of two days.
"""
import argparse
import dataclasses
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOOPBACK = ("127.0.0.1", "localhost", "::1")

#: classified by the benchmark's clients, request i gets TEXTS[i % len(TEXTS)] (lengths 2..30 words)
TEXTS = [
    "A gorgeous, witty, seductive movie.",
    "The plot is thin and the acting is worse.",
    "It is a charming and often affecting journey.",
    "Unfunny and tedious.",
    "An utterly compelling story of love, loss and the small mercies that carry a family through a long and "
    "difficult winter in the mountains.",
    "I walked out after an hour.",
    "The performances are terrific, even if the script stumbles in its final act.",
    "Bland, forgettable and far too long.",
    "A masterpiece.",
    "What could have been a sharp satire settles for cheap jokes and a tidy ending that nobody believes.",
    "Warm, funny and wise.",
    "The director has no idea what to do with his talented cast, and it shows in every scene.",
]
#: continued by the generation rows (characters of Tiny Shakespeare)
PROMPTS = ["ROMEO:", "First Citizen:\nBefore we proceed", "KING", "To be, or not to be, that is",
           "JULIET:\nO Romeo, Romeo!", "A", "Now is the winter of our",
           "MENENIUS:\nWhat work's, my countrymen"]


# ------------------------------------------------------------------------------------------------
# the servers
# ------------------------------------------------------------------------------------------------
def check_host(host):
    """``host`` if it is a loopback address; a clear error otherwise."""
    if host not in LOOPBACK:
        raise SystemExit(f"bench_serve: --host {host!r}: this load generator only talks to this machine's "
                         f"loopback interface ({', '.join(LOOPBACK)})")
    return host


def free_port(host):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class ServerProcess:
    """``python -m tinygrad_edu serve RUNS ... --port FREE --quiet`` as a process, stopped by PID."""

    def __init__(self, runs, host, options=(), threads=1, start_timeout=120.0):
        self.host, self.port = host, free_port(host)
        self.argv = [sys.executable, "-m", "tinygrad_edu", "serve", *runs, "--host", host, "--port",
                     str(self.port), "--quiet", *map(str, options)]
        self.threads, self.start_timeout = threads, start_timeout
        self.process = None

    def start(self):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
            env[name] = str(self.threads)
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
        self.log = tempfile.TemporaryFile("w+")
        self.process = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                        cwd=ROOT)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"bench_serve: the server exited with {self.process.returncode}:\n"
                                   f"{self.output()}")
            try:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=2)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    conn.close()
                    return self
                conn.close()
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"bench_serve: the server did not answer /health in {self.start_timeout:g} s:\n"
                           f"{self.output()}")

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


# ------------------------------------------------------------------------------------------------
# the load
# ------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class Load:
    """What one bounded run of requests measured."""
    seconds: float          # wall time, first request sent to last answer read
    latencies: list         # seconds per request
    answers: list           # parsed JSON answers, in request order

    @property
    def requests(self):
        return len(self.latencies)

    def percentile(self, q):
        return float(np.percentile(self.latencies, q)) if self.latencies else float("nan")


def run_load(host, port, path, bodies, clients, timeout=120.0):
    """POST every body of ``bodies`` to ``path``, shared among ``clients`` threads (each with its own
    keep-alive connection, taking the next unsent body until none is left).  Any answer but 200 stops
    the benchmark: a run that measured errors measured nothing."""
    lock = threading.Lock()
    cursor = [0]
    latencies, answers, errors = [None] * len(bodies), [None] * len(bodies), []

    def client():
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            while not errors:
                with lock:
                    i = cursor[0]
                    cursor[0] += 1
                if i >= len(bodies):
                    return
                payload = json.dumps(bodies[i]).encode()
                start = time.perf_counter()
                conn.request("POST", path, payload, {"Content-Type": "application/json"})
                reply = conn.getresponse()
                raw = reply.read()
                latencies[i] = time.perf_counter() - start
                if reply.status != 200:
                    text = raw[:300].decode(errors="replace")
                    errors.append(f"POST {path} answered {reply.status}: {text}")
                    return
                answers[i] = json.loads(raw)
        except OSError as exc:
            errors.append(f"POST {path}: {exc!r}")
        finally:
            conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 5)
    seconds = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"bench_serve: {errors[0]}")
    if any(t.is_alive() for t in threads):
        raise RuntimeError(f"bench_serve: a client of {path} did not finish within {timeout:g} s")
    return Load(seconds, latencies, answers)


# ------------------------------------------------------------------------------------------------
# the same models in process
# ------------------------------------------------------------------------------------------------
def classify_in_process(run, texts, batch):
    """``(seconds, probabilities (N, classes))``: ``texts`` classified as ``predict_sentences`` does,
    ``batch`` texts per forward pass."""
    from tinygrad_edu.commands.predict import _logits, _max_length
    from tinygrad_edu.nn import functional as F
    from tinygrad_edu.training.finetune import encode_batch
    out = []
    start = time.perf_counter()
    for i in range(0, len(texts), batch):
        ids, types, mask, _ = encode_batch(run.tokenizer, [(t, 0) for t in texts[i:i + batch]], "sequence",
                                           _max_length(run))
        out.append(F.softmax(_logits(run, ids, types, mask), dim=-1).array)
    return time.perf_counter() - start, np.concatenate(out)


def generate_in_process(run, prompts, max_tokens):
    """``(seconds, texts)``: ``GPT.generate`` (greedy) for each prompt, one after the other."""
    start = time.perf_counter()
    texts = []
    for prompt in prompts:
        ids = np.asarray([run.tokenizer.encode(prompt)], np.int64)
        out = run.model.generate(ids, max_tokens, temperature=0.0)
        texts.append(run.tokenizer.decode(out[0, ids.shape[1]:].tolist()))
    return time.perf_counter() - start, texts


# ------------------------------------------------------------------------------------------------
# the rows
# ------------------------------------------------------------------------------------------------
def _check_probabilities(answers, texts, probs, classes):
    for i, answer in enumerate(answers):
        got = answer["data"][0]["probabilities"]
        want = probs[i % len(probs)]
        diff = max(abs(got[c] - float(want[k])) for k, c in enumerate(classes))
        if diff > 1e-5:
            raise RuntimeError(f"bench_serve: /v1/classify differs from the in-process model by {diff:.2g} "
                               f"on {texts[i % len(texts)]!r}")


def _clients(n):
    return f"{n} client" + ("" if n == 1 else "s")


def classify_rows(run, name, servers, requests, concurrency, max_batch, log):
    from tinygrad_edu import no_grad
    texts = [TEXTS[i % len(TEXTS)] for i in range(requests)]
    bodies = [{"model": name, "input": text} for text in texts]
    with no_grad():
        classify_in_process(run, TEXTS, 1)                                      # warm-up
        _, reference = classify_in_process(run, TEXTS, 1)
        in_process = {}
        for b in sorted({1, len(texts)} | {min(c, max_batch) for c in concurrency}):
            in_process[b] = classify_in_process(run, texts, b)[0]
    rows = []
    for batching, server in servers:
        check = run_load(server.host, server.port, "/v1/classify", bodies[:len(TEXTS)], 1)   # warm-up too
        _check_probabilities(check.answers, TEXTS, reference, run.classes)
        for clients in concurrency:
            log(f"classify: {_clients(clients)}, {'batching' if batching else 'no batching'}")
            load = run_load(server.host, server.port, "/v1/classify", bodies, clients)
            _check_probabilities(load.answers, texts, reference, run.classes)
            b = min(clients, max_batch) if batching else 1
            rows.append({"row": f"classify, {_clients(clients)}, {'batching' if batching else 'no batching'}",
                         "clients": clients, "batching": batching, "requests": load.requests,
                         "seconds": load.seconds, "req_per_s": load.requests / load.seconds,
                         "p50_ms": 1e3 * load.percentile(50), "p99_ms": 1e3 * load.percentile(99),
                         "in_process_s": in_process[b], "in_process": f"batches of {b}",
                         "ratio": load.seconds / in_process[b]})
    for b, seconds in sorted(in_process.items()):
        label = "one at a time" if b == 1 else ("one batch" if b == len(texts) else f"batches of {b}")
        rows.append({"row": f"classify in process, {label}", "clients": 0, "batching": b > 1,
                     "requests": len(texts), "seconds": seconds, "req_per_s": len(texts) / seconds,
                     "p50_ms": None, "p99_ms": None, "in_process_s": seconds, "in_process": label,
                     "ratio": 1.0})
    return rows


def generate_rows(run, name, server, requests, concurrency, max_tokens, log):
    from tinygrad_edu import no_grad
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(requests)]
    bodies = [{"model": name, "prompt": p, "max_tokens": max_tokens, "temperature": 0} for p in prompts]
    with no_grad():
        generate_in_process(run, prompts[:1], max_tokens)                         # warm-up
        seconds_in_process, reference = generate_in_process(run, prompts, max_tokens)
    tokens_in_process = max_tokens * len(prompts)
    rows = []
    for clients in concurrency:
        log(f"generate: {_clients(clients)}")
        load = run_load(server.host, server.port, "/v1/completions", bodies, clients)
        for i, answer in enumerate(load.answers):
            text = answer["choices"][0]["text"]
            if text != reference[i]:
                raise RuntimeError(f"bench_serve: the greedy completion of {prompts[i]!r} differs from "
                                   f"GPT.generate in process: {text!r} != {reference[i]!r}")
        tokens = sum(a["usage"]["completion_tokens"] for a in load.answers)
        rows.append({"row": f"generate, {_clients(clients)}", "clients": clients, "batching": clients > 1,
                     "requests": load.requests, "seconds": load.seconds,
                     "req_per_s": load.requests / load.seconds, "tokens_per_s": tokens / load.seconds,
                     "p50_ms": 1e3 * load.percentile(50), "p99_ms": 1e3 * load.percentile(99),
                     "in_process_s": seconds_in_process,
                     "in_process": "GPT.generate, one prompt at a time",
                     "ratio": load.seconds / seconds_in_process})
    rows.append({"row": "generate in process, one prompt at a time", "clients": 0, "batching": False,
                 "requests": len(prompts), "seconds": seconds_in_process,
                 "req_per_s": len(prompts) / seconds_in_process,
                 "tokens_per_s": tokens_in_process / seconds_in_process,
                 "p50_ms": None, "p99_ms": None, "in_process_s": seconds_in_process,
                 "in_process": "GPT.generate", "ratio": 1.0})
    return rows


# ------------------------------------------------------------------------------------------------
# the report
# ------------------------------------------------------------------------------------------------
COLUMNS = [("row", "row", "{}"), ("requests", "requests", "{}"), ("req/s", "req_per_s", "{:.1f}"),
           ("tok/s", "tokens_per_s", "{:.0f}"), ("p50 ms", "p50_ms", "{:.1f}"),
           ("p99 ms", "p99_ms", "{:.1f}"),
           ("in-process s", "in_process_s", "{:.3f}"), ("ratio", "ratio", "{:.2f}")]


def _cells(row):
    return [("-" if row.get(key) is None else fmt.format(row[key])) for _, key, fmt in COLUMNS]


def format_table(rows):
    cells = [[title for title, _, _ in COLUMNS]] + [_cells(r) for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = []
    for n, line in enumerate(cells):
        padded = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))]
        lines.append("  ".join(padded))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_markdown(rows, title):
    lines = [f"## {title}", "", "| " + " | ".join(t for t, _, _ in COLUMNS) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(COLUMNS))) + "|"]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------------
# tiny runs, when none are given
# ------------------------------------------------------------------------------------------------
def _write_config(folder, kind, config):
    from tinygrad_edu.training.run_folder import write_json_atomic
    os.makedirs(folder, exist_ok=True)
    write_json_atomic(os.path.join(folder, "config.json"),
                      {"kind": kind, "format": 1, "config": dataclasses.asdict(config)})


def build_runs(root, log):
    """Two runs trained for a few steps (the staged Tiny Shakespeare and SST-2 and the MiniLM
    vocabulary are needed): a 2-layer GPT and a 2-layer BERT fine-tuned on SST-2, both small enough
    that per-request overhead, not arithmetic, is what the rows measure."""
    from tinygrad_edu.data.text_datasets import TinyShakespeare
    from tinygrad_edu.models.bert import BertConfig
    from tinygrad_edu.training import finetune
    from tinygrad_edu.training.gpt_trainer import GPTTrainConfig, train_gpt
    log(f"building a small GPT run and a small SST-2 run in {root}")
    gpt = os.path.join(root, "gpt")
    config = GPTTrainConfig(n_layer=2, n_head=2, n_embd=32, block_size=64, batch_size=4, max_iters=3,
                            eval_interval=3, eval_iters=1, final_eval_iters=1, sample_tokens=5,
                            warmup_iters=1)
    _write_config(gpt, "gpt", config)
    train_gpt(TinyShakespeare(split="train").text, TinyShakespeare(split="val").text, config, gpt,
              log=lambda s: None, progress_bar=False)
    bert_dir = os.path.join(root, "bert")
    os.makedirs(bert_dir, exist_ok=True)
    bert = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=128)
    bert.to_json(os.path.join(bert_dir, "config.json"))
    shutil.copy(os.path.join(finetune.minilm_folder(), "vocab.txt"), bert_dir)
    sst2 = os.path.join(root, "sst2")
    config = finetune.FinetuneConfig(task="sst2", init="scratch", model_dir=bert_dir, epochs=1, batch_size=4,
                                     limit_train=8, limit_eval=8, max_steps=2, max_length=64, lr=1e-3)
    _write_config(sst2, "finetune", config)
    finetune.finetune(config, sst2, log=lambda s: None, progress_bar=False)
    return sst2, gpt


# ------------------------------------------------------------------------------------------------
# the command line
# ------------------------------------------------------------------------------------------------
def _counts(text):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas, got {text!r}")
    return values


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_serve", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sst2-run", help="an SST-2 fine-tune run folder (default: build a small one)")
    p.add_argument("--gpt-run", help="a GPT run folder (default: build a small one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="loopback address to serve on (127.0.0.1, localhost, ::1)")
    p.add_argument("--requests", type=_positive, default=200, help="classification requests per row (200)")
    p.add_argument("--concurrency", type=_counts, default=[1, 8, 32], help="classification clients (1,8,32)")
    p.add_argument("--gen-requests", type=_positive, default=8, help="completions per generation row (8)")
    p.add_argument("--gen-concurrency", type=_counts, default=[1, 4], help="generation clients (1,4)")
    p.add_argument("--max-tokens", type=_positive, default=64, help="tokens per completion (64)")
    p.add_argument("--max-batch", type=_positive, default=32, help="the server's --max-batch (32)")
    p.add_argument("--max-wait-ms", type=float, default=5.0, help="the server's --max-wait-ms (5)")
    p.add_argument("--threads", type=_positive, default=1, help="BLAS threads, server and in process (1)")
    p.add_argument("--skip-generation", action="store_true", help="classification rows only")
    p.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    p.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    host = check_host(args.host)

    def log(message):
        print(f"[bench_serve] {message}", file=sys.stderr, flush=True)

    from tinygrad_edu.training.restore import load_run
    try:
        import threadpoolctl
        threadpoolctl.threadpool_limits(limits=args.threads)
    except ImportError:
        log("threadpoolctl is not installed: the in-process model keeps NumPy's default BLAS threads")
    scratch = None
    servers = []
    try:
        sst2, gpt = args.sst2_run, args.gpt_run
        if sst2 is None or (gpt is None and not args.skip_generation):
            scratch = tempfile.mkdtemp(prefix="bench_serve_")
            built = build_runs(scratch, log)
            sst2, gpt = sst2 or built[0], gpt or built[1]
        sst2_name = os.path.basename(os.path.normpath(sst2))
        gpt_name = os.path.basename(os.path.normpath(gpt)) if gpt else None
        if gpt_name == sst2_name:
            raise SystemExit(f"bench_serve: the two runs are both called {sst2_name!r}: rename one folder")
        limits = ["--max-concurrent", max(args.concurrency + args.gen_concurrency) + 8,
                  "--max-batch", args.max_batch, "--max-wait-ms", args.max_wait_ms,
                  "--max-tokens-limit", max(args.max_tokens, 16), "--timeout", 600]
        with_gpt = [sst2] + ([gpt] if gpt and not args.skip_generation else [])
        log("starting the servers")
        batched = ServerProcess(with_gpt, host, limits, args.threads)
        servers.append(batched)
        batched.start()
        solo = ServerProcess([sst2], host, limits + ["--no-batching"], args.threads)
        servers.append(solo)
        solo.start()
        rows = classify_rows(load_run(sst2), sst2_name, [(True, batched), (False, solo)], args.requests,
                             args.concurrency, args.max_batch, log)
        if not args.skip_generation:
            rows += generate_rows(load_run(gpt), gpt_name, batched, args.gen_requests, args.gen_concurrency,
                                  args.max_tokens, log)
    finally:
        for server in servers:
            server.stop()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    served = sst2_name + (f" and {gpt_name}" if gpt_name and not args.skip_generation else "")
    title = f"Serving benchmark: {served}, {args.threads} BLAS thread(s)"
    print(title)
    print()
    print(format_table(rows))
    print()
    print("ratio = server wall time / in-process wall time for the same texts or prompts (see the docstring)")
    if args.json:
        with open(args.json, "w") as f:
            settings = {k: v for k, v in vars(args).items() if k not in ("json", "markdown")}
            json.dump({"title": title, "settings": settings, "rows": rows}, f, indent=1)
            f.write("\n")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(format_markdown(rows, title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
