#!/usr/bin/python3
"""Execute a Jupyter notebook top to bottom on a kernel without losing late outputs.

Driven by lib/notebook/executor.ts. Reads a JSON request on stdin:
  {"notebook": path, "output": path, "kernel": name, "cwd": dir, "env": {..},
   "cellTimeoutS": s, "startupTimeoutS": s, "drainTimeoutS": s}
writes the executed notebook (nbformat 4 JSON) to "output", and prints one JSON summary line
on stdout: {"ok": bool, "durationMs": ms, "cells": [...], "kernel": {...}, "error": ...}.

Why not nbclient/nbconvert: the Deno kernel publishes `status: idle` on iopub before some of
a cell's stream/display/result messages (they travel through a separate queue inside the
kernel), so a client that stops reading at idle silently drops outputs. Here, after a cell's
execute_reply and idle, a *sentinel* request is executed; it prints a unique token and
displays a unique mime bundle. The kernel publishes a request's outputs in execution order
through one queue, so once the sentinel's own outputs, reply and idle have arrived, every
output of the cell before it has arrived too. Anything that arrives with the sentinel's
parent id other than the sentinel's own token belongs to the cell before it.
"""

import json
import os
import queue
import re
import sys
import time
import uuid

from jupyter_client.manager import KernelManager

SENTINEL_MIME = "application/vnd.ferkit.sentinel+json"


def now_ms():
    return time.monotonic() * 1000.0


