using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Inference;
using MaaS.Inference.Runtime;
using ModelStatistics = MaaS.Inference.Runtime.ModelStatistics;

namespace MaaS.Inference.Tests;

/// <summary>Triton statistics (gRPC and REST), Prometheus metrics on the metrics port, and cancelled calls.</summary>
public sealed class ModelStatisticsTests : IAsyncLifetime
{
    private const string MetricsPort = "17401";
    private readonly InferenceHost host = new(settings: new Dictionary<string, string> { ["Mesh:MetricsPort"] = MetricsPort });

    public async Task InitializeAsync() => await host.LoadAsync("counted", 1, TestModels.Linear());

    public async Task DisposeAsync() => await host.DisposeAsync();

    [Fact]
    public async Task ModelStatistics_RequestsOfTwoBatchSizesAndOneInvalid_TritonCounts()
    {
        await host.Client.ModelInferAsync(InferenceHost.LinearRequest("counted", "1", 1f, 2f, 3f));
        await host.Client.ModelInferAsync(InferenceHost.LinearRequest("counted", "1", 4f, 5f, 6f));
        await host.Client.ModelInferAsync(InferenceHost.LinearRequest("counted", "1", 7f));
        var invalid = InferenceHost.LinearRequest("counted", "1", 1f);
        invalid.Inputs[0].Datatype = "INT32";
        await Assert.ThrowsAsync<RpcException>(async () => await host.Client.ModelInferAsync(invalid));

        var response = await host.Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "counted", Version = "1" });

        var stats = Assert.Single(response.ModelStats);
        Assert.Equal(("counted", "1"), (stats.Name, stats.Version));
        Assert.Equal(7UL, stats.InferenceCount);
        Assert.Equal(3UL, stats.ExecutionCount);
        Assert.Equal(3UL, stats.InferenceStats.Success.Count);
        Assert.True(stats.InferenceStats.Success.Ns > 0);
        Assert.Equal(1UL, stats.InferenceStats.Fail.Count);
        Assert.Equal(3UL, stats.InferenceStats.Queue.Count);
        Assert.Equal(3UL, stats.InferenceStats.ComputeInfer.Count);
        Assert.True(stats.InferenceStats.ComputeInfer.Ns > 0);
        Assert.Equal([(1UL, 1UL), (3UL, 2UL)], stats.BatchStats.Select(b => (b.BatchSize, b.ComputeInfer.Count)));
        Assert.True(stats.LastInference >= (ulong)DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds());
        var memory = Assert.Single(stats.MemoryUsage);
        Assert.Equal("CPU", memory.Type);
        Assert.True(memory.ByteSize > 0);
    }

    [Fact]
    public async Task ModelStatistics_EmptyNameAndUnknowns_AllOrStatusWithSentence()
    {
        await host.LoadAsync("other", 1, TestModels.Linear());

        var all = await host.Client.ModelStatisticsAsync(new ModelStatisticsRequest());
        var unknownModel = await Assert.ThrowsAsync<RpcException>(async () =>
            await host.Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "ghost" }));
        var unknownVersion = await Assert.ThrowsAsync<RpcException>(async () =>
            await host.Client.ModelStatisticsAsync(new ModelStatisticsRequest { Name = "counted", Version = "9" }));
        var versionOnly = await Assert.ThrowsAsync<RpcException>(async () =>
            await host.Client.ModelStatisticsAsync(new ModelStatisticsRequest { Version = "1" }));

        Assert.Equal(["counted/1", "other/1"], all.ModelStats.Select(s => $"{s.Name}/{s.Version}").Order());
        Assert.Equal((StatusCode.NotFound, true), (unknownModel.StatusCode, unknownModel.Status.Detail.Contains("'ghost'")));
        Assert.Equal((StatusCode.NotFound, true), (unknownVersion.StatusCode, unknownVersion.Status.Detail.Contains("version 9")));
        Assert.Equal(StatusCode.InvalidArgument, versionOnly.StatusCode);
    }

    [Fact]
    public async Task Statistics_Rest_TritonJsonShape()
    {
        await host.Client.ModelInferAsync(InferenceHost.LinearRequest("counted", "1", 1f, 2f));

        using var one = JsonDocument.Parse(await host.Http.GetStringAsync("/v2/models/counted/versions/1/stats"));
        using var all = JsonDocument.Parse(await host.Http.GetStringAsync("/v2/models/stats"));
        var missing = await host.Http.GetAsync("/v2/models/ghost/stats");

        var stats = Assert.Single(one.RootElement.GetProperty("model_stats").EnumerateArray());
        Assert.Equal("1", stats.GetProperty("version").GetString());
        Assert.Equal(2, stats.GetProperty("inference_count").GetInt64());
        Assert.Equal(1, stats.GetProperty("inference_stats").GetProperty("success").GetProperty("count").GetInt64());
        Assert.True(stats.GetProperty("inference_stats").GetProperty("compute_infer").GetProperty("ns").GetInt64() > 0);
        Assert.Equal(2, stats.GetProperty("batch_stats")[0].GetProperty("batch_size").GetInt64());
        Assert.Equal("CPU", stats.GetProperty("memory_usage")[0].GetProperty("type").GetString());
        Assert.Contains("counted", all.RootElement.GetProperty("model_stats").EnumerateArray().Select(s => s.GetProperty("name").GetString()));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task InferAsync_CallAlreadyCancelled_ModelDoesNotRunAndFailureCounted()
    {
        var engine = host.Get<InferenceEngine>();
        var before = StatsOf("counted");
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        var input = new InferInput("input", "FP32", [1L, 1L], new ZeroInput());

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            engine.InferAsync(new InferRequest("counted", "1", null, "gone", [input], []), cancelled.Token));

        var after = StatsOf("counted");
        Assert.Equal(before.ExecutionCount, after.ExecutionCount);
        Assert.Equal(before.Fail.Count + 1, after.Fail.Count);
    }

    [Fact]
    public void RecordBatchExecution_BatchOfThreeRequests_EachRequestCountedWithTheBatchTimes()
    {
        var statistics = new ModelStatistics("unit", 1, "CPUExecutionProvider", 100);

        statistics.RecordQueue(10);
        statistics.RecordQueue(30);
        statistics.RecordQueue(20);
        statistics.RecordBatchExecution(batchSize: 12, requests: 3, inputNs: 5, inferNs: 100, outputNs: 7);
        statistics.RecordExecution(batchSize: 2, queueNs: 4, inputNs: 1, inferNs: 10, outputNs: 1);

        var s = statistics.Snapshot();
        Assert.Equal((14UL, 2UL), (s.InferenceCount, s.ExecutionCount));
        Assert.Equal(new DurationTotal(4, 64), s.Queue);
        Assert.Equal(new DurationTotal(4, 310), s.ComputeInfer);
        Assert.Equal([2, 12], s.Batches.Select(b => b.BatchSize));
        Assert.Equal(new DurationTotal(1, 100), s.Batches[1].ComputeInfer);
    }

    [Fact]
    public async Task Metrics_AfterRequests_CountersMoveOnTheMetricsPortOnly()
    {
        using var metrics = host.CreateHttpClient(new Uri($"http://localhost:{MetricsPort}"));
        var before = Parse(await metrics.GetStringAsync("/metrics"));

        await host.Client.ModelInferAsync(InferenceHost.LinearRequest("counted", "1", 1f, 2f));
        await Assert.ThrowsAsync<RpcException>(async () => await host.Client.ModelInferAsync(InferenceHost.LinearRequest("nobody-serves-this", "", 1f)));
        var after = Parse(await metrics.GetStringAsync("/metrics"));
        var onMainPort = await host.Http.GetAsync("/metrics");

        const string labels = "model=\"counted\",version=\"1\"";
        Assert.Equal(Value(before, $"maas_inference_requests_total{{{labels},outcome=\"success\",reason=\"ok\"}}") + 1,
            Value(after, $"maas_inference_requests_total{{{labels},outcome=\"success\",reason=\"ok\"}}"));
        Assert.Equal(Value(before, $"maas_inference_rows_total{{{labels}}}") + 2, Value(after, $"maas_inference_rows_total{{{labels}}}"));
        Assert.Equal(Value(before, $"maas_inference_executions_total{{{labels}}}") + 1, Value(after, $"maas_inference_executions_total{{{labels}}}"));
        Assert.Equal(Value(before, $"maas_inference_compute_seconds_count{{{labels}}}") + 1, Value(after, $"maas_inference_compute_seconds_count{{{labels}}}"));
        Assert.Equal(Value(before, $"maas_inference_queue_seconds_count{{{labels}}}") + 1, Value(after, $"maas_inference_queue_seconds_count{{{labels}}}"));
        Assert.Equal(0, Value(after, $"maas_inference_pending_requests{{{labels}}}"));
        Assert.Equal(1, Value(after, $"maas_inference_loaded_versions{{{labels}}}"));
        const string unknown = "maas_inference_requests_total{model=\"_unknown\",version=\"\",outcome=\"failure\",reason=\"not_found\"}";
        Assert.True(Value(after, unknown) >= Value(before, unknown) + 1);
        Assert.Equal(HttpStatusCode.NotFound, onMainPort.StatusCode);
    }

    private StatisticsSnapshot StatsOf(string model) => host.Repository.Statistics(model, "1")[0];

    private static Dictionary<string, double> Parse(string text) => text.Split('\n')
        .Where(line => line.StartsWith("maas_inference_", StringComparison.Ordinal))
        .Select(line => (Key: line[..line.LastIndexOf(' ')], Value: double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture)))
        .ToDictionary(p => p.Key, p => p.Value);

    private static double Value(Dictionary<string, double> metrics, string series) => metrics.GetValueOrDefault(series);

    /// <summary>Zeros of any fixed-size type: the values do not matter to a call that must not run.</summary>
    private sealed class ZeroInput : InputData
    {
        public override string? Check(TensorCheck tensor) => null;

        public override void CopyTo(TensorType type, Span<byte> destination) => destination.Clear();

        public override void CopyStringsTo(Microsoft.ML.OnnxRuntime.OrtValue tensor, int firstElement)
        {
        }
    }
}
