"""One local llama.cpp HTTP server, run as a child process of `gptapi serve`.

`python -m gptapi.inference.child --port 8101 --alias gpt-fast,gpt-full`

llama.cpp's own C++ server runs inside this process through xllamacpp. The process dies
with its parent (PR_SET_PDEATHSIG, plus a parent check), so no server outlives the platform.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys
import time

from gptapi.inference.model_file import gguf_path

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl took effect
        sys.exit(1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--alias", required=True, help="comma-separated model names")
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--ctx-per-slot", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--embedding", action="store_true")
    parser.add_argument("--parent", type=int, default=os.getppid())
    args = parser.parse_args(argv)
    die_with_parent(args.parent)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(gguf_path())
    params.hostnames = [args.host]
    params.port = args.port
    params.model_alias = set(args.alias.split(","))
    params.n_parallel = args.parallel
    params.n_ctx = args.parallel * args.ctx_per_slot
    params.endpoint_metrics = True
    params.use_jinja = True  # chat templates with tools, as production llama-server runs
    if args.threads:
        params.cpuparams.n_threads = args.threads
        params.cpuparams_batch.n_threads = args.threads
    if args.embedding:
        params.embedding = True
        params.pooling_type = xllamacpp.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN
    server = xllamacpp.Server(params)
    print(f"llama.cpp server for {args.alias} on {server.listening_address}", flush=True)
    while os.getppid() == args.parent:
        time.sleep(1)


if __name__ == "__main__":
    main()
