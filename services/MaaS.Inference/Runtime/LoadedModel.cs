using MaaS.Inference.Runtime.Batching;
using MaaS.Onnx;

namespace MaaS.Inference.Runtime;

/// <summary>
/// A warm ONNX Runtime session of one model version, counted by reference so that a version taken out of
/// service is disposed only after the last request running on it has finished.
/// </summary>
public sealed class LoadedModel
{
    // One reference belongs to the repository while the version is listed; each request adds one.
    // At zero the session is gone for good: TryAcquire never revives it.
    private int references = 1;
    private readonly TaskCompletionSource drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lazy<DynamicBatcher> batcher;

    internal LoadedModel(string model, long version, OnnxSession session, ModelSignature signature, BatchingSettings batching, long artifactBytes)
    {
        Model = model;
        Version = version;
        Session = session;
        Signature = signature;
        Batching = batching;
        Statistics = new ModelStatistics(model, version, session.Provider, artifactBytes);
        BatchesRequests = batching.Enabled && CanBatch(signature);
        // Created on the first batched request: a version that never serves one costs no consumer.
        batcher = new Lazy<DynamicBatcher>(
            () => new DynamicBatcher(model, version, batching, (inputs, ct) => InferenceEngine.RunBatch(this, inputs, ct), RecordBatch));
    }

    /// <summary>Model name.</summary>
    public string Model { get; }

    /// <summary>Version number.</summary>
    public long Version { get; }

    /// <summary>The session and the execution provider it runs on.</summary>
    public OnnxSession Session { get; }

    /// <summary>Inputs and outputs.</summary>
    public ModelSignature Signature { get; }

    /// <summary>
    /// Dynamic batching of this version, fixed for its lifetime: a new configuration loads a new
    /// instance of the version (warmed, then swapped in) rather than changing a running one.
    /// </summary>
    public BatchingSettings Batching { get; }

    /// <summary>
    /// Whether requests go through <see cref="Batcher"/>: batching is configured and the model can be batched (every input
    /// and output has a dynamic dimension 0, none is BYTES). Otherwise each request runs alone.
    /// </summary>
    public bool BatchesRequests { get; }

    /// <summary>The dynamic batcher of this version (only when <see cref="BatchesRequests"/>); it stops when the session is disposed.</summary>
    internal DynamicBatcher Batcher => batcher.Value;

    /// <summary>Triton statistics and Prometheus metrics of this version; every execution path records here.</summary>
    public ModelStatistics Statistics { get; }

    /// <summary>The execution provider chosen at load (CUDAExecutionProvider or CPUExecutionProvider).</summary>
    public string Provider => Session.Provider;

    /// <summary>Completes once the session is disposed (after retirement and the last request).</summary>
    public Task Drained => drained.Task;

    /// <summary>Takes a reference for one request; false once the version has been retired and drained.</summary>
    public bool TryAcquire()
    {
        while (true)
        {
            var current = Volatile.Read(ref references);
            if (current == 0)
            {
                return false;
            }
            if (Interlocked.CompareExchange(ref references, current + 1, current) == current)
            {
                return true;
            }
        }
    }

    /// <summary>
    /// Returns the repository's reference once the version is no longer listed. Requests queued for a batch run at once
    /// instead of waiting for companions that will not come; the session goes with the last request.
    /// </summary>
    public void Retire()
    {
        if (batcher.IsValueCreated)
        {
            batcher.Value.Flush();
        }
        Release();
    }

    /// <summary>Returns a reference; the last one disposes the session.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref references) == 0)
        {
            // Every queued request holds a reference, so the queue is empty by now: the consumer just ends.
            if (batcher.IsValueCreated)
            {
                batcher.Value.Complete();
            }
            Session.Dispose();
            drained.TrySetResult();
        }
    }

    /// <summary>Only a model whose every tensor has a dynamic batch dimension and fixed-size elements can be concatenated along it.</summary>
    private static bool CanBatch(ModelSignature signature) =>
        signature.Inputs.Count > 0
        && signature.Inputs.Concat(signature.Outputs).All(t => t.Shape is [< 0, ..] && !t.Type.IsBytes);

    private void RecordBatch(BatchExecution execution)
    {
        // A failed run answered nobody: its requests count as failures (by the engine), not as inferences.
        if (execution.Succeeded)
        {
            Statistics.RecordBatchExecution(checked((int)execution.Rows), execution.Requests, execution.InputNs, execution.InferNs, execution.OutputNs);
        }
    }
}

/// <summary>A request's hold on a loaded version; disposing it lets a retired version drain.</summary>
public readonly struct VersionLease(LoadedModel model) : IDisposable
{
    /// <summary>The version held.</summary>
    public LoadedModel Model { get; } = model;

    /// <inheritdoc />
    public void Dispose() => Model.Release();
}
