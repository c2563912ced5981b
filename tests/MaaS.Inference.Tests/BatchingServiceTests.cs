using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Inference;
using MaaS.Inference.Runtime;

namespace MaaS.Inference.Tests;

/// <summary>
/// Dynamic batching through the gRPC service: models configured with Inference:Models:&lt;name&gt;:MaxBatchSize etc.,
/// concurrent calls merged into shared runs and answered exactly, statistics that show it, and calls that give up
/// while queued leaving without running.
/// </summary>
public sealed class BatchingServiceTests : IAsyncLifetime
{
    private readonly InferenceHost host = new(settings: new Dictionary<string, string>
    {
        ["Inference:Models:batched:MaxBatchSize"] = "8",
        ["Inference:Models:batched:MaxQueueDelayMicroseconds"] = "100000",
        ["Inference:Models:batched:MaxQueueSize"] = "256",
        ["Inference:Models:kitchen:MaxBatchSize"] = "16",
        ["Inference:Models:kitchen:MaxQueueDelayMicroseconds"] = "100000",
        // Ten seconds: a lone request stays queued long enough to be cancelled there.
        ["Inference:Models:held:MaxBatchSize"] = "8",
        ["Inference:Models:held:MaxQueueDelayMicroseconds"] = "10000000",
        ["Inference:Models:strings:MaxBatchSize"] = "8",
    });

