#!/usr/bin/python3
"""A MaaS.Mesh client in Python, all through the gateway: list the models (maas.registry.v1), train a
model and watch the job live (maas.trainer.v1 WatchJob), then call the trained version (Open Inference
Protocol). Stubs are generated at start from the repo's .proto files with Debian's grpc_tools
(python3-grpcio, python3-grpc-tools); the API key is read from MAAS_API_KEY.

    MAAS_API_KEY=... maas_client.py --address 127.0.0.1:8001 --model my-line --dataset my-data \\
        --features x --label y --epochs 300 --learning-rate 0.1 0 1 2 3

Prints one JSON line per event: submitted, progress (one per update of the job), job (the final state),
models (the listing), ready (the version is served), infer (inputs and outputs). Exits 1 when the job
does not succeed or a call fails, with the reason on stderr.
"""
import argparse
import json
import os
import pathlib
import re
import struct
import subprocess
import sys
import tempfile
import time

# The repo's protos; set MAAS_PROTOS when this file is copied elsewhere.
PROTOS = pathlib.Path(os.environ.get("MAAS_PROTOS", pathlib.Path(__file__).resolve().parents[3] / "protos" / "MaaS.Protos"))
# model_config.proto is imported by grpc_service.proto (ModelConfig), so its module must exist too.
PROTO_FILES = ["inference/grpc_service.proto", "inference/model_config.proto", "maas/registry/v1/registry.proto",
               "maas/trainer/v1/trainer.proto"]


def generate_stubs():
    """Compiles the three protos into a temp folder (grpc_tools adds the well-known types) and imports them."""
    out = pathlib.Path(tempfile.mkdtemp(prefix="maas-client-py-"))
    source = out / "protos"
    for name in PROTO_FILES:
        # Debian's grpc_tools carries a protoc older than proto3 `optional` (two fields of trainer.proto); without the
        # label a field keeps its number and wire type, only its presence bit, which this client does not read.
        text = re.sub(r"^(\s*)optional\s+", r"\1", (PROTOS / name).read_text(), flags=re.MULTILINE)
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(text)
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{source}", f"--python_out={out}",
                    f"--grpc_python_out={out}", *PROTO_FILES], check=True)
    sys.path.insert(0, str(out))
    from inference import grpc_service_pb2 as oip, grpc_service_pb2_grpc as oip_grpc
    from maas.registry.v1 import registry_pb2 as registry, registry_pb2_grpc as registry_grpc
    from maas.trainer.v1 import trainer_pb2 as trainer, trainer_pb2_grpc as trainer_grpc
    return oip, oip_grpc, registry, registry_grpc, trainer, trainer_grpc


def emit(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default=os.environ.get("MAAS_ADDRESS", "127.0.0.1:8001"), help="gateway gRPC host:port")
    parser.add_argument("--model", required=True, help="model to train (created when missing)")
    parser.add_argument("--dataset", required=True, help="dataset in the registry")
    parser.add_argument("--features", nargs="+", default=["x"])
    parser.add_argument("--label", default="y")
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--timeout", type=float, default=120, help="seconds for the whole run")
    parser.add_argument("x", nargs="+", type=float, help="inputs to send (one feature per row)")
    args = parser.parse_args()

    import grpc
    oip, oip_grpc, registry, registry_grpc, trainer, trainer_grpc = generate_stubs()
    key = os.environ.get("MAAS_API_KEY", "").strip()
    # Every call carries the key as gRPC metadata; none when the gateway is open.
    auth = [("authorization", f"Bearer {key}")] if key else []
    deadline = time.monotonic() + args.timeout

    def left():
        return max(1.0, deadline - time.monotonic())

    with grpc.insecure_channel(args.address) as channel:
        registry_client = registry_grpc.RegistryServiceStub(channel)
        trainer_client = trainer_grpc.TrainerServiceStub(channel)
        inference = oip_grpc.GRPCInferenceServiceStub(channel)

        # 1. Train, then watch the job until it ends: one message per state change or epoch report.
        spec = trainer.TrainingSpec(model_name=args.model, dataset_name=args.dataset, feature_columns=args.features,
                                    label_column=args.label, architecture="linear_regression", optimizer="sgd",
                                    loss="mse", epochs=args.epochs, learning_rate=args.learning_rate, seed=42)
        job_id = trainer_client.SubmitJob(trainer.SubmitJobRequest(spec=spec), metadata=auth, timeout=30).job_id
        emit("submitted", job_id=job_id)
        job = None
        for update in trainer_client.WatchJob(trainer.WatchJobRequest(job_id=job_id), metadata=auth, timeout=left()):
            job = update.job
            progress = {"epoch": job.progress.epoch, "epochs": job.progress.epochs, "train_loss": job.progress.train_loss} \
                if job.HasField("progress") else {}
            emit("progress", job_id=job_id, state=trainer.JobState.Name(job.state), epochs_done=job.epochs_done, **progress)
        if job is None:
            sys.exit("the job stream ended without a message")
        state = trainer.JobState.Name(job.state)
        emit("job", job_id=job_id, state=state, registered_version=job.registered_version,
             metrics=dict(job.metrics), message=job.message)
        if job.state != trainer.JOB_STATE_SUCCEEDED:
            sys.exit(f"job {job_id} ended {state}: {job.message}")
        version = str(job.registered_version)

        # 2. The registry's models, page by page.
        models, token = [], ""
        while True:
            page = registry_client.ListModels(registry.ListModelsRequest(page_token=token), metadata=auth, timeout=30)
            models += [{"name": m.name, "latest_version": m.latest_version, "aliases": dict(m.aliases)} for m in page.models]
            token = page.next_page_token
            if not token:
                break
        emit("models", models=models)

        # 3. Replicas load a new version within a poll of the registry: wait until one says it is ready.
        while True:
            try:
                if inference.ModelReady(oip.ModelReadyRequest(name=args.model, version=version), metadata=auth, timeout=10).ready:
                    break
            except grpc.RpcError as err:
                if err.code() not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAVAILABLE):
                    raise
            if time.monotonic() > deadline:
                sys.exit(f"{args.model} version {version} was not served within {args.timeout:.0f} s")
            time.sleep(0.3)
        emit("ready", model=args.model, version=version)

        # 4. Inference on that version: the input's name comes from the model's metadata.
        meta = inference.ModelMetadata(oip.ModelMetadataRequest(name=args.model, version=version), metadata=auth, timeout=30)
        tensor = oip.ModelInferRequest.InferInputTensor(
            name=meta.inputs[0].name, datatype="FP32", shape=[len(args.x) // len(args.features), len(args.features)],
            contents=oip.InferTensorContents(fp32_contents=args.x))
        reply = inference.ModelInfer(oip.ModelInferRequest(model_name=args.model, model_version=version, id="python-client",
                                                           inputs=[tensor]), metadata=auth, timeout=30)
        if reply.raw_output_contents:
            raw = reply.raw_output_contents[0]
            outputs = list(struct.unpack(f"<{len(raw) // 4}f", raw))
        else:
            outputs = list(reply.outputs[0].contents.fp32_contents)
        emit("infer", model=reply.model_name, model_version=reply.model_version, inputs=args.x, outputs=outputs)


if __name__ == "__main__":
    # Debian's protobuf runtime and grpc_tools' generated code agree on the pure-Python implementation.
    os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")
    import grpc
    try:
        main()
    except grpc.RpcError as failed:  # a server's answer is one clear line, not a stack trace
        sys.exit(f"{failed.code().name}: {failed.details()}")
