namespace MaaS.Inference.Runtime.Batching;

/// <summary>What one run gets: the inputs of every request of the batch, concatenated along dimension 0.</summary>
/// <param name="Tensors">One tensor per input name; its dimension 0 is <paramref name="Rows"/> (a lone unbatchable request: as it came).</param>
/// <param name="Requests">How many requests share the run.</param>
/// <param name="Rows">Rows of the batch (the sum of the requests' dimension 0).</param>
public sealed record BatchInputs(IReadOnlyList<BatchTensor> Tensors, int Requests, long Rows);

/// <summary>
/// What one run gives back: every output, dimension 0 equal to the batch rows. The run may say how its time split
/// between copying inputs in, inferring and copying outputs out; what it leaves at zero counts as inference.
/// </summary>
public sealed record BatchOutputs(IReadOnlyList<BatchTensor> Tensors)
{
    /// <summary>Nanoseconds the run spent preparing its inputs.</summary>
    public long InputNs { get; init; }

    /// <summary>Nanoseconds the run spent inferring.</summary>
    public long InferNs { get; init; }

    /// <summary>Nanoseconds the run spent reading its outputs.</summary>
    public long OutputNs { get; init; }
}

/// <summary>One request's answer: its own rows of every output, and where its time went.</summary>
/// <param name="Outputs">The outputs, dimension 0 equal to the request's rows.</param>
/// <param name="BatchRows">Rows of the run the request was part of.</param>
/// <param name="BatchRequests">Requests of that run.</param>
/// <param name="QueueNs">Nanoseconds the request waited in the queue.</param>
/// <param name="InputNs">Nanoseconds the run spent preparing inputs (shared by the batch).</param>
/// <param name="InferNs">Nanoseconds the run spent inferring (shared by the batch).</param>
/// <param name="OutputNs">Nanoseconds spent reading and splitting outputs (shared by the batch).</param>
public sealed record BatchResult(
    IReadOnlyList<BatchTensor> Outputs, long BatchRows, int BatchRequests, long QueueNs, long InputNs, long InferNs, long OutputNs)
{
    /// <summary>Compute time of the run: input + infer + output.</summary>
    public long ComputeNs => InputNs + InferNs + OutputNs;
}

/// <summary>One run of the batcher, reported for statistics before any of its requests is answered.</summary>
/// <param name="Rows">Batch size in rows.</param>
/// <param name="Requests">Requests that shared the run.</param>
/// <param name="QueueNs">Queue time summed over the requests.</param>
/// <param name="InputNs">Input preparation of the run.</param>
/// <param name="InferNs">Inference of the run.</param>
/// <param name="OutputNs">Output reading and splitting of the run.</param>
/// <param name="Error">Why the run failed, or null when every request got its answer.</param>
public sealed record BatchExecution(int Requests, long Rows, long QueueNs, long InputNs, long InferNs, long OutputNs, Exception? Error)
{
    /// <summary>Whether the run succeeded.</summary>
    public bool Succeeded => Error is null;

    /// <summary>Compute time of the run: input + infer + output.</summary>
    public long ComputeNs => InputNs + InferNs + OutputNs;
}
