#!/usr/bin/python3
"""Protocol checks of every Open Inference Protocol rpc MaaS.Mesh serves, from a plain Python client
(Debian's grpcio, stubs generated from the standard proto), over gRPC and REST. Point it at the
gateway or straight at an inference replica:

    oip_protocol_check.py --grpc 127.0.0.1:8001 --rest http://127.0.0.1:8000 --model linear-regression [--direct]

Prints one JSON line per check {"check", "ok", "detail"} and exits 0 only when every check passed.
--direct adds the checks only a replica answers (RepositoryModelLoad/Unload).
"""
import argparse
import json
import os
import struct
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")
from oip_client import auth_headers, load_stubs, open_channel  # noqa: E402

results = []


def check(name, fn):
    try:
        ok, detail = fn()
    except Exception as ex:  # a failed call is a failed check, reported with its reason
        ok, detail = False, f"{type(ex).__name__}: {ex}"
    results.append({"check": name, "ok": bool(ok), "detail": detail})


def expect_status(call, code):
    import grpc
    try:
        call()
        return False, "no error"
    except grpc.RpcError as err:
        return err.code() == code and len(err.details() or "") > 0, f"{err.code().name}: {err.details()}"


def rest(base, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base.rstrip("/") + path, data=data, method=method,
                                     headers={"content-type": "application/json", **auth_headers()})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
            return response.status, json.loads(text) if text else None
    except urllib.error.HTTPError as err:
        text = err.read().decode()
        return err.code, json.loads(text) if text else None


