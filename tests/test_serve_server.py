"""The server as a whole: ``python -m tinygrad_edu serve`` started as a real process on a free loopback
port, and talked to over HTTP (``urllib`` and raw sockets, every call with a timeout).

What is checked, beyond the endpoints' own tests (``test_serve_completions.py``, ``test_serve_classify.py``):

* the describing endpoints: ``/health``, ``/v1/models`` (every served run with its kind, endpoint,
  labels or context length), ``/v1/models/{name}``, and ``/metrics`` parsed as Prometheus text (the
  request counter grows by exactly the requests made; histogram buckets are cumulative);
* every limit the middleware enforces, with its status and its JSON error: unknown path (404), wrong
  method (405), body too large (413: announced, or found while reading a chunked body), a body that
  is not JSON (422), too many requests at once (429 with ``Retry-After``), and the server is healthy
  after each;
* the process: one log line per request, 127.0.0.1 by default, a port in use or a run that cannot be
  served is one ``error:`` line and exit code 2, and SIGTERM / SIGINT stop it cleanly (exit 0, "server
  stopped") while a request is in flight;
* in process: ``metrics.py``'s text format and ``errors.field``'s type checks;
* ``benchmarks/bench_serve.py`` runs (a smoke test with a handful of requests).
"""
import dataclasses
import http.client
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

import serve_fixtures
from serve_fixtures import ROOT, Server, free_port, need

runs = serve_fixtures.runs              # the session fixture: tiny runs of every kind

LOG_LINE = re.compile(r'^\S+ "([A-Z]+) (\S+)" (\d{3}) \d+\.\d{3}s$')
STARTUP_LINE = re.compile(r"^(serving \S+ \(\w+, /v1/\S+\) from .+"
                          r"|listening on http://\S+ \(Ctrl-C to stop\))$")


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def parse_metrics(text):
    """Prometheus text → ``({(name, labels): value}, {family: type})``; every sample line must parse,
    and every family must have its ``# HELP`` and ``# TYPE`` lines."""
    samples, types, helps = {}, {}, set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helps.add(line.split()[2])
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            types[name] = kind
        elif line:
            m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)', line)
            assert m, f"not a Prometheus sample: {line!r}"
            labels = tuple(sorted(re.findall(r'(\w+)="([^"]*)"', m.group(2) or "")))
            samples[(m.group(1), labels)] = float(m.group(3))
    for name, _ in samples:
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert family in types and family in helps, f"{name}: no # TYPE / # HELP line"
    return samples, types


def metrics(server):
    status, _, raw = server.get("/metrics", timeout=10)
    assert status == 200
    return parse_metrics(raw.decode())[0]


def requests_counted(samples, endpoint, status=None):
    """``tinygrad_edu_requests_total`` of ``endpoint``, for one status or all."""
    total = 0
    for (name, labels), value in samples.items():
        labels = dict(labels)
        if name == "tinygrad_edu_requests_total" and labels["endpoint"] == endpoint and \
                (status is None or labels["status"] == str(status)):
            total += value
    return total


def error_of(raw):
    """The ``{"error": {...}}`` body every failure has, checked for its shape."""
    body = json.loads(raw)
    assert set(body) == {"error"} and {"message", "type", "param", "code"} <= set(body["error"]), body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def assert_healthy(server):
    status, _, raw = server.get("/health", timeout=10)
    assert status == 200 and json.loads(raw)["status"] == "ok"


def wait_until(condition, timeout=5.0, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"{what} did not hold within {timeout} s")


def connect(server, rcvbuf=None):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)   # a slow reader: small window
    sock.settimeout(10)
    sock.connect(("127.0.0.1", server.port))
    return sock


def head(path, length=None, extra=()):
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json", *extra]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_response(sock):
    """``(status, headers, body)`` of the HTTP response on ``sock``."""
    reply = http.client.HTTPResponse(sock)
    reply.begin()
    return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()


