"""Never a hang: abort the whole job when one rank fails, and a watchdog for stuck collectives.

Why this file exists.  An MPI job is N processes that meet in collectives.  If one of them dies with
an exception, the others wait for it in their next ``Allreduce`` forever: plain ``python`` prints the
traceback of the dead rank, and the job then hangs until someone kills it.  Two mechanisms turn hangs
into prompt, readable failures:

1. **Abort on exception** (``install_abort_on_exception``).  Python calls ``sys.excepthook`` for an
   exception nobody caught.  Ours prints the traceback once, prefixed with the rank, and calls
   ``MPI_Abort``, which tells the launcher (mpiexec, srun) to kill *every* process of the job.  The
   job ends within seconds with a non-zero exit status.  ``distributed.init()`` installs it when the
   world has more than one process (it is what ``python -m mpi4py script.py`` does too).

2. **The watchdog** for a collective that never completes (a rank skipped it, or took another branch,
   or is stuck somewhere else).  Every watched collective runs inside ``watch(name, detail)``, which
   only writes three fields — which call, its sequence number, when it started — into a slot of this
   process.  A daemon thread, one per process, wakes a few times a second and

   * answers questions from other ranks ("what are you doing?") with that slot, and
   * when its own main thread has been inside one collective longer than the timeout, asks every other
     rank what it is doing, waits a moment for the answers, prints one report and calls ``MPI_Abort``.

   The answers come from the other ranks' watchdog threads, so even a rank whose main thread is busy
   computing (or sleeping, or blocked in another collective) says where it is::

       [rank 0] watchdog: all_reduce #7 (float32[1000], SUM) has not completed after 3.0 s.
       [rank 0] ranks that did not arrive: 1 (not in a collective; last was broadcast #6, 3.1 s ago)

   The questions travel as small point-to-point messages on ``MPI.COMM_WORLD`` with the tags below;
   point-to-point traffic never matches a collective, so the watchdog cannot disturb the training
   collectives.  This needs MPI's ``THREAD_MULTIPLE`` level (mpi4py asks for it by default); with a
   lower level the watchdog still aborts, without asking the other ranks.

   Only the lowest-numbered stuck rank prints the report, so N ranks stuck together print one report.
   (A receive of your own with ``tag=MPI.ANY_TAG`` could take a question meant for the watchdog: use
   your own tags.)  Before ``MPI_Abort`` both mechanisms wait half a second, or the launcher may kill
   the job before it has forwarded what they printed.

The timeout: ``TINYGRAD_EDU_COLLECTIVE_TIMEOUT`` seconds (default 600 — generous, since a first step
can compile kernels or load data; 0 or ``off`` turns the watchdog off), or ``collective_timeout(s)``
in code, also usable as ``with collective_timeout(3): ...``.  What the watchdog cannot see: two ranks
that call *different* numbers of collectives can still match each other's calls silently (MPI matches
collectives by order); the watchdog only fires when someone is left waiting.
"""
import atexit
import os
import sys
import threading
import time
import traceback

from . import world

#: message tags of the watchdog's questions and answers (point-to-point, COMM_WORLD)
TAG_QUERY, TAG_ANSWER = 7301, 7302
DEFAULT_TIMEOUT = 600.0
_POLL = 0.1          # seconds between two looks of the watchdog thread
_ANSWER_WAIT = 2.0   # how long a stuck rank waits for the others' answers
_FLUSH_GRACE = 0.5   # before MPI_Abort: time for the launcher to forward what we printed (else lost)


def _timeout_from_env():
    text = os.environ.get("TINYGRAD_EDU_COLLECTIVE_TIMEOUT", "").strip().lower()
    if not text:
        return DEFAULT_TIMEOUT
    if text in ("0", "off", "none", "inf"):
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"TINYGRAD_EDU_COLLECTIVE_TIMEOUT must be a number of seconds (or 0/off), "
                         f"got {text!r}") from None


_state = {"timeout": _timeout_from_env(), "thread": None, "stop": threading.Event(),
          "hook_installed": False, "seq": 0,
          "current": None,   # (name, seq, detail, started) while the main thread is inside a collective
          "last": None}      # (name, seq, finished) of the last collective completed


