#!/usr/bin/python3
"""A plain Open Inference Protocol client in Python: what an application developer with an
existing Triton/KServe-style client does against MaaS.Mesh's gateway. Stubs are generated from
the standard inference proto with Debian's grpc_tools (python3-grpcio, python3-grpc-tools).

    oip_client.py --grpc 127.0.0.1:8001 --rest http://127.0.0.1:8000 --model linear-regression [--version 1] 1 2 3

Prints one JSON line per transport: {"transport", "model_version", "outputs"}.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[3]
PROTOS = ROOT / "protos" / "MaaS.Protos"


def load_stubs():
    out = tempfile.mkdtemp(prefix="maas-oip-py-")
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTOS}", f"--python_out={out}",
         f"--grpc_python_out={out}", "inference/grpc_service.proto", "inference/model_config.proto"],
        check=True)
    sys.path.insert(0, out)
    from inference import grpc_service_pb2, grpc_service_pb2_grpc  # noqa: E402
    return grpc_service_pb2, grpc_service_pb2_grpc


def auth_headers():
    """The gateway's API key from MAAS_API_KEY as an HTTP header; none when unset (an open gateway)."""
    key = os.environ.get("MAAS_API_KEY", "").strip()
    return {"authorization": f"Bearer {key}"} if key else {}


def open_channel(address):
    """An insecure channel whose every call carries the API key as `authorization` metadata."""
    import collections
    import grpc

    channel = grpc.insecure_channel(address)
    headers = auth_headers()
    if not headers:
        return channel

    class _Details(collections.namedtuple("_Details", ("method", "timeout", "metadata", "credentials",
                                                       "wait_for_ready", "compression")), grpc.ClientCallDetails):
        pass

    class _WithKey(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
        def _details(self, d):
            metadata = list(d.metadata or []) + list(headers.items())
            return _Details(d.method, d.timeout, metadata, d.credentials,
                            getattr(d, "wait_for_ready", None), getattr(d, "compression", None))

        def intercept_unary_unary(self, continuation, details, request):
            return continuation(self._details(details), request)

        def intercept_unary_stream(self, continuation, details, request):
            return continuation(self._details(details), request)

    return grpc.intercept_channel(channel, _WithKey())


def infer_grpc(address, model, version, xs):
    pb, stubs = load_stubs()
    with open_channel(address) as channel:
        client = stubs.GRPCInferenceServiceStub(channel)
        meta = client.ModelMetadata(pb.ModelMetadataRequest(name=model, version=version), timeout=30)
        tensor = pb.ModelInferRequest.InferInputTensor(
            name=meta.inputs[0].name, datatype="FP32", shape=[len(xs), 1],
            contents=pb.InferTensorContents(fp32_contents=xs))
        reply = client.ModelInfer(pb.ModelInferRequest(model_name=model, model_version=version, id="python", inputs=[tensor]), timeout=30)
        return reply.model_version, list(reply.outputs[0].contents.fp32_contents)


def infer_rest(base, model, version, xs):
    path = f"/v2/models/{model}" + (f"/versions/{version}" if version else "") + "/infer"
    body = {"id": "python", "inputs": [{"name": "input", "shape": [len(xs), 1], "datatype": "FP32", "data": xs}]}
    request = urllib.request.Request(base.rstrip("/") + path, data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json", **auth_headers()}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        reply = json.load(response)
    return reply["model_version"], reply["outputs"][0]["data"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grpc", default="127.0.0.1:8001")
    parser.add_argument("--rest", default="http://127.0.0.1:8000")
    parser.add_argument("--model", default="linear-regression")
    parser.add_argument("--version", default="")
    parser.add_argument("x", nargs="+", type=float)
    args = parser.parse_args()
    for transport, call in (("grpc", lambda: infer_grpc(args.grpc, args.model, args.version, args.x)),
                            ("rest", lambda: infer_rest(args.rest, args.model, args.version, args.x))):
        version, outputs = call()
        print(json.dumps({"transport": transport, "model_version": version, "outputs": outputs}))


if __name__ == "__main__":
    os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")
    main()