def rest_binary(base, path, header, tail):
    """POST as tritonclient.http does with binary_data=True: the JSON header, then the tensor bytes."""
    head = json.dumps(header).encode()
    request = urllib.request.Request(base.rstrip("/") + path, data=head + tail, method="POST",
                                     headers={"Content-Type": "application/octet-stream",
                                              "Inference-Header-Content-Length": str(len(head)), **auth_headers()})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--grpc", required=True)
    parser.add_argument("--rest", required=True)
    parser.add_argument("--model", default="linear-regression")
    parser.add_argument("--direct", action="store_true")
    args = parser.parse_args()

    import grpc
    pb, stubs = load_stubs()
    channel = open_channel(args.grpc)
    client = stubs.GRPCInferenceServiceStub(channel)
    m = args.model

    check("grpc ServerLive", lambda: (client.ServerLive(pb.ServerLiveRequest(), timeout=10).live, "live"))
    check("grpc ServerReady", lambda: (client.ServerReady(pb.ServerReadyRequest(), timeout=10).ready, "ready"))

    def server_metadata():
        r = client.ServerMetadata(pb.ServerMetadataRequest(), timeout=10)
        return bool(r.name) and bool(r.version), f"{r.name} {r.version} {list(r.extensions)}"
    check("grpc ServerMetadata", server_metadata)
    check("grpc ModelReady", lambda: (client.ModelReady(pb.ModelReadyRequest(name=m), timeout=10).ready, "ready"))

    def model_metadata():
        r = client.ModelMetadata(pb.ModelMetadataRequest(name=m), timeout=10)
        ok = r.name == m and r.platform == "onnxruntime_onnx" and r.inputs[0].datatype == "FP32" and r.inputs[0].shape[0] == -1
        return ok, f"versions {list(r.versions)} inputs {[(i.name, i.datatype, list(i.shape)) for i in r.inputs]}"
    check("grpc ModelMetadata", model_metadata)

    def infer(raw):
        tensor = pb.ModelInferRequest.InferInputTensor(name="input", datatype="FP32", shape=[2, 1])
        request = pb.ModelInferRequest(model_name=m, id="check", inputs=[tensor])
        if raw:
            request.raw_input_contents.append(struct.pack("<2f", 0.0, 1.0))
        else:
            tensor = request.inputs[0]
            tensor.contents.fp32_contents.extend([0.0, 1.0])
        r = client.ModelInfer(request, timeout=30)
        values = list(struct.unpack("<2f", r.raw_output_contents[0])) if raw else list(r.outputs[0].contents.fp32_contents)
        ok = r.id == "check" and r.model_version != "" and len(values) == 2 and list(r.outputs[0].shape) == [2, 1]
        return ok, f"version {r.model_version} outputs {values}"
    check("grpc ModelInfer typed", lambda: infer(False))
    check("grpc ModelInfer raw", lambda: infer(True))

    def stream_infer():
        # Triton's streaming rpc (tritonclient's start_stream/async_stream_infer): 3 requests on one stream, one
        # answer each, matched by id. The key goes as call metadata: open_channel's interceptor covers unary calls only.
        requests = []
        for i in range(3):
            tensor = pb.ModelInferRequest.InferInputTensor(name="input", datatype="FP32", shape=[1, 1])
            tensor.contents.fp32_contents.append(float(i))
            requests.append(pb.ModelInferRequest(model_name=m, id=f"stream-{i}", inputs=[tensor]))
        answers = list(client.ModelStreamInfer(iter(requests), timeout=30, metadata=list(auth_headers().items())))
        errors = [a.error_message for a in answers if a.error_message]
        ids = sorted(a.infer_response.id for a in answers)
        values = {a.infer_response.id: list(a.infer_response.outputs[0].contents.fp32_contents)
                  for a in answers if a.infer_response.outputs}
        ok = not errors and ids == ["stream-0", "stream-1", "stream-2"] and all(len(v) == 1 for v in values.values())
        return ok, f"ids {ids} outputs {values} errors {errors}"
    check("grpc ModelStreamInfer", stream_infer)

    def model_config():
        c = client.ModelConfig(pb.ModelConfigRequest(name=m), timeout=10).config
        type_fp32 = 11  # Triton's DataType.TYPE_FP32
        inputs = [(i.name, i.data_type, list(i.dims)) for i in c.input]
        ok = (c.name == m and c.platform == "onnxruntime_onnx" and c.backend == "onnxruntime" and len(c.input) > 0
              and c.input[0].data_type == type_fp32 and len(c.output) > 0 and c.max_batch_size >= 0)
        return ok, f"max_batch_size {c.max_batch_size} inputs {inputs} outputs {[(o.name, o.data_type, list(o.dims)) for o in c.output]}"
    check("grpc ModelConfig", model_config)

    def index():
        r = client.RepositoryIndex(pb.RepositoryIndexRequest(ready=True), timeout=10)
        return any(x.name == m and x.state == "READY" for x in r.models), f"{[(x.name, x.version, x.state) for x in r.models]}"
    check("grpc RepositoryIndex", index)

    def statistics():
        r = client.ModelStatistics(pb.ModelStatisticsRequest(name=m), timeout=10)
        return len(r.model_stats) > 0 and all(s.name == m for s in r.model_stats), \
            f"{[(s.version, s.inference_count, s.execution_count) for s in r.model_stats]}"
    check("grpc ModelStatistics", statistics)

    check("grpc unknown model -> NOT_FOUND", lambda: expect_status(
        lambda: client.ModelInfer(pb.ModelInferRequest(model_name="no-such-model", inputs=[
            pb.ModelInferRequest.InferInputTensor(name="input", datatype="FP32", shape=[1, 1],
                                                   contents=pb.InferTensorContents(fp32_contents=[1]))]), timeout=10),
        grpc.StatusCode.NOT_FOUND))
    check("grpc wrong datatype -> INVALID_ARGUMENT", lambda: expect_status(
        lambda: client.ModelInfer(pb.ModelInferRequest(model_name=m, inputs=[
            pb.ModelInferRequest.InferInputTensor(name="input", datatype="INT64", shape=[1, 1],
                                                   contents=pb.InferTensorContents(int64_contents=[1]))]), timeout=10),
        grpc.StatusCode.INVALID_ARGUMENT))
    check("grpc element count -> INVALID_ARGUMENT", lambda: expect_status(
        lambda: client.ModelInfer(pb.ModelInferRequest(model_name=m, inputs=[
            pb.ModelInferRequest.InferInputTensor(name="input", datatype="FP32", shape=[3, 1],
                                                   contents=pb.InferTensorContents(fp32_contents=[1]))]), timeout=10),
        grpc.StatusCode.INVALID_ARGUMENT))

    if args.direct:
        def unload_load():
            client.RepositoryModelUnload(pb.RepositoryModelUnloadRequest(model_name=m), timeout=30)
            gone = not client.ModelReady(pb.ModelReadyRequest(name=m), timeout=10).ready
            client.RepositoryModelLoad(pb.RepositoryModelLoadRequest(model_name=m), timeout=60)
            back = client.ModelReady(pb.ModelReadyRequest(name=m), timeout=10).ready
            return gone and back, f"unloaded: {gone}, reloaded: {back}"
        check("grpc RepositoryModelUnload + Load", unload_load)

    base = args.rest
    check("rest GET /v2", lambda: (lambda s, b: (s == 200 and "name" in b, b))(*rest(base, "GET", "/v2")))
    check("rest GET /v2/health/live", lambda: (rest(base, "GET", "/v2/health/live")[0] == 200, "200"))
    check("rest GET /v2/health/ready", lambda: (rest(base, "GET", "/v2/health/ready")[0] == 200, "200"))
    check("rest GET /v2/models/{m}", lambda: (lambda s, b: (s == 200 and b["platform"] == "onnxruntime_onnx", b))(*rest(base, "GET", f"/v2/models/{m}")))
    check("rest GET /v2/models/{m}/ready", lambda: (rest(base, "GET", f"/v2/models/{m}/ready")[0] == 200, "200"))
    check("rest GET /v2/models/{m}/versions/1", lambda: (lambda s, b: (s == 200, b))(*rest(base, "GET", f"/v2/models/{m}/versions/1")))
    check("rest POST /v2/models/{m}/infer", lambda: (lambda s, b: (s == 200 and len(b["outputs"][0]["data"]) == 2, b))(
        *rest(base, "POST", f"/v2/models/{m}/infer", {"id": "r", "inputs": [{"name": "input", "shape": [2, 1], "datatype": "FP32", "data": [0, 1]}]})))

    def binary_infer():
        values = [0.0, 1.0]
        header = {"id": "b", "inputs": [{"name": "input", "shape": [2, 1], "datatype": "FP32",
                                         "parameters": {"binary_data_size": 8}}],
                  "parameters": {"binary_data_output": True}}
        status, headers, body = rest_binary(base, f"/v2/models/{m}/infer", header, struct.pack("<2f", *values))
        if status != 200:
            return False, f"{status}: {body[:300]!r}"
        json_length = int(headers.get("Inference-Header-Content-Length", "-1"))
        if json_length < 0:
            return False, f"no Inference-Header-Content-Length in the answer; headers {dict(headers)}"
        answer = json.loads(body[:json_length])
        output = answer["outputs"][0]
        size = output["parameters"]["binary_data_size"]
        got = list(struct.unpack(f"<{size // 4}f", body[json_length:json_length + size]))
        s, b = rest(base, "POST", f"/v2/models/{m}/infer",
                    {"inputs": [{"name": "input", "shape": [2, 1], "datatype": "FP32", "data": values}]})
        expected = [struct.unpack("<f", struct.pack("<f", v))[0] for v in b["outputs"][0]["data"]] if s == 200 else None
        ok = (headers.get("Content-Type", "").startswith("application/octet-stream") and "data" not in output
              and len(body) == json_length + size and got == expected)
        return ok, f"{headers.get('Content-Type')} json {json_length} bytes, outputs {got}, as JSON {expected}"
    check("rest POST /v2/models/{m}/infer binary tensor data", binary_infer)
    check("rest POST /v2/repository/index", lambda: (lambda s, b: (s == 200 and any(x["name"] == m for x in b), b))(
        *rest(base, "POST", "/v2/repository/index", {})))
    check("rest GET /v2/models/{m}/stats", lambda: (lambda s, b: (s == 200 and len(b["model_stats"]) > 0, "ok"))(
        *rest(base, "GET", f"/v2/models/{m}/stats")))
    check("rest bad shape -> 400", lambda: (lambda s, b: (s == 400 and "error" in b, b))(
        *rest(base, "POST", f"/v2/models/{m}/infer", {"inputs": [{"name": "input", "shape": [3, 1], "datatype": "FP32", "data": [0]}]})))
    check("rest unknown model -> 404", lambda: (lambda s, b: (s == 404 and "error" in b, b))(
        *rest(base, "POST", "/v2/models/no-such-model/infer", {"inputs": [{"name": "input", "shape": [1, 1], "datatype": "FP32", "data": [0]}]})))

    for r in results:
        print(json.dumps(r))
    sys.exit(0 if all(r["ok"] for r in results) else 1)


if __name__ == "__main__":
    main()
