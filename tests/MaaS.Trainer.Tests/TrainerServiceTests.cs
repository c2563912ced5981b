using Grpc.Core;
using MaaS.Contracts;
using MaaS.Trainer.Onnx;
using MaaS.Trainer.Tests.Support;
using MaaS.Trainer.V1;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace MaaS.Trainer.Tests;

public sealed class TrainerServiceTests(TrainerFactory factory) : IClassFixture<TrainerFactory>
{
    private readonly TrainerService.TrainerServiceClient client = factory.Client();

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(100_001)]
    public async Task SubmitJob_EpochsOutOfRange_InvalidArgumentNamingEpochs(int epochs)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Submit(TestData.Spec(epochs: epochs)));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("spec.epochs", ex.Status.Detail);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.1)]
    [InlineData(10.5)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public async Task SubmitJob_BadLearningRate_InvalidArgumentNamingLearningRate(double learningRate)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Submit(TestData.Spec(learningRate: learningRate)));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("spec.learning_rate", ex.Status.Detail);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Upper")]
    [InlineData("-leading-dash")]
    [InlineData("has space")]
    [InlineData("a..b")]
    [InlineData("a123456789012345678901234567890123456789012345678901234567890123")] // 64: one more than the registry takes
    public async Task SubmitJob_BadModelName_InvalidArgumentNamingModelName(string name)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Submit(TestData.Spec(model: name)));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("spec.model_name", ex.Status.Detail);
    }

    [Fact]
    public async Task SubmitJob_UnknownArchitectureAndNoLabel_InvalidArgumentNamingBoth()
    {
        var spec = TestData.Spec();
        spec.Architecture = "transformer";
        spec.LabelColumn = "";

        var ex = await Assert.ThrowsAsync<RpcException>(() => Submit(spec));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("spec.architecture", ex.Status.Detail);
        Assert.Contains("spec.label_column", ex.Status.Detail);
    }

    [Fact]
    public async Task SubmitJob_UnknownDataset_NotFound()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => Submit(TestData.Spec(dataset: "no-such-data")));

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Contains("no-such-data", ex.Status.Detail);
    }

    [Fact]
    public async Task SubmitJob_UnknownWarmStartVersion_NotFound()
    {
        factory.Registry.AddDataset("warm-missing-data", TestData.Line(2, 1));
        var spec = TestData.Spec(model: "warm-missing", dataset: "warm-missing-data");
        spec.WarmStartVersion = 7;

        var ex = await Assert.ThrowsAsync<RpcException>(() => Submit(spec));

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Contains("warm_start_version", ex.Status.Detail);
    }

    [Fact]
    public async Task GetJob_UnknownId_NotFound()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => client.GetJobAsync(new GetJobRequest { JobId = "job-unknown" }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
    }

    [Fact]
    public async Task WatchJob_UnknownId_NotFound()
    {
        using var call = client.WatchJob(new WatchJobRequest { JobId = "job-unknown" });

        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
    }

    [Fact]
    public async Task SubmitJob_ValidSpec_TrainsRegistersAndPublishes()
    {
        var dataset = factory.Registry.AddDataset("line-2x1", TestData.Line(2, 1));

        var jobId = await Submit(TestData.Spec(model: "line-a", dataset: "line-2x1"), correlationId: "corr-a");
        var states = await WatchToEnd(jobId);

        var job = states[^1];
        Assert.Equal(JobState.Succeeded, job.State);
        Assert.Equal(1, job.RegisteredVersion);
        Assert.Equal(1000, job.EpochsDone);
        Assert.Equal("corr-a", job.CorrelationId);
        Assert.Equal(states.Select(s => s.State).Order(), states.Select(s => s.State)); // never goes back
        Assert.InRange(job.Metrics["export_max_abs_diff"], 0, 1e-5);

        var (version, artifact) = factory.Registry.Version("line-a", 1)!.Value;
        Assert.Equal(RegistryDigest(artifact), version.ArtifactDigest);
        Assert.Equal([-1L, 1L], Assert.Single(version.Inputs).Shape);
        Assert.Equal("input", version.Inputs[0].Name);
        Assert.Equal([-1L, 1L], Assert.Single(version.Outputs).Shape);
        Assert.Equal("x", version.Hyperparameters["feature_columns"]);
        Assert.Equal("0.1", version.Hyperparameters["learning_rate"]);
        Assert.Equal("trainer", version.CreatedBy);
        Assert.Equal(dataset.Digest, version.Lineage.DatasetDigest);
        Assert.Equal(jobId, version.Lineage.TrainingJobId);
        Assert.Equal(0, version.Lineage.ParentVersion);
        Assert.InRange(LinearOnnxReader.Read(artifact).Weight[0], 1.95f, 2.05f);

        var harness = factory.Services.GetTestHarness();
        Assert.True(await harness.Published.Any<ModelTrained>(m =>
            m.Context.Message.JobId == jobId && m.Context.Message.Version == 1 && m.Context.Message.CorrelationId == "corr-a"
            && m.Context.Message.ArtifactDigest == version.ArtifactDigest));
        Assert.True(await harness.Published.Any<TrainingJobStateChanged>(m => m.Context.Message.JobId == jobId && m.Context.Message.State == "Succeeded"));
    }

    [Fact]
    public async Task SubmitJob_WarmStart_RecordsParentVersionAndMovesTowardNewData()
    {
        factory.Registry.AddDataset("warm-data", TestData.Line(2, 1));
        var first = await WatchToEnd(await Submit(TestData.Spec(model: "line-warm", dataset: "warm-data")));
        Assert.Equal(JobState.Succeeded, first[^1].State);
        factory.Registry.AddDataset("warm-data", TestData.Line(3, 1, seed: 3));
        var spec = TestData.Spec(model: "line-warm", dataset: "warm-data");
        spec.WarmStartVersion = 1;

        var job = (await WatchToEnd(await Submit(spec)))[^1];

        Assert.Equal(JobState.Succeeded, job.State);
        var (version, artifact) = factory.Registry.Version("line-warm", job.RegisteredVersion)!.Value;
        Assert.Equal(1, version.Lineage.ParentVersion);
        Assert.Equal(2, version.Lineage.DatasetVersion);
        Assert.InRange(LinearOnnxReader.Read(artifact).Weight[0], 2.95f, 3.05f);
    }

    [Fact]
    public async Task Job_LabelNotInDataset_FailsNamingTheColumn()
    {
        factory.Registry.AddDataset("no-label", "a,b\n1,2\n3,4\n");

        var job = (await WatchToEnd(await Submit(TestData.Spec(model: "no-label", dataset: "no-label"))))[^1];

        Assert.Equal(JobState.Failed, job.State);
        Assert.Contains("'y'", job.Message);
        Assert.Equal(0, job.RegisteredVersion);
    }

    [Fact]
    public async Task Job_DatasetNotNumeric_FailsWithTheParseSentence()
    {
        factory.Registry.AddDataset("not-numeric", "x,y\n1,2\n3,abc\n");

        var job = (await WatchToEnd(await Submit(TestData.Spec(model: "not-numeric", dataset: "not-numeric"))))[^1];

        Assert.Equal(JobState.Failed, job.State);
        Assert.Contains("'abc' is not a number", job.Message);
    }

    [Fact]
    public async Task Job_ParquetDataset_SameWeightsAsFromTheEquivalentCsv()
    {
        var table = TestData.Line(2, 1);
        factory.Registry.AddDataset("twin-csv", table);
        var parquet = await factory.Registry.AddParquetDatasetAsync("twin-parquet", table);
        Assert.Equal("parquet", parquet.Format);
        var fromCsvSpec = TestData.Spec(model: "twin-from-csv", dataset: "twin-csv", epochs: 200);
        var fromParquetSpec = TestData.Spec(model: "twin-from-parquet", dataset: "twin-parquet", epochs: 200);
        fromCsvSpec.Seed = fromParquetSpec.Seed = 11;

        var fromCsv = (await WatchToEnd(await Submit(fromCsvSpec)))[^1];
        var fromParquet = (await WatchToEnd(await Submit(fromParquetSpec)))[^1];

        Assert.Equal((JobState.Succeeded, JobState.Succeeded), (fromCsv.State, fromParquet.State));
        var csvWeights = LinearOnnxReader.Read(factory.Registry.Version("twin-from-csv", 1)!.Value.Artifact);
        var parquetWeights = LinearOnnxReader.Read(factory.Registry.Version("twin-from-parquet", 1)!.Value.Artifact);
        Assert.Equal(csvWeights.Weight, parquetWeights.Weight);
        Assert.Equal(csvWeights.Bias, parquetWeights.Bias);
        Assert.Equal(parquet.Digest, factory.Registry.Version("twin-from-parquet", 1)!.Value.Version.Lineage.DatasetDigest);
    }

    [Fact]
    public async Task Job_ParquetDatasetWithTextColumn_FailsNamingTheColumn()
    {
        var x = new Parquet.Schema.DataField<double>("x");
        var y = new Parquet.Schema.DataField<string>("y");
        using var output = new MemoryStream();
        await using (var writer = await Parquet.ParquetWriter.CreateAsync(new Parquet.Schema.ParquetSchema(x, y), output))
        {
            using var group = writer.CreateRowGroup();
            await group.WriteAsync<double>(x, new[] { 1.0, 2.0 });
            await group.WriteAsync(y, new[] { "low", "high" });
        }
        factory.Registry.AddDataset("text-label", output.ToArray(), "parquet");

        var job = (await WatchToEnd(await Submit(TestData.Spec(model: "text-label", dataset: "text-label"))))[^1];

        Assert.Equal(JobState.Failed, job.State);
        Assert.Contains("(Parquet) cannot be read: Parquet column 'y' holds text values, not numbers", job.Message);
    }

    [Fact]
    public async Task SubmitJob_ColumnNotInTheRegistrySchema_InvalidArgumentNamingTheColumn()
    {
        await factory.Registry.AddParquetDatasetAsync("schema-data", TestData.Line(2, 1));
        var badLabel = TestData.Spec(model: "schema", dataset: "schema-data");
        badLabel.LabelColumn = "price";
        var badFeature = TestData.Spec(model: "schema", dataset: "schema-data");
        badFeature.FeatureColumns.Add("size");

        var label = await Assert.ThrowsAsync<RpcException>(() => Submit(badLabel));
        var feature = await Assert.ThrowsAsync<RpcException>(() => Submit(badFeature));

        Assert.Equal((StatusCode.InvalidArgument, StatusCode.InvalidArgument), (label.StatusCode, feature.StatusCode));
        Assert.Contains("spec.label_column: column 'price' is not in version 1 of dataset 'schema-data' (columns: x, y)", label.Status.Detail);
        Assert.Contains("spec.feature_columns: column 'size' is not in version 1", feature.Status.Detail);
    }

    [Fact]
    public async Task Job_RegistryRefusesTheVersion_FailsWithTheRegistrySentence()
    {
        var registry = new TrainerFactory();
        await using var _ = registry;
        registry.Registry.AddDataset("refused-data", TestData.Line(2, 1));
        registry.Registry.RefuseRegistrations = "The model store is read-only today.";
        var refusingClient = registry.Client();

        var id = (await refusingClient.SubmitJobAsync(new SubmitJobRequest { Spec = TestData.Spec(model: "refused", dataset: "refused-data") })).JobId;
        var job = (await WatchToEnd(id, refusingClient))[^1];

        Assert.Equal(JobState.Failed, job.State);
        Assert.Contains("The model store is read-only today.", job.Message);
    }

    [Fact]
    public async Task TrainModelCommand_BadSpec_FailedJobWithReasonAndEvent()
    {
        var harness = factory.Services.GetTestHarness();

        await harness.Bus.Publish(new TrainModel { JobId = "cmd-bad", ModelName = "cmd", DatasetName = "d", LabelColumn = "y", Epochs = 0, LearningRate = 0.1 });

        Assert.True(await harness.Published.Any<TrainingJobStateChanged>(m => m.Context.Message.JobId == "cmd-bad" && m.Context.Message.State == "Failed"));
        var job = (await client.GetJobAsync(new GetJobRequest { JobId = "cmd-bad" })).Job;
        Assert.Equal(JobState.Failed, job.State);
        Assert.Contains("spec.epochs", job.Message);
        Assert.True(await harness.Consumed.Any<TrainModel>(m => m.Context.Message.JobId == "cmd-bad"));
        Assert.False(await harness.Published.Any<Fault<TrainModel>>(new CancellationToken(canceled: true)));
    }

    [Fact]
    public async Task TrainModelCommand_ValidSpec_TrainsWithTheCommandsIds()
    {
        var harness = factory.Services.GetTestHarness();
        factory.Registry.AddDataset("cmd-data", TestData.Line(2, 1));

        await harness.Bus.Publish(new TrainModel
        {
            JobId = "cmd-good",
            ModelName = "cmd-model",
            DatasetName = "cmd-data",
            LabelColumn = "y",
            Epochs = 500,
            LearningRate = 0.1,
            CorrelationId = "corr-cmd",
        });

        Assert.True(await harness.Consumed.Any<TrainModel>(m => m.Context.Message.JobId == "cmd-good"));
        var job = (await WatchToEnd("cmd-good"))[^1];
        Assert.Equal(JobState.Succeeded, job.State);
        Assert.Equal("corr-cmd", job.CorrelationId);
        Assert.Equal("linear_regression", job.Spec.Architecture);
        Assert.True(await harness.Published.Any<ModelTrained>(m => m.Context.Message.JobId == "cmd-good" && m.Context.Message.CorrelationId == "corr-cmd"));
    }

    [Fact]
    public async Task TrainModelCommand_MlpFields_JobCarriesThemIntoItsSpec()
    {
        var harness = factory.Services.GetTestHarness();
        factory.Registry.AddDataset("cmd-mlp-data", TestData.Line(2, 1));

        await harness.Bus.Publish(new TrainModel
        {
            JobId = "cmd-mlp",
            ModelName = "cmd-mlp-model",
            DatasetName = "cmd-mlp-data",
            LabelColumn = "y",
            Architecture = "mlp",
            HiddenSizes = [8, 4],
            Activation = "tanh",
            Optimizer = "adam",
            BatchSize = 16,
            Epochs = 20,
            LearningRate = 0.01,
        });

        Assert.True(await harness.Consumed.Any<TrainModel>(m => m.Context.Message.JobId == "cmd-mlp"));
        var job = (await WatchToEnd("cmd-mlp"))[^1];
        Assert.Equal(JobState.Succeeded, job.State);
        Assert.Equal([8, 4], job.Spec.HiddenSizes);
        Assert.Equal(("tanh", "adam", 16), (job.Spec.Activation, job.Spec.Optimizer, job.Spec.BatchSize));
    }

    [Theory]
    [InlineData("hidden_sizes")]
    [InlineData("loss")]
    [InlineData("validation_split")]
    public async Task SubmitJob_BadNewField_InvalidArgumentNamingIt(string field)
    {
        var spec = TestData.Spec();
        switch (field)
        {
            case "hidden_sizes": spec.Architecture = "mlp"; break;
            case "loss": spec.Loss = "cross_entropy"; break;
            default: spec.ValidationSplit = 0.9; break;
        }

        var ex = await Assert.ThrowsAsync<RpcException>(() => Submit(spec));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("spec." + field, ex.Status.Detail);
    }

    [Fact]
    public async Task SubmitJob_DeviceCuda_FailedPreconditionSayingWhy()
    {
        var spec = TestData.Spec();
        spec.Device = "cuda";

        var ex = await Assert.ThrowsAsync<RpcException>(() => Submit(spec));

        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Contains("libtorch-cpu", ex.Status.Detail);
    }

    [Fact]
    public async Task SubmitJob_BatchLargerThanTheDataset_InvalidArgumentNamingBatchSize()
    {
        factory.Registry.AddDataset("small-data", TestData.Line(2, 1, rows: 10));
        var spec = TestData.Spec(model: "small", dataset: "small-data");
        spec.BatchSize = 11;

        var ex = await Assert.ThrowsAsync<RpcException>(() => Submit(spec));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("spec.batch_size", ex.Status.Detail);
    }

    [Fact]
    public async Task SubmitJob_MlpClassifier_RegistersLabelOutputClassesAndWarmStartsFromIt()
    {
        factory.Registry.AddDataset("moons", MaaS.MarketModels.SyntheticData.TwoMoons(rows: 200, noise: 0.15, seed: 1));
        var spec = TestData.Classifier("binary_classification", "mlp", 40, 8);
        spec.ModelName = "moons-mlp";
        spec.DatasetName = "moons";
        spec.ClassNames.Add(["upper", "lower"]);

        var job = (await WatchToEnd(await Submit(spec)))[^1];

        Assert.Equal(JobState.Succeeded, job.State);
        Assert.InRange(job.Metrics["val_accuracy"], 0.8, 1);
        var (version, artifact) = factory.Registry.Version("moons-mlp", 1)!.Value;
        Assert.Equal(["output", "label"], version.Outputs.Select(o => o.Name));
        Assert.Equal(("FP32", "INT64"), (version.Outputs[0].Datatype, version.Outputs[1].Datatype));
        Assert.Equal("upper,lower", version.Hyperparameters["classes"]);
        Assert.Equal("8", version.Hyperparameters["hidden_sizes"]);
        Assert.Equal("true", version.Hyperparameters["standardize"]);
        Assert.Equal(["Sub", "Div"], global::Onnx.ModelProto.Parser.ParseFrom(artifact).Graph.Node.Take(2).Select(n => n.OpType));

        spec.WarmStartVersion = 1;
        var warm = (await WatchToEnd(await Submit(spec)))[^1];

        Assert.Equal(JobState.Succeeded, warm.State);
        Assert.Equal(1, factory.Registry.Version("moons-mlp", 2)!.Value.Version.Lineage.ParentVersion);
    }

    private async Task<string> Submit(TrainingSpec spec, string correlationId = "") =>
        (await client.SubmitJobAsync(new SubmitJobRequest { Spec = spec, CorrelationId = correlationId })).JobId;

    private Task<List<Job>> WatchToEnd(string jobId) => WatchToEnd(jobId, client);

    private static async Task<List<Job>> WatchToEnd(string jobId, TrainerService.TrainerServiceClient client)
    {
        // The stream ends by itself when the job ends; the deadline only keeps a broken trainer from hanging the run.
        using var call = client.WatchJob(new WatchJobRequest { JobId = jobId }, deadline: DateTime.UtcNow.AddMinutes(2));
        var states = new List<Job>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None)) states.Add(call.ResponseStream.Current.Job);
        return states;
    }

    private static string RegistryDigest(byte[] bytes) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
}