def cli(*args, timeout=60):
    """``python -m tinygrad_edu ARGS`` to its end: ``(exit code, stdout, stderr)``."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run([sys.executable, "-m", "tinygrad_edu", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=ROOT)
    return done.returncode, done.stdout, done.stderr


def assert_one_error_line(code, out, err, *words):
    assert code == 2, (code, out, err)
    assert "Traceback" not in out + err
    errors = [line for line in err.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error: "), err
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


# ------------------------------------------------------------------------------------------------
# one server for the module: every kind of run that could be made, with small limits
# ------------------------------------------------------------------------------------------------
KINDS = {"gpt": ("completion", "/v1/completions"), "sst2": ("classify", "/v1/classify"),
         "ner": ("ner", "/v1/ner"), "image": ("image", "/v1/images/classify")}


@pytest.fixture(scope="module")
def served(runs):
    need(runs, "sst2")
    folders = {kind: runs[kind] for kind in KINDS if kind in runs}
    with Server(*folders.values(), options=["--max-body-bytes", "1000", "--max-concurrent", "2"]) as server:
        server.folders = folders
        yield server


def name_of(folder):
    return os.path.basename(os.path.normpath(folder))


def test_health_lists_the_models(served):
    status, headers, raw = served.get("/health", timeout=10)
    body = json.loads(raw)
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert body["status"] == "ok"
    assert body["models"] == sorted(name_of(f) for f in served.folders.values())
    assert isinstance(body["queue_depth"], int) and body["queue_depth"] >= 0


def test_models_describe_every_run(served):
    status, _, raw = served.get("/v1/models", timeout=10)
    assert status == 200
    body = json.loads(raw)
    assert body["object"] == "list"
    entries = {m["id"]: m for m in body["data"]}
    assert set(entries) == {name_of(f) for f in served.folders.values()}
    for run_kind, folder in served.folders.items():
        entry = entries[name_of(folder)]
        kind, endpoint = KINDS[run_kind]
        assert entry["object"] == "model" and entry["owned_by"] == "tinygrad_edu"
        assert entry["kind"] == kind and entry["endpoint"] == endpoint
        assert isinstance(entry["created"], int) and abs(entry["created"] - time.time()) < 3600
        with open(os.path.join(folder, "config.json")) as f:
            config = json.load(f)["config"]
        if run_kind == "gpt":
            assert entry["context_length"] == config["block_size"] and "labels" not in entry
        else:
            assert "context_length" not in entry
    if "sst2" in served.folders:
        assert entries["sst2"]["labels"] == ["negative", "positive"]
    if "image" in served.folders:
        assert entries[name_of(served.folders["image"])]["labels"] == [str(d) for d in range(10)]
    if "ner" in served.folders:
        labels = entries[name_of(served.folders["ner"])]["labels"]
        assert labels[0] == "O" and {"B-PER", "I-PER", "B-LOC"} <= set(labels)


def test_one_model_by_name_and_404_for_an_unknown_one(served):
    _, _, raw = served.get("/v1/models", timeout=10)
    listed = {m["id"]: m for m in json.loads(raw)["data"]}
    status, _, raw = served.get("/v1/models/sst2", timeout=10)
    assert status == 200 and json.loads(raw) == listed["sst2"]
    status, _, raw = served.get("/v1/models/no_such_model", timeout=10)
    error = error_of(raw)
    assert status == 404 and error["code"] == "model_not_found" and error["param"] == "model"
    assert "'no_such_model'" in error["message"] and "sst2" in error["message"]
    assert_healthy(served)


def test_metrics_count_requests_exactly_and_buckets_are_cumulative(served):
    status, headers, raw = served.get("/metrics", timeout=10)
    assert status == 200 and headers["content-type"].startswith("text/plain")
    samples, types = parse_metrics(raw.decode())
    assert types["tinygrad_edu_requests_total"] == "counter"
    assert types["tinygrad_edu_request_seconds"] == "histogram"
    assert types["tinygrad_edu_tokens_generated_total"] == "counter"
    assert types["tinygrad_edu_queue_depth"] == "gauge"
    assert types["tinygrad_edu_requests_in_flight"] == "gauge"
    before = requests_counted(samples, "/health", 200)
    calls = 7
    for _ in range(calls):
        assert served.get("/health", timeout=10)[0] == 200

    def caught_up():
        samples = metrics(served)
        return samples if requests_counted(samples, "/health", 200) >= before + calls else None

    after = wait_until(caught_up, what="the /health counter to catch up")
    assert requests_counted(after, "/health", 200) == before + calls          # exactly: no more, no less

    for endpoint in ("/health", "/metrics"):
        buckets = sorted(((math.inf if dict(labels)["le"] == "+Inf" else float(dict(labels)["le"])), v)
                         for (name, labels), v in after.items()
                         if name == "tinygrad_edu_request_seconds_bucket"
                         and dict(labels)["endpoint"] == endpoint)
        assert len(buckets) > 5 and buckets[-1][0] == math.inf
        counts = [v for _, v in buckets]
        assert counts == sorted(counts), f"{endpoint}: buckets are not cumulative: {counts}"
        total = after[("tinygrad_edu_request_seconds_count", (("endpoint", endpoint),))]
        assert counts[-1] == total == requests_counted(after, endpoint)
        assert 0 < after[("tinygrad_edu_request_seconds_sum", (("endpoint", endpoint),))] < 60 * total
    assert after[("tinygrad_edu_requests_in_flight", ())] == 0
    assert after[("tinygrad_edu_queue_depth", ())] == 0


def test_unknown_path_is_a_404_json_error(served):
    for method, path in (("GET", "/nothing/here"), ("POST", "/v1/nothing"), ("GET", "/v2/models")):
        status, headers, raw = served.request(method, path, b"{}" if method == "POST" else None, timeout=10)
        error = error_of(raw)
        assert status == 404 and headers["content-type"].startswith("application/json")
        assert path in error["message"] and error["type"] == "not_found_error"
    assert_healthy(served)


def test_get_on_a_post_endpoint_is_405(served):
    for path in ("/v1/classify", "/v1/completions"):
        status, _, raw = served.get(path, timeout=10)
        error = error_of(raw)
        assert status == 405, (path, status, raw)
        assert "GET" in error["message"] and path in error["message"]
    assert_healthy(served)


def test_a_body_over_the_limit_is_413(served):
    body = json.dumps({"model": "sst2", "input": "x" * 2000}).encode()          # the limit is 1000 bytes
    assert len(body) > 1000
    status, _, raw = served.request("POST", "/v1/classify", body, {"Content-Type": "application/json"},
                                    timeout=10)
    error = error_of(raw)
    assert status == 413 and "1000 bytes" in error["message"] and error["type"] == "request_too_large"
    assert_healthy(served)


def test_an_announced_huge_body_is_refused_before_it_is_sent(served):
    with connect(served) as sock:
        sock.sendall(head("/v1/classify", 100_000_000))                          # headers only, no body
        status, _, raw = read_response(sock)
    assert status == 413 and "1000 bytes" in error_of(raw)["message"]
    assert_healthy(served)


def test_a_chunked_body_is_cut_at_the_limit(served):
    """No Content-Length to go by: the limit is found while reading (600 + 600 bytes > 1000)."""
    chunk = b"x" * 600
    with connect(served) as sock:
        sock.sendall(head("/v1/classify", extra=["Transfer-Encoding: chunked"]) +
                     b"%x\r\n%s\r\n" % (len(chunk), chunk) * 2 + b"0\r\n\r\n")
        status, _, raw = read_response(sock)
    assert status == 413 and "1000 bytes" in error_of(raw)["message"]
    assert_healthy(served)


@pytest.mark.parametrize("path", ["/v1/classify", "/v1/completions"])
def test_a_body_that_is_not_a_json_object_is_422(served, path):
    for body, words in ((b'{"input": [', "not valid JSON"), (b"[1, 2]", "JSON object"),
                        (b"\xff\xfe", "not valid JSON")):
        status, _, raw = served.request("POST", path, body, {"Content-Type": "application/json"}, timeout=10)
        error = error_of(raw)
        assert status == 422, (path, body, status, raw)
        assert words in error["message"] and error["type"] == "invalid_request_error"
    assert_healthy(served)


def test_more_concurrent_requests_than_the_limit_get_429_with_retry_after(served):
    """Two uploads that send their headers and then dribble the body hold the two slots of
    ``--max-concurrent 2`` (the body limit, inside the concurrency limit, waits for the body); the
    third request is answered 429 at once; when the two finish, requests are served again."""
    body = json.dumps({"model": "sst2", "input": "A fine, warm film."}).encode()
    held = [connect(served), connect(served)]
    try:
        for sock in held:
            sock.sendall(head("/v1/classify", len(body)) + body[:3])
        wait_until(lambda: metrics(served)[("tinygrad_edu_requests_in_flight", ())] == 2,
                   what="two requests in flight")
        start = time.monotonic()
        status, headers, raw = served.request("POST", "/v1/classify", body,
                                              {"Content-Type": "application/json"}, timeout=10)
        assert time.monotonic() - start < 2                                      # refused, not queued
        error = error_of(raw)
        assert status == 429 and error["type"] == "rate_limit_error" and "2 requests" in error["message"]
        assert int({k.lower(): v for k, v in headers.items()}["retry-after"]) >= 1
        assert_healthy(served)                                                   # GETs are not limited
        for sock in held:
            sock.sendall(body[3:])
            status, _, raw = read_response(sock)
            assert status == 200, raw
    finally:
        for sock in held:
            sock.close()
    wait_until(lambda: metrics(served)[("tinygrad_edu_requests_in_flight", ())] == 0,
               what="no request in flight")
    status, reply = served.post("/v1/classify", json.loads(body), timeout=10)
    assert status == 200 and reply["data"][0]["label"] in ("negative", "positive")


def test_one_log_line_per_request(served):
    def count(text):
        return sum(1 for line in served.output().splitlines() if text in line)

    before = count('"POST /v1/completions" 422')
    for _ in range(3):
        assert served.request("POST", "/v1/completions", b"{oops", timeout=10)[0] == 422
    wait_until(lambda: count('"POST /v1/completions" 422') >= before + 3, what="the log lines")
    assert count('"POST /v1/completions" 422') == before + 3
    lines = served.output().splitlines()
    for line in lines:                                 # the startup lines, then one line per request
        assert STARTUP_LINE.match(line) or LOG_LINE.match(line), f"unexpected output line: {line!r}"
    logged = sum(1 for line in lines if '"GET /health" ' in line)
    assert logged == requests_counted(metrics(served), "/health")       # the log and the counter agree


def test_the_default_host_is_loopback(served):
    assert "--host" not in served.argv
    assert f"listening on http://127.0.0.1:{served.port} (Ctrl-C to stop)" in served.output().splitlines()


# ------------------------------------------------------------------------------------------------
# the command line's failures: one line, exit code 2
# ------------------------------------------------------------------------------------------------
def test_a_port_in_use_is_one_error_line(runs):
    (sst2,) = need(runs, "sst2")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = cli("serve", sst2, "--port", port)
    assert_one_error_line(code, out, err, f"--port {port}", "127.0.0.1")
    assert "listening" not in out


@pytest.fixture(scope="module")
def pretrain_run(runs, tmp_path_factory):
    """A masked-LM pre-training run (untrained weights): a run ``serve`` cannot serve."""
    need(runs, "sst2")                                       # the MiniLM vocabulary is there
    from tinygrad_edu import save
    from tinygrad_edu.text import WordPieceTokenizer
    from tinygrad_edu.training.finetune import minilm_folder
    from tinygrad_edu.training.pretrain import PretrainConfig, build_mlm_model
    from tinygrad_edu.training.run_folder import CHECKPOINT, write_json_atomic
    folder = str(tmp_path_factory.mktemp("pretrain_run"))
    config = PretrainConfig(num_hidden_layers=1, hidden_size=16, num_attention_heads=2, intermediate_size=32,
                            max_length=32)
    model = build_mlm_model(config, WordPieceTokenizer.from_pretrained(minilm_folder()).vocab_size)
    save({"model": model.state_dict(), "config": dataclasses.asdict(config)},
         os.path.join(folder, CHECKPOINT))
    write_json_atomic(os.path.join(folder, "config.json"),
                      {"kind": "pretrain", "format": 1, "config": dataclasses.asdict(config)})
    return folder


def test_a_run_that_cannot_be_served_is_one_error_line(runs, pretrain_run, tmp_path):
    (sst2,) = need(runs, "sst2")
    missing = str(tmp_path / "no_such_run")
    code, out, err = cli("serve", sst2, missing, "--port", free_port())
    assert_one_error_line(code, out, err, missing)
    code, out, err = cli("serve", pretrain_run, "--port", free_port())
    assert_one_error_line(code, out, err, pretrain_run, "pretrain")
    assert "listening" not in out


# ------------------------------------------------------------------------------------------------
# shutting down with a request in flight
# ------------------------------------------------------------------------------------------------
def assert_stopped_cleanly(server, sig, within):
    """The process (already sent ``sig``: a second SIGINT would force the exit) ends by itself."""
    start = time.monotonic()
    try:
        code = server.process.wait(timeout=within + 10)
    except subprocess.TimeoutExpired:
        code = server.stop(signal.SIGKILL)
    seconds = time.monotonic() - start
    output = server.output()
    assert code == 0, f"exit code {code} after {signal.Signals(sig).name}:\n{output}"
    assert seconds < within, f"the server took {seconds:.1f} s to stop"
    assert output.rstrip().splitlines()[-1].startswith("server stopped"), output
    assert "Traceback" not in output and "Exception in ASGI application" not in output, output


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_lets_a_slow_upload_finish(runs, sig):
    """The signal arrives while a request is still receiving its body: the server stops accepting new
    connections but lets that request finish (it is answered), then exits 0."""
    (sst2,) = need(runs, "sst2")
    body = json.dumps({"input": "A fine, warm film."}).encode()
    with Server(sst2, options=["--shutdown-timeout", "5"]) as server:
        with connect(server) as sock:
            sock.sendall(head("/v1/classify", len(body)) + body[:3])
            wait_until(lambda: metrics(server)[("tinygrad_edu_requests_in_flight", ())] == 1,
                       what="the upload in flight")
            server.process.send_signal(sig)
            time.sleep(0.3)
            assert server.process.poll() is None                                 # waiting for the upload
            sock.sendall(body[3:])
            status, _, raw = read_response(sock)
        assert status == 200 and json.loads(raw)["data"][0]["label"] in ("negative", "positive")
        assert_stopped_cleanly(server, sig, within=5)


def test_a_signal_cuts_a_stalled_upload_after_the_shutdown_timeout(runs):
    """An upload that never completes: after ``--shutdown-timeout`` the server cancels it, answers 503
    (it had not answered yet) and exits 0 without a traceback."""
    (sst2,) = need(runs, "sst2")
    with Server(sst2, options=["--shutdown-timeout", "1"]) as server:
        with connect(server) as sock:
            sock.sendall(head("/v1/classify", 100) + b'{"in')                   # and never the rest
            wait_until(lambda: metrics(server)[("tinygrad_edu_requests_in_flight", ())] == 1,
                       what="the upload in flight")
            server.process.send_signal(signal.SIGTERM)
            assert_stopped_cleanly(server, signal.SIGTERM, within=6)
            rest = b""
            try:
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    rest += chunk
            except OSError:
                pass
        status_line, _, _ = rest.partition(b"\r\n")
        assert status_line == b"HTTP/1.1 503 Service Unavailable", rest               # told why
        assert b"shutting down" in rest.partition(b"\r\n\r\n")[2]


def _completion_events(reply):
    """The ``data:`` payloads of a server-sent-events response read to its end (or to where the
    connection was cut), and whether it was cut."""
    events, cut = [], False
    try:
        for line in iter(reply.readline, b""):
            if line.startswith(b"data: "):
                events.append(line[6:].strip().decode())
    except (http.client.IncompleteRead, ConnectionError, socket.timeout):
        cut = True
    return events, cut


@pytest.mark.parametrize("sig, tokens, finish", [(signal.SIGTERM, 5000, True), (signal.SIGINT, 20000, False)])
def test_a_signal_during_a_streamed_completion(runs, sig, tokens, finish):
    """The signal comes right after the first event of a long stream (5000 tokens take about a second
    to generate; socket buffers hold megabytes, so only the generation keeps a stream in flight).
    ``finish``: the shutdown timeout (10 s) is long enough, the stream goes on to ``data: [DONE]`` with
    every token, then the server exits.  Otherwise (20000 tokens, ``--shutdown-timeout 1``) the server
    cancels the stream after a second and exits; what the client got is whole events, without
    ``[DONE]``.  Either way the process exits 0, without a traceback."""
    (gpt,) = need(runs, "gpt")
    request = json.dumps({"model": name_of(gpt), "prompt": "ROMEO:", "max_tokens": tokens, "temperature": 0,
                          "stream": True}).encode()
    options = ["--max-tokens-limit", tokens, "--shutdown-timeout", 10 if finish else 1]
    with Server(gpt, options=options) as server:
        with connect(server) as sock:
            sock.sendall(head("/v1/completions", len(request)) + request)
            reply = http.client.HTTPResponse(sock)
            reply.begin()
            assert reply.status == 200, reply.read()
            assert reply.getheader("content-type").startswith("text/event-stream")
            first = reply.readline()
            assert first.startswith(b"data: ") and json.loads(first[6:])["object"] == "text_completion"
            assert metrics(server)[("tinygrad_edu_requests_in_flight", ())] == 1, "the stream ended already"
            server.process.send_signal(sig)
            events, cut = _completion_events(reply)
            assert_stopped_cleanly(server, sig, within=8 if finish else 5)
        chunks = [json.loads(first[6:])] + [json.loads(e) for e in events if e != "[DONE]"]   # all whole
        text = "".join(c["choices"][0]["text"] for c in chunks if c.get("choices"))
        if finish:
            assert not cut and events[-1] == "[DONE]" and len(text) == tokens         # every token arrived
        else:
            assert "[DONE]" not in events and len(text) < tokens                      # cut, and said so


# ------------------------------------------------------------------------------------------------
# in process: the metrics text, the field checks
# ------------------------------------------------------------------------------------------------
def test_metrics_render_counters_histograms_and_gauges():
    from tinygrad_edu.serve.metrics import LATENCY_BUCKETS, Metrics
    m = Metrics()
    m.observe("/health", 200, 0.003)
    m.observe("/health", 200, 0.2)
    m.observe("/health", 404, 100.0)                      # beyond the last bucket: only +Inf counts it
    m.observe("/v1/classify", 422, 0.05)
    m.add_tokens(5)
    m.add_tokens(2)
    m.add_batch(3)
    m.add_batch(4)
    m.in_flight = 1
    samples, types = parse_metrics(m.render(queue_depth=2))
    assert requests_counted(samples, "/health", 200) == 2 and requests_counted(samples, "/health", 404) == 1
    assert requests_counted(samples, "/v1/classify") == 1

    def bucket(endpoint, le):
        return samples[("tinygrad_edu_request_seconds_bucket", (("endpoint", endpoint), ("le", le)))]

    assert bucket("/health", "0.005") == 1 and bucket("/health", "0.1") == 1
    assert bucket("/health", "0.25") == 2
    assert bucket("/health", str(LATENCY_BUCKETS[-1])) == 2 and bucket("/health", "+Inf") == 3
    assert bucket("/v1/classify", "0.025") == 0 and bucket("/v1/classify", "0.05") == 1    # le: at most
    assert samples[("tinygrad_edu_request_seconds_count", (("endpoint", "/health"),))] == 3
    assert samples[("tinygrad_edu_request_seconds_sum", (("endpoint", "/health"),))] == pytest.approx(100.203)
    assert samples[("tinygrad_edu_tokens_generated_total", ())] == 7
    assert samples[("tinygrad_edu_batches_total", ())] == 2
    assert samples[("tinygrad_edu_batched_inputs_total", ())] == 7
    assert samples[("tinygrad_edu_requests_in_flight", ())] == 1
    assert samples[("tinygrad_edu_queue_depth", ())] == 2
    assert types["tinygrad_edu_request_seconds"] == "histogram"
    assert types["tinygrad_edu_batches_total"] == "counter"


def test_field_checks_types_and_names_the_field():
    from tinygrad_edu.serve.errors import ApiError, field
    assert field({"n": 3}, "n", int) == 3
    assert field({"x": 3}, "x", float) == 3.0 and isinstance(field({"x": 3}, "x", float), float)
    assert field({}, "n", int, default=7) == 7 and field({"n": None}, "n", int, default=1) == 1
    assert field({"b": False}, "b", bool) is False
    assert field({"v": "a"}, "v", (str, list)) == "a"
    cases = [({"n": True}, "n", int, "a boolean"),            # bool is a subclass of int, not an integer here
             ({"x": False}, "x", float, "a boolean"),
             ({"n": 2.5}, "n", int, "float 2.5"),
             ({"s": 5}, "s", str, "int 5"),
             ({"v": {"a": 1}}, "v", (str, list), "a string or a list"),
             ({}, "n", int, "required")]
    for body, name, kind, words in cases:
        with pytest.raises(ApiError) as caught:
            field(body, name, kind, who="completions")
        error = caught.value
        assert error.status == 422 and error.param == name, (body, error.message)
        assert f"'{name}'" in error.message and words in error.message
        assert error.message.startswith("completions")                  # who: the endpoint
    response = ApiError(429, "busy", headers={"Retry-After": "1"}).response()
    assert response.status_code == 429 and response.headers["retry-after"] == "1"
    assert json.loads(response.body) == {"error": {"message": "busy", "type": "rate_limit_error",
                                                   "param": None, "code": None}}


# ------------------------------------------------------------------------------------------------
# the benchmark
# ------------------------------------------------------------------------------------------------
def test_bench_serve_smoke(runs, tmp_path, capsys):
    sst2, gpt = need(runs, "sst2", "gpt")
    from benchmarks import bench_serve
    out = tmp_path / "serve.json"
    markdown = tmp_path / "serve.md"
    assert bench_serve.main(["--sst2-run", sst2, "--gpt-run", gpt, "--requests", "8", "--concurrency", "1,2",
                             "--gen-requests", "2", "--gen-concurrency", "1,2", "--max-tokens", "4",
                             "--json", str(out), "--markdown", str(markdown)]) == 0
    table = capsys.readouterr().out
    rows = {r["row"]: r for r in json.loads(out.read_text())["rows"]}
    for row in ("classify, 1 client, batching", "classify, 2 clients, batching",
                "classify, 1 client, no batching", "classify, 2 clients, no batching",
                "generate, 1 client", "generate, 2 clients"):
        r = rows[row]
        assert r["requests"] == (8 if row.startswith("classify") else 2)
        for key in ("req_per_s", "p50_ms", "p99_ms", "in_process_s", "ratio"):
            assert math.isfinite(r[key]) and r[key] > 0, (row, key, r[key])
        assert r["p99_ms"] >= r["p50_ms"]
        line = next(line for line in table.splitlines() if line.startswith(row + " "))
        assert re.search(r"\d+\.\d+\s*$", line), line                            # the ratio column
    assert rows["generate, 2 clients"]["tokens_per_s"] > 0
    assert rows["classify in process, one at a time"]["req_per_s"] > 0
    assert "| classify, 2 clients, batching |" in markdown.read_text()
    with pytest.raises(SystemExit, match="loopback"):
        bench_serve.main(["--host", "0.0.0.0", "--sst2-run", sst2])
