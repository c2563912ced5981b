using System.Collections.Concurrent;
using System.Globalization;
using Prometheus;

namespace MaaS.Inference.Runtime;

/// <summary>A count and a total duration (Triton's StatisticDuration).</summary>
public readonly record struct DurationTotal(ulong Count, ulong Ns);

/// <summary>The statistics of one batch size.</summary>
public sealed record BatchStatistics(int BatchSize, DurationTotal ComputeInput, DurationTotal ComputeInfer, DurationTotal ComputeOutput);

/// <summary>A consistent-enough copy of one version's statistics for ModelStatistics (each counter is read once).</summary>
public sealed record StatisticsSnapshot(
    string Model,
    long Version,
    ulong LastInferenceMs,
    ulong InferenceCount,
    ulong ExecutionCount,
    DurationTotal Success,
    DurationTotal Fail,
    DurationTotal Queue,
    DurationTotal ComputeInput,
    DurationTotal ComputeInfer,
    DurationTotal ComputeOutput,
    IReadOnlyList<BatchStatistics> Batches,
    string MemoryType,
    long MemoryBytes);

/// <summary>
/// Statistics of one loaded model version in Triton's terms, and the Prometheus metrics that go with them.
/// Recording is a few interlocked adds: cheap enough for every request and every execution.
/// <list type="bullet">
/// <item>Per request: <see cref="RecordSuccess"/> or <see cref="RecordFailure"/> (end-to-end time), <see cref="RecordQueue"/>.</item>
/// <item>Per execution: <see cref="RecordExecution"/> (one request ran alone) or <see cref="RecordBatchExecution"/> (a batch).</item>
/// </list>
/// </summary>
public sealed class ModelStatistics
{
    private long successCount, successNs, failCount, failNs, queueCount, queueTotalNs;
    private long inputCount, inputTotalNs, inferCount, inferTotalNs, outputCount, outputTotalNs;
    private long inferences, executions, lastInferenceMs;
    private readonly ConcurrentDictionary<int, BatchCounters> batches = new();
    private readonly Counter.Child rows, runs, succeeded;
    private readonly Histogram.Child queued, computed;
    private readonly Gauge.Child pending;

    /// <summary>Statistics of a version that runs on <paramref name="provider"/> and holds about <paramref name="memoryBytes"/> bytes of weights.</summary>
    public ModelStatistics(string model, long version, string provider, long memoryBytes)
    {
        Model = model;
        Version = version;
        MemoryType = provider.StartsWith("CUDA", StringComparison.OrdinalIgnoreCase) ? "GPU" : "CPU";
        MemoryBytes = memoryBytes;
        var v = version.ToString(CultureInfo.InvariantCulture);
        rows = InferenceMetrics.Rows.WithLabels(model, v);
        runs = InferenceMetrics.Executions.WithLabels(model, v);
        succeeded = InferenceMetrics.Requests.WithLabels(model, v, InferenceMetrics.Success, "ok");
        queued = InferenceMetrics.Queue.WithLabels(model, v);
        computed = InferenceMetrics.Compute.WithLabels(model, v);
        pending = InferenceMetrics.Pending.WithLabels(model, v);
    }

    /// <summary>Model name.</summary>
    public string Model { get; }

    /// <summary>Version.</summary>
    public long Version { get; }

    /// <summary>Device the version runs on as Triton names it: CPU or GPU.</summary>
    public string MemoryType { get; }

    /// <summary>Bytes of the model as loaded (its ONNX artifact: weights and graph).</summary>
    public long MemoryBytes { get; }

    /// <summary>A request was accepted by this version (pending gauge up).</summary>
    public void RequestStarted() => pending.Inc();

    /// <summary>A request accepted by this version was answered (pending gauge down).</summary>
    public void RequestFinished() => pending.Dec();

    /// <summary>A request succeeded after <paramref name="ns"/> nanoseconds end to end.</summary>
    public void RecordSuccess(long ns)
    {
        Interlocked.Increment(ref successCount);
        Interlocked.Add(ref successNs, ns);
        Touch();
        succeeded.Inc();
    }

