using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using MaaS.Registry.V1;
using MaaS.Trainer.V1;
using Onnx;

namespace MaaS.Testing.Mesh;

/// <summary>What the process-level tests and the benchmark tools do to a running mesh, through its gateway.</summary>
public static class MeshCalls
{
    /// <summary>
    /// Trains a linear regression of label "y" on feature "x" of <paramref name="dataset"/> (SGD, MSE, lr 0.1),
    /// watches the job to its end and returns the registered version; a job that does not succeed throws.
    /// </summary>
    public static async Task<Job> TrainLinearAsync(TrainerService.TrainerServiceClient trainer, string model, string datasetName,
        long datasetVersion, int epochs, CancellationToken cancellationToken = default)
    {
        var submitted = await trainer.SubmitJobAsync(new SubmitJobRequest
        {
            Spec = new TrainingSpec
            {
                ModelName = model, DatasetName = datasetName, DatasetVersion = datasetVersion,
                FeatureColumns = { "x" }, LabelColumn = "y", Architecture = "linear_regression",
                Optimizer = "sgd", Loss = "mse", Epochs = epochs, LearningRate = 0.1, Seed = 7,
            },
        }, cancellationToken: cancellationToken);
        using var watch = trainer.WatchJob(new WatchJobRequest { JobId = submitted.JobId }, cancellationToken: cancellationToken);
        Job? last = null;
        await foreach (var update in watch.ResponseStream.ReadAllAsync(cancellationToken)) last = update.Job;
        return last is { State: JobState.Succeeded }
            ? last
            : throw new HarnessException($"training job {submitted.JobId} ended {last?.State}: {last?.Message}");
    }

    /// <summary>
    /// Registers a version of <paramref name="model"/> with <paramref name="like"/>'s signature, metrics and training
    /// record whose graph reshapes its input to a fixed [1, 1]: it serves one row and fails inside ONNX Runtime on two
    /// or more (a broken model, not a bad request).
    /// </summary>
    public static async Task<long> RegisterBrokenAsync(RegistryService.RegistryServiceClient registry, string model, long like, string createdBy)
    {
        var template = (await registry.GetVersionAsync(new GetVersionRequest { ModelName = model, Version = like })).Version;
        var artifact = FailsBeyondOneRow();
        // The same data, but no training job: a job registers once, so the template's job id would return its version.
        var lineage = template.Lineage?.Clone() ?? new Lineage();
        lineage.TrainingJobId = "";
        using var call = registry.RegisterVersion();
        await call.RequestStream.WriteAsync(new RegisterVersionRequest
        {
            Manifest = new VersionManifest
            {
                ModelName = model, ArtifactDigest = Convert.ToHexStringLower(SHA256.HashData(artifact)),
                Inputs = { template.Inputs }, Outputs = { template.Outputs }, Metrics = { template.Metrics },
                Hyperparameters = { template.Hyperparameters }, Lineage = lineage, CreatedBy = createdBy,
            },
        });
        await call.RequestStream.WriteAsync(new RegisterVersionRequest { Chunk = ByteString.CopyFrom(artifact) });
        await call.RequestStream.CompleteAsync();
        return (await call).Version.Version;
    }

    /// <summary>"input" FP32 [batch, 1] → Reshape to a fixed [1, 1] → "output": loads and warms up, fails for two rows or more.</summary>
    public static byte[] FailsBeyondOneRow()
    {
        const int Float = (int)TensorProto.Types.DataType.Float, Int64 = (int)TensorProto.Types.DataType.Int64;
        static ValueInfoProto Value(string name) => new()
        {
            Name = name,
            Type = new TypeProto
            {
                TensorType = new TypeProto.Types.Tensor
                {
                    ElemType = Float,
                    Shape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimParam = "batch" }, new TensorShapeProto.Types.Dimension { DimValue = 1 } } },
                },
            },
        };
        var graph = new GraphProto { Name = "fails-beyond-one-row" };
        graph.Input.Add(Value("input"));
        graph.Output.Add(Value("output"));
        graph.Initializer.Add(new TensorProto { Name = "shape", DataType = Int64, Dims = { 2 }, Int64Data = { 1, 1 } });
        graph.Node.Add(new NodeProto { OpType = "Reshape", Input = { "input", "shape" }, Output = { "output" } });
        return new ModelProto { IrVersion = 8, ProducerName = "maas-tests", Graph = graph, OpsetImport = { new OperatorSetIdProto { Version = 17 } } }.ToByteArray();
    }
}