    public async Task InitializeAsync()
    {
        await host.LoadAsync("batched", 1, TestModels.Linear());
        await host.LoadAsync("kitchen", 1, TestModels.Kitchen());
        await host.LoadAsync("held", 1, TestModels.Linear());
        await host.LoadAsync("strings", 1, TestModels.Strings());
    }

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Fact]
    public async Task ModelInfer_32ConcurrentRequests_EachGetsItsOwnAnswerAndStatisticsShowSharedRuns()
    {
        var calls = Enumerable.Range(0, 32).Select(i => Task.Run(async () =>
        {
            var x = i * 10f + 0.5f;
            if (i % 2 == 0)
            {
                return (x, await host.Client.ModelInferAsync(InferenceHost.LinearRequest("batched", "1", x)));
            }
            var raw = new ModelInferRequest { ModelName = "batched", ModelVersion = "1", Id = $"raw-{i}" };
            raw.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32", Shape = { 1, 1 } });
            raw.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes<float>([x])));
            return (x, await host.Client.ModelInferAsync(raw));
        })).ToList();

        var answers = await Task.WhenAll(calls);

        foreach (var (x, response) in answers)
        {
            var y = response.RawOutputContents.Count > 0
                ? MemoryMarshal.Cast<byte, float>(response.RawOutputContents[0].Span)[0]
                : response.Outputs[0].Contents.Fp32Contents.Single();
            Assert.Equal(2 * x + 1, y);
            Assert.Equal([1L, 1L], response.Outputs[0].Shape);
            Assert.Equal("1", response.ModelVersion);
        }
        var stats = Assert.Single((await host.Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "batched", Version = "1" })).ModelStats);
        Assert.Equal(32UL, stats.InferenceCount);
        Assert.True(stats.ExecutionCount < stats.InferenceCount, $"{stats.ExecutionCount} executions for {stats.InferenceCount} inferences");
        Assert.Contains(stats.BatchStats, b => b.BatchSize > 1);
        Assert.Equal(32UL, stats.BatchStats.Aggregate(0UL, (sum, b) => sum + b.BatchSize * b.ComputeInfer.Count));
        Assert.Equal(32UL, stats.InferenceStats.Success.Count);
        Assert.Equal(32UL, stats.InferenceStats.Queue.Count);
    }

    [Fact]
    public async Task ModelInfer_ConcurrentRequestsOfSeveralInputsAndRows_EachGetsExactlyItsOwnRows()
    {
        var calls = Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            var rows = 1 + i % 3;
            var ids = Enumerable.Range(0, rows * 2).Select(j => (long)(i * 100 + j)).ToArray();
            var values = ids.Select(v => v / 4.0).ToArray();
            var counts = Enumerable.Range(0, rows).Select(j => i * 1000 + j).ToArray();
            var flags = Enumerable.Range(0, rows).Select(j => (byte)((i + j) % 2)).ToArray();
            var request = new ModelInferRequest { ModelName = "kitchen" };
            request.Inputs.Add(Input("ids", "INT64", rows, 2));
            request.Inputs.Add(Input("values", "FP64", rows, 2));
            request.Inputs.Add(Input("counts", "INT32", rows));
            request.Inputs.Add(Input("flags", "BOOL", rows));
            request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes<long>(ids)));
            request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes<double>(values)));
            request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes<int>(counts)));
            request.RawInputContents.Add(ByteString.CopyFrom(flags));
            var response = await host.Client.ModelInferAsync(request);
            return (ids, values, counts, flags, response);
        })).ToList();

        foreach (var (ids, values, counts, flags, response) in await Task.WhenAll(calls))
        {
            Assert.Equal(ids.Select(v => v + 1), MemoryMarshal.Cast<byte, long>(response.RawOutputContents[0].Span).ToArray());
            Assert.Equal(values.Select(v => v + v), MemoryMarshal.Cast<byte, double>(response.RawOutputContents[1].Span).ToArray());
            Assert.Equal(counts, MemoryMarshal.Cast<byte, int>(response.RawOutputContents[2].Span).ToArray());
            Assert.Equal(flags.Select(f => (byte)(1 - f)), response.RawOutputContents[3].ToByteArray());
            Assert.Equal([counts.Length, 2L], response.Outputs[0].Shape);
        }
        var stats = Assert.Single((await host.Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "kitchen" })).ModelStats);
        Assert.True(stats.ExecutionCount < 16, $"{stats.ExecutionCount} executions for 16 requests");
    }

    [Fact]
    public async Task ModelInfer_CancelledOrPastDeadlineWhileQueued_NeverRuns()
    {
        using var cancel = new CancellationTokenSource();
        var cancelled = host.Client.ModelInferAsync(InferenceHost.LinearRequest("held", "1", 1f), cancellationToken: cancel.Token).ResponseAsync;
        await QueuedAsync("held", 1);
        await cancel.CancelAsync();
        var cancelledError = await Assert.ThrowsAsync<RpcException>(() => cancelled);
        await QueuedAsync("held", 0);

        var late = host.Client.ModelInferAsync(InferenceHost.LinearRequest("held", "1", 2f), deadline: DateTime.UtcNow.AddMilliseconds(500)).ResponseAsync;
        var lateError = await Assert.ThrowsAsync<RpcException>(() => late);
        await QueuedAsync("held", 0);

        // Eight rows fill a batch: they run at once, without waiting for the ten-second delay.
        var full = await host.Client.ModelInferAsync(InferenceHost.LinearRequest("held", "1", 1, 2, 3, 4, 5, 6, 7, 8));

        Assert.Equal(StatusCode.Cancelled, cancelledError.StatusCode);
        Assert.Equal(StatusCode.DeadlineExceeded, lateError.StatusCode);
        Assert.Equal([3f, 5, 7, 9, 11, 13, 15, 17], full.Outputs[0].Contents.Fp32Contents);
        var stats = Assert.Single((await host.Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "held", Version = "1" })).ModelStats);
        Assert.Equal((8UL, 1UL), (stats.InferenceCount, stats.ExecutionCount));
        Assert.Equal([8UL], stats.BatchStats.Select(b => b.BatchSize));
    }

    [Fact]
    public async Task RepositoryModelUnload_RequestQueued_StillAnsweredThenTheVersionDrains()
    {
        var loaded = host.Repository.Find("held", 1)!.Loaded!;
        var queued = host.Client.ModelInferAsync(InferenceHost.LinearRequest("held", "1", 4f)).ResponseAsync;
        await QueuedAsync("held", 1);

        await host.Client.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "held" });
        var response = await queued;

        Assert.Equal(9f, response.Outputs[0].Contents.Fp32Contents.Single());
        await loaded.Drained.WaitAsync(TimeSpan.FromSeconds(60));
        await loaded.Batcher.Completion.WaitAsync(TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task ModelMetadata_BatchingConfiguredOnABytesModel_StaysOff()
    {
        var strings = await host.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "strings" });
        var linear = await host.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "batched" });

        Assert.Equal(("off", "0"), (strings.Properties["dynamic_batching"], strings.Properties["max_batch_size"]));
        Assert.Equal(("on", "8"), (linear.Properties["dynamic_batching"], linear.Properties["max_batch_size"]));
    }

    private async Task QueuedAsync(string model, int count)
    {
        await InferenceHost.EventuallyAsync(() =>
        {
            using var lease = host.Repository.Acquire(model, "1", null);
            return Task.FromResult(lease.Model.Batcher.QueueLength == count);
        }, $"{count} requests of '{model}' are queued");
    }

    private static ModelInferRequest.Types.InferInputTensor Input(string name, string datatype, params long[] shape) =>
        new() { Name = name, Datatype = datatype, Shape = { shape } };
}