def source_text(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


class CellState:
    """Outputs, timing and status gathered for one code cell."""

    def __init__(self, index):
        self.index = index
        self.outputs = []
        self.status = "skipped"
        self.error = None
        self.duration_ms = 0.0
        self.execution_count = None
        self.late_outputs = 0
        self.drained = False
        self.clear_pending = False
        self.display_ids = {}


class Executor:
    def __init__(self, request):
        self.req = request
        self.km = None
        self.kc = None
        self.owner = {}  # parent msg_id -> (CellState, role) with role "cell" or "sentinel"
        self.token = "ferkit-sentinel-" + uuid.uuid4().hex

    # ---- kernel lifecycle -------------------------------------------------------------
    def start(self):
        env = dict(os.environ)
        env.update({k: str(v) for k, v in (self.req.get("env") or {}).items()})
        self.km = KernelManager(kernel_name=self.req.get("kernel", "fer-kit-deno"))
        self.km.start_kernel(cwd=self.req.get("cwd") or os.getcwd(), env=env)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=self.startup_timeout())

    def startup_timeout(self):
        return float(self.req.get("startupTimeoutS", 60))

    def start_with_retries(self, attempts=3):
        """Start the kernel and read its kernel_info, trying again after a failed start.

        A start can fail for reasons outside the notebook: on a loaded machine the kernel may
        miss the start-up limit, or lose its ports to another process between jupyter_client
        choosing them and the kernel binding them. No cell has run then, so a new start is
        safe. Returns the errors of the failed attempts (recorded in the run's metadata).
        """
        failures = []
        while True:
            try:
                self.start()
                return self.kernel_info(), failures
            except Exception as e:
                failures.append(f"{type(e).__name__}: {e}")
                self.stop()
                self.km = None
                self.kc = None
                if len(failures) >= attempts:
                    raise RuntimeError("; ".join(failures)) from e

    def stop(self):
        try:
            if self.kc is not None:
                self.kc.stop_channels()
        finally:
            if self.km is not None and self.km.has_kernel:
                self.km.shutdown_kernel(now=True)

    def kernel_info(self):
        mid = self.kc.kernel_info()
        deadline = time.monotonic() + self.startup_timeout()
        while time.monotonic() < deadline:
            msg = self.kc.get_shell_msg(timeout=max(0.001, deadline - time.monotonic()))
            if msg["parent_header"].get("msg_id") == mid:
                c = msg["content"]
                return {
                    "implementation": c.get("implementation"),
                    "implementation_version": c.get("implementation_version"),
                    "language_info": c.get("language_info", {}),
                }
        return {}

    # ---- message pump -----------------------------------------------------------------
    def pump(self, timeout_s, on_reply):
        """Read every queued message, waiting up to timeout_s for the first iopub one."""
        got = False
        wait = timeout_s
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=wait)
            except queue.Empty:
                break
            self.route_iopub(msg)
            got = True
            wait = 0.001
        while True:
            try:
                msg = self.kc.get_shell_msg(timeout=0.001)
            except queue.Empty:
                break
            on_reply(msg)
            got = True
        return got

    def route_iopub(self, msg):
        parent = msg["parent_header"].get("msg_id")
        owner = self.owner.get(parent)
        if owner is None:
            return
        state, role, flags = owner
        mtype = msg["msg_type"]
        content = msg["content"]
        if mtype == "status":
            if content.get("execution_state") == "idle":
                flags["idle"] = True
            return
        if mtype == "execute_input":
            if role == "cell":
                state.execution_count = content.get("execution_count")
            return
        if role == "sentinel":
            # Strip the sentinel's own outputs; whatever else arrives here is late output of
            # the cell before it.
            if mtype == "display_data" and SENTINEL_MIME in content.get("data", {}):
                if content["data"][SENTINEL_MIME].get("token") == flags["token"]:
                    flags["display"] = True
                    return
            if mtype == "stream" and flags["token"] in content.get("text", ""):
                flags["stream"] = True
                rest = content["text"].replace(flags["token"] + "\n", "").replace(flags["token"], "")
                if rest == "":
                    return
                content = dict(content, text=rest)
            if mtype == "execute_result":
                return  # the sentinel's `undefined` result, if the kernel sends one
            state.late_outputs += 1
        elif flags["idle"] and mtype in ("stream", "display_data", "execute_result", "error"):
            state.late_outputs += 1  # after idle: a client stopping at idle would drop it
        self.add_output(state, mtype, content)

    def add_output(self, state, mtype, content):
        if mtype == "clear_output":
            if content.get("wait"):
                state.clear_pending = True
            else:
                state.outputs = []
                state.display_ids = {}
            return
        if mtype == "update_display_data":
            did = (content.get("transient") or {}).get("display_id")
            for out in state.outputs:
                if did is not None and out.get("_display_id") == did:
                    out["data"] = content.get("data", {})
                    out["metadata"] = content.get("metadata", {})
            return
        if mtype not in ("stream", "display_data", "execute_result", "error"):
            return
        if state.clear_pending:
            state.outputs = []
            state.clear_pending = False
        if mtype == "stream":
            name = content.get("name", "stdout")
            text = content.get("text", "")
            last = state.outputs[-1] if state.outputs else None
            if last is not None and last["output_type"] == "stream" and last["name"] == name:
                last["text"] += text
            else:
                state.outputs.append({"output_type": "stream", "name": name, "text": text})
        elif mtype == "display_data":
            out = {
                "output_type": "display_data",
                "data": content.get("data", {}),
                "metadata": content.get("metadata", {}),
            }
            did = (content.get("transient") or {}).get("display_id")
            if did is not None:
                out["_display_id"] = did
            state.outputs.append(out)
        elif mtype == "execute_result":
            state.outputs.append(
                {
                    "output_type": "execute_result",
                    "data": content.get("data", {}),
                    "metadata": content.get("metadata", {}),
                    "execution_count": content.get("execution_count"),
                }
            )
        elif mtype == "error":
            state.outputs.append(
                {
                    "output_type": "error",
                    "ename": content.get("ename", "Error"),
                    "evalue": content.get("evalue", ""),
                    "traceback": content.get("traceback", []),
                }
            )

    # ---- one request, waited for until its reply and idle arrive -------------------------
    def run_request(self, code, state, role, timeout_s, extra_flags=None):
        flags = {"idle": False, "reply": None, "token": self.token}
        if extra_flags:
            flags.update(extra_flags)
        msg_id = self.kc.execute(code, store_history=(role == "cell"), allow_stdin=False,
                                 stop_on_error=False)
        self.owner[msg_id] = (state, role, flags)

        def on_reply(msg):
            owner = self.owner.get(msg["parent_header"].get("msg_id"))
            if owner is not None and msg["msg_type"] == "execute_reply":
                owner[2]["reply"] = msg["content"]

        deadline = time.monotonic() + timeout_s
        def done():
            if flags["reply"] is None or not flags["idle"]:
                return False
            if role == "sentinel":
                return flags.get("display", False) and flags.get("stream", False)
            return True
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return flags, "timeout"
            self.pump(min(left, 0.05), on_reply)
            if not self.km.is_alive():
                # Read what is still queued before giving up.
                self.pump(0.2, on_reply)
                if not done():
                    return flags, "dead"
        return flags, "ok"

    def sentinel_code(self):
        t = self.token
        return (
            f'console.log("{t}");\n'
            f'await Deno.jupyter.display({{"{SENTINEL_MIME}": {{"token": "{t}"}}, '
            f'"text/plain": "{t}"}}, {{raw: true}});\n'
        )

    # ---- the notebook -------------------------------------------------------------------
    def execute(self, nb):
        cells = nb.get("cells", [])
        states = [CellState(i) for i in range(len(cells))]
        result = {"ok": True, "error": None}
        t_all = now_ms()
        failed = False
        counter = 0
        cell_timeout = float(self.req.get("cellTimeoutS", 600))
        drain_timeout = float(self.req.get("drainTimeoutS", 30))
        for i, cell in enumerate(cells):
            st = states[i]
            if cell.get("cell_type") != "code":
                st.status = "markdown" if cell.get("cell_type") == "markdown" else "raw"
                continue
            code = source_text(cell)
            if failed:
                st.status = "skipped"
                continue
            if code.strip() == "":
                st.status = "ok"
                continue
            counter += 1
            t0 = now_ms()
            flags, how = self.run_request(code, st, "cell", cell_timeout)
            st.execution_count = counter
            if how == "timeout":
                st.status = "timeout"
                st.error = {
                    "ename": "CellTimeoutError",
                    "evalue": f"cell {i + 1} did not finish within {cell_timeout:g} s",
                    "traceback": [],
                }
                self.add_output(st, "error", st.error)
                st.duration_ms = now_ms() - t0
                failed = True
                result["ok"] = False
                result["error"] = dict(st.error, cell=i)
                self.km.shutdown_kernel(now=True)
                continue
            if how == "dead":
                st.status = "error"
                st.error = {"ename": "KernelDied", "evalue": f"the kernel died during cell {i + 1}",
                            "traceback": []}
                self.add_output(st, "error", st.error)
                st.duration_ms = now_ms() - t0
                failed = True
                result["ok"] = False
                result["error"] = dict(st.error, cell=i)
                continue
            # Drain: the sentinel proves every output of this cell has arrived.
            _, show = self.run_request(self.sentinel_code(), st, "sentinel", drain_timeout)
            st.drained = show == "ok"
            st.duration_ms = now_ms() - t0
            reply = flags["reply"] or {}
            if reply.get("status") == "error":
                st.status = "error"
                st.error = {
                    "ename": reply.get("ename", "Error"),
                    "evalue": reply.get("evalue", ""),
                    "traceback": reply.get("traceback", []),
                }
                if not any(o["output_type"] == "error" for o in st.outputs):
                    self.add_output(st, "error", st.error)
                failed = True
                result["ok"] = False
                result["error"] = dict(st.error, cell=i)
            else:
                st.status = "ok"
            if not st.drained and not failed:
                # The cell itself finished; its outputs may be incomplete. Report it, and stop
                # when the kernel is gone.
                st.status = "undrained"
                result["ok"] = False
                if result["error"] is None:
                    result["error"] = {"ename": "OutputsNotDrained", "evalue":
                                       f"cell {i + 1}: the kernel did not confirm within "
                                       f"{drain_timeout:g} s that all its outputs arrived",
                                       "traceback": [], "cell": i}
                if show == "dead":
                    failed = True
                    result["ok"] = False
                    result["error"] = {"ename": "KernelDied", "evalue":
                                       f"the kernel died after cell {i + 1}", "traceback": [],
                                       "cell": i}
        result["durationMs"] = now_ms() - t_all
        return states, result