    /// <summary>A request failed after <paramref name="ns"/> nanoseconds; <paramref name="reason"/> is the metric label (invalid_argument, cancelled, …).</summary>
    public void RecordFailure(long ns, string reason = "internal")
    {
        Interlocked.Increment(ref failCount);
        Interlocked.Add(ref failNs, ns);
        Touch();
        InferenceMetrics.Requests.WithLabels(Model, Version.ToString(CultureInfo.InvariantCulture), InferenceMetrics.Failure, reason).Inc();
    }

    /// <summary>One request waited <paramref name="ns"/> nanoseconds before its execution started.</summary>
    public void RecordQueue(long ns)
    {
        Interlocked.Increment(ref queueCount);
        Interlocked.Add(ref queueTotalNs, ns);
        queued.Observe(ns / 1e9);
    }

    /// <summary>
    /// One execution that served one request alone: <paramref name="batchSize"/> rows, after
    /// <paramref name="queueNs"/> in the queue, with its input, run and output times.
    /// </summary>
    public void RecordExecution(int batchSize, long queueNs, long inputNs, long inferNs, long outputNs)
    {
        RecordQueue(queueNs);
        RecordBatchExecution(batchSize, 1, inputNs, inferNs, outputNs);
    }

    /// <summary>
    /// One execution of <paramref name="batchSize"/> rows that served <paramref name="requests"/> requests
    /// (their queue times go to <see cref="RecordQueue"/> one by one). As in Triton, every request of the
    /// batch is counted with the batch's compute times.
    /// </summary>
    public void RecordBatchExecution(int batchSize, int requests, long inputNs, long inferNs, long outputNs)
    {
        Interlocked.Increment(ref executions);
        Interlocked.Add(ref inferences, batchSize);
        Interlocked.Add(ref inputCount, requests);
        Interlocked.Add(ref inputTotalNs, inputNs * requests);
        Interlocked.Add(ref inferCount, requests);
        Interlocked.Add(ref inferTotalNs, inferNs * requests);
        Interlocked.Add(ref outputCount, requests);
        Interlocked.Add(ref outputTotalNs, outputNs * requests);
        batches.GetOrAdd(batchSize, static _ => new BatchCounters()).Add(inputNs, inferNs, outputNs);
        rows.Inc(batchSize);
        runs.Inc();
        computed.Observe((inputNs + inferNs + outputNs) / 1e9);
    }

    /// <summary>The statistics now.</summary>
    public StatisticsSnapshot Snapshot() => new(
        Model,
        Version,
        (ulong)Volatile.Read(ref lastInferenceMs),
        (ulong)Volatile.Read(ref inferences),
        (ulong)Volatile.Read(ref executions),
        Read(ref successCount, ref successNs),
        Read(ref failCount, ref failNs),
        Read(ref queueCount, ref queueTotalNs),
        Read(ref inputCount, ref inputTotalNs),
        Read(ref inferCount, ref inferTotalNs),
        Read(ref outputCount, ref outputTotalNs),
        batches.OrderBy(b => b.Key).Select(b => b.Value.Snapshot(b.Key)).ToList(),
        MemoryType,
        MemoryBytes);

    private void Touch() => Volatile.Write(ref lastInferenceMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    private static DurationTotal Read(ref long count, ref long ns) => new((ulong)Volatile.Read(ref count), (ulong)Volatile.Read(ref ns));

    private sealed class BatchCounters
    {
        private long count, inputNs, inferNs, outputNs;

        public void Add(long input, long infer, long output)
        {
            Interlocked.Increment(ref count);
            Interlocked.Add(ref inputNs, input);
            Interlocked.Add(ref inferNs, infer);
            Interlocked.Add(ref outputNs, output);
        }

        public BatchStatistics Snapshot(int size)
        {
            var c = (ulong)Volatile.Read(ref count);
            return new BatchStatistics(size, new(c, (ulong)Volatile.Read(ref inputNs)), new(c, (ulong)Volatile.Read(ref inferNs)), new(c, (ulong)Volatile.Read(ref outputNs)));
        }
    }
}