# ---- 1. an exception on any rank aborts the job ------------------------------------------------
def abort_job(comm, code):
    """End every process of the job: flush what this rank printed, give the launcher a moment to
    forward it, then ``MPI_Abort``.  MPICH's MPI_Abort may *return* before the launcher has killed this
    process (measured: the next lines of the script still ran), so never run on past it: exit at once."""
    sys.stdout.flush()
    sys.stderr.flush()
    time.sleep(_FLUSH_GRACE)
    comm.Abort(code)
    os._exit(code)


def install_abort_on_exception():
    """Make an uncaught exception print its traceback (with the rank) once and ``MPI_Abort`` the job.
    Idempotent; does nothing in a world of one."""
    comm = world.comm()
    if comm is None or world.get_world_size() < 2 or _state["hook_installed"]:
        return
    previous = sys.excepthook

    def abort_on_exception(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            status = 130
        else:
            status = 1
        rank = world.get_rank()
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        sys.stderr.write("".join(f"[rank {rank}] {line}\n" for line in text.rstrip().splitlines()))
        sys.stderr.write(f"[rank {rank}] aborting the whole job (MPI_Abort) because of this exception\n")
        try:
            abort_job(comm, status)
        except Exception:  # noqa: BLE001  (MPI already finalised: fall back to the old hook)
            previous(exc_type, exc, tb)

    sys.excepthook = abort_on_exception
    _state["hook_installed"] = True


def install_failure_handling():
    """What ``distributed.init()`` calls in a world of more than one: the abort-on-exception hook and
    the watchdog's thread (started now, so that it can answer other ranks' questions at any time)."""
    install_abort_on_exception()
    if world.get_world_size() > 1:
        _start_thread()


# ---- 2. the watchdog ----------------------------------------------------------------------------
class collective_timeout:
    """Set the watchdog timeout (seconds; None or 0 turns it off).  As a context manager the old
    value comes back at the end of the ``with`` block."""

    def __init__(self, seconds):
        self.previous = _state["timeout"]
        _state["timeout"] = None if not seconds else float(seconds)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _state["timeout"] = self.previous
        return False


def get_collective_timeout():
    """The watchdog timeout in seconds, or None when it is off."""
    return _state["timeout"]


class watch:
    """``with watch("all_reduce", "float32[1000], SUM"):`` — mark the main thread as inside one
    collective (numbered in call order, the same numbers on every rank that calls the same ones)."""

    def __init__(self, name, detail="", seq=None):
        self.name, self.detail, self.seq = name, detail, seq   # seq: a non-blocking call's own number

    def __enter__(self):
        if world.get_world_size() > 1:
            _start_thread()
            if self.seq is None:
                self.seq = next_sequence_number()
            _state["current"] = (self.name, self.seq, self.detail, time.monotonic())
        return self

    def __exit__(self, *exc):
        current = _state["current"]
        if current is not None:
            _state["last"] = (current[0], current[1], time.monotonic())
            _state["current"] = None
        return False


def next_sequence_number():
    """For non-blocking calls: their number is taken when they are started."""
    _state["seq"] += 1
    return _state["seq"]


def _start_thread():
    if _state["thread"] is not None:
        return
    thread = threading.Thread(target=_watchdog_loop, name="tinygrad_edu-watchdog", daemon=True)
    _state["thread"] = thread
    thread.start()
    atexit.register(_stop_thread)  # before MPI_Finalize: no MPI call from this thread after it


def _stop_thread():
    _state["stop"].set()
    if _state["thread"] is not None:
        _state["thread"].join(timeout=2.0)


def _describe_me():
    """What this rank is doing, as a small dict (the answer to a question)."""
    now = time.monotonic()
    current, last = _state["current"], _state["last"]
    answer = {"rank": world.get_rank()}
    if current is not None:
        answer.update(state="in", name=current[0], seq=current[1], detail=current[2],
                      seconds=now - current[3])
    else:
        answer.update(state="idle")
        if last is not None:
            answer.update(name=last[0], seq=last[1], seconds=now - last[2])
    return answer


def _multithreaded(MPI):
    return MPI.Query_thread() == MPI.THREAD_MULTIPLE


def _watchdog_loop():
    from mpi4py import MPI
    comm = world.comm()
    ask_others = _multithreaded(MPI)
    while not _state["stop"].wait(_POLL):
        if ask_others:
            while comm.iprobe(source=MPI.ANY_SOURCE, tag=TAG_QUERY):   # answer every question
                status = MPI.Status()
                comm.recv(source=MPI.ANY_SOURCE, tag=TAG_QUERY, status=status)
                comm.send(_describe_me(), dest=status.Get_source(), tag=TAG_ANSWER)
        current, timeout = _state["current"], _state["timeout"]
        if current is not None and timeout is not None and time.monotonic() - current[3] > timeout:
            _report_and_abort(comm, MPI, current, timeout, ask_others)


def _report_and_abort(comm, MPI, current, timeout, ask_others):
    name, seq, detail, _ = current
    rank, size = world.get_rank(), world.get_world_size()
    answers = _ask_everyone(comm, MPI) if ask_others else {}
    stuck_here = [r for r, a in answers.items() if a.get("state") == "in" and a.get("seq") == seq
                  and a.get("name") == name]
    if any(r < rank for r in stuck_here):   # a lower rank reports for us; abort if it does not
        time.sleep(_ANSWER_WAIT * 2)
    else:
        lines = [f"watchdog: {name} #{seq} ({detail}) has not completed after {timeout:g} s "
                 f"(world of {size}; TINYGRAD_EDU_COLLECTIVE_TIMEOUT sets the limit)."]
        if ask_others:
            missing = [_explain(r, answers.get(r)) for r in range(size)
                       if r != rank and r not in stuck_here]
            lines.append("ranks that did not arrive: " + ("; ".join(missing) if missing else
                         "none (all ranks are in this call: a deadlock inside MPI?)"))
            if stuck_here:
                lines.append("ranks waiting in this call too: " + ", ".join(map(str, sorted(stuck_here))))
        else:
            lines.append("(MPI is not THREAD_MULTIPLE: the other ranks were not asked)")
        sys.stderr.write("".join(f"[rank {rank}] {line}\n" for line in lines))
    abort_job(comm, 1)


def _ask_everyone(comm, MPI):
    """Send "what are you doing?" to every other rank; collect the answers for a moment."""
    rank, size = world.get_rank(), world.get_world_size()
    questions = [comm.isend(None, dest=other, tag=TAG_QUERY) for other in range(size) if other != rank]
    answers, deadline = {}, time.monotonic() + _ANSWER_WAIT
    while len(answers) < size - 1 and time.monotonic() < deadline:
        if comm.iprobe(source=MPI.ANY_SOURCE, tag=TAG_ANSWER):
            answer = comm.recv(source=MPI.ANY_SOURCE, tag=TAG_ANSWER)
            answers[answer["rank"]] = answer
        elif comm.iprobe(source=MPI.ANY_SOURCE, tag=TAG_QUERY):   # others ask us meanwhile
            status = MPI.Status()
            comm.recv(source=MPI.ANY_SOURCE, tag=TAG_QUERY, status=status)
            comm.send(_describe_me(), dest=status.Get_source(), tag=TAG_ANSWER)
        else:
            time.sleep(0.01)
    del questions   # kept alive until here: a rank that never answers may never receive its question
    return answers


def _explain(rank, answer):
    if answer is None:
        return f"{rank} (no answer: exited, crashed, or not running this library's watchdog)"
    if answer["state"] == "in":
        return (f"{rank} (in {answer['name']} #{answer['seq']} ({answer['detail']}) "
                f"for {answer['seconds']:.1f} s)")
    if "seq" in answer:
        return (f"{rank} (not in a collective; its last was {answer['name']} #{answer['seq']}, "
                f"{answer['seconds']:.1f} s ago)")
    return f"{rank} (not in a collective; none called yet)"