def strip_private(outputs):
    for o in outputs:
        o.pop("_display_id", None)
    return outputs


def main():
    req = json.loads(sys.stdin.read())
    with open(req["notebook"], encoding="utf-8") as f:
        nb = json.load(f)
    if not isinstance(nb, dict) or "cells" not in nb:
        raise SystemExit(f"{req['notebook']}: not a Jupyter notebook (no \"cells\")")
    ex = Executor(req)
    summary = {"ok": False, "cells": [], "kernel": {}, "error": None, "durationMs": 0}
    t_start = now_ms()
    try:
        try:
            summary["kernel"], start_failures = ex.start_with_retries()
            if start_failures:
                summary["kernel"]["startFailures"] = start_failures
        except Exception as e:  # kernel could not start: report, not crash
            summary["error"] = {"ename": "KernelStartError", "evalue": str(e), "traceback": []}
            states = [CellState(i) for i in range(len(nb["cells"]))]
            result = {"ok": False, "error": summary["error"], "durationMs": 0}
        else:
            states, result = ex.execute(nb)
    finally:
        ex.stop()
    for cell, st in zip(nb["cells"], states):
        meta = cell.setdefault("metadata", {})
        if cell.get("cell_type") == "code":
            cell["outputs"] = strip_private(st.outputs)
            cell["execution_count"] = st.execution_count
            for out in cell["outputs"]:
                if out["output_type"] == "execute_result":
                    out["execution_count"] = st.execution_count
        ferkit = {"status": st.status, "durationMs": round(st.duration_ms, 1)}
        if st.error:
            ferkit["error"] = st.error
        if st.late_outputs:
            ferkit["lateOutputs"] = st.late_outputs
        meta["ferkit"] = ferkit
        summary["cells"].append({"index": st.index, **ferkit})
    summary["ok"] = result["ok"]
    summary["error"] = result["error"]
    summary["durationMs"] = round(now_ms() - t_start, 1)
    nb.setdefault("metadata", {})["ferkit"] = {
        "ok": summary["ok"],
        "durationMs": summary["durationMs"],
        "kernel": summary["kernel"],
        "error": summary["error"],
    }
    with open(req["output"], "w", encoding="utf-8") as f:
        json.dump(nb, f, indent=1, ensure_ascii=False)
        f.write("\n")
    sys.stdout.write(json.dumps(summary) + "\n")


if __name__ == "__main__":
    main()
