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

    internal LoadedModel(string model, long version, OnnxSession session, ModelSignature signature)
    {
        Model = model;
        Version = version;
        Session = session;
        Signature = signature;
    }

    /// <summary>Model name.</summary>
    public string Model { get; }

    /// <summary>Version number.</summary>
    public long Version { get; }

    /// <summary>The session and the execution provider it runs on.</summary>
    public OnnxSession Session { get; }

    /// <summary>Inputs and outputs.</summary>
    public ModelSignature Signature { get; }

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

    /// <summary>Returns a reference; the last one disposes the session.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref references) == 0)
        {
            Session.Dispose();
            drained.TrySetResult();
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
