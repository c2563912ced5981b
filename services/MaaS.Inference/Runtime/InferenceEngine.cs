using System.Buffers;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Grpc.Core;
using MaaS.Inference.Runtime.Batching;
using MaaS.Inference.Sampling;
using MaaS.ServiceDefaults;
using Microsoft.ML.OnnxRuntime;

namespace MaaS.Inference.Runtime;

/// <summary>One input of a validated request: what it must be, and its values.</summary>
public sealed record ValidatedInput(TensorCheck Check, InputData Data);

/// <summary>
/// A request checked against a model version: its inputs in request order, the outputs to return (in the
/// order asked) and its rows (the leading dimension when the model's first input has a dynamic one, else 1).
/// </summary>
public sealed record ValidatedRequest(InferRequest Request, IReadOnlyList<ValidatedInput> Inputs, IReadOnlyList<TensorInfo> Outputs, int Rows)
{
    /// <summary>Output names, in the order of <see cref="Outputs"/>.</summary>
    public string[] OutputNames { get; } = Outputs.Select(o => o.Name).ToArray();
}

/// <summary>
/// The one inference path behind gRPC and REST: picks the version, validates every input against the
/// model before allocating anything the request sizes, runs ONNX Runtime, and hands back the outputs.
/// Each step is a public static seam (<see cref="Validate"/>, <see cref="InputTensors"/>, <see cref="Run"/>,
/// <see cref="ReadOutput"/>) so that a batch can be built from the same parts.
/// </summary>
public sealed class InferenceEngine(ModelRepository repository, InputSampler? sampler = null)
{
    /// <summary>Largest tensor taken, in elements: a guard against shapes whose product is absurd.</summary>
    public const long MaxElementsPerTensor = 64L * 1024 * 1024;

    /// <summary>
    /// Runs one request: validate → run → outputs, with statistics and metrics for each outcome. On a version that
    /// batches (<see cref="LoadedModel.BatchesRequests"/>) the run goes through its dynamic batcher; otherwise the
    /// request runs alone on the caller's thread.
    /// </summary>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">The caller gave up: a request still queued leaves the queue without running.</param>
    /// <param name="deadline">The caller's deadline (UTC), if any: passing it while queued is DeadlineExceeded.</param>
    /// <exception cref="RpcException">InvalidArgument, NotFound or FailedPrecondition with a sentence naming the tensor or model;
    /// ResourceExhausted when the batching queue is full; DeadlineExceeded.</exception>
    /// <exception cref="OperationCanceledException">The call was cancelled; the model did not run (or was stopped).</exception>
    public Task<InferResult> InferAsync(InferRequest request, CancellationToken cancellationToken, DateTime? deadline = null)
    {
        var received = Stopwatch.GetTimestamp();
        VersionLease lease;
        try
        {
            lease = repository.Acquire(request.Model, request.Version, request.ResolvedVersion);
        }
        catch (RpcException ex)
        {
            InferenceMetrics.RecordRejected(repository.Models.ContainsKey(request.Model) ? request.Model : InferenceMetrics.UnknownModel, ex);
            throw;
        }
        if (lease.Model.BatchesRequests)
        {
            return InferBatchedAsync(lease, request, received, sampler, cancellationToken, deadline);
        }
        using (lease)
        {
            var model = lease.Model;
            var statistics = model.Statistics;
            statistics.RequestStarted();
            try
            {
                // 1. Validate: every rule is checked before anything the request sizes is allocated.
                var work = Validate(request, model);
                sampler?.Observe(model, work);
                // 2. Run the session on this request alone, 3. read the outputs.
                var result = Execute(model, work, cancellationToken);
                statistics.RecordSuccess(ElapsedNs(received));
                return Task.FromResult(result);
            }
            catch (Exception ex)
            {
                statistics.RecordFailure(ElapsedNs(received), InferenceMetrics.ReasonOf(ex));
                throw;
            }
            finally
            {
                statistics.RequestFinished();
            }
        }
    }

    // The lease is held until the answer is in: a version retired meanwhile keeps its session for the queued requests.
    private static async Task<InferResult> InferBatchedAsync(VersionLease lease, InferRequest request, long received, InputSampler? sampler, CancellationToken cancellationToken, DateTime? deadline)
    {
        using (lease)
        {
            var model = lease.Model;
            var statistics = model.Statistics;
            statistics.RequestStarted();
            try
            {
                var work = Validate(request, model);
                sampler?.Observe(model, work);
                var answer = await model.Batcher.SubmitAsync(BatchInputsOf(work), cancellationToken, deadline).ConfigureAwait(false);
                var result = ResultOf(model, work, answer);
                statistics.RecordQueue(answer.QueueNs);
                statistics.RecordSuccess(ElapsedNs(received));
                return result;
            }
            catch (Exception ex)
            {
                statistics.RecordFailure(ElapsedNs(received), InferenceMetrics.ReasonOf(ex));
                throw;
            }
            finally
            {
                statistics.RequestFinished();
            }
        }
    }

    /// <summary>A validated request's inputs as the batcher takes them; each keeps its <see cref="ValidatedInput"/> for <see cref="RunBatch"/>.</summary>
    private static BatchTensor[] BatchInputsOf(ValidatedRequest work)
    {
        var tensors = new BatchTensor[work.Inputs.Count];
        for (var i = 0; i < tensors.Length; i++)
        {
            var input = work.Inputs[i];
            var type = input.Check.Type;
            tensors[i] = new BatchTensor(input.Check.Name, type.Name, type.ElementSize, input.Check.Shape, destination => input.Data.CopyTo(type, destination))
            {
                Source = input,
            };
        }
        return tensors;
    }

    /// <summary>The request's rows of the outputs it asked for, in the order asked (the batch ran every output of the model).</summary>
    private static InferResult ResultOf(LoadedModel model, ValidatedRequest work, BatchResult answer)
    {
        var outputs = new List<InferOutput>(work.Outputs.Count);
        foreach (var asked in work.Outputs)
        {
            var tensor = answer.Outputs.First(o => string.Equals(o.Name, asked.Name, StringComparison.Ordinal));
            outputs.Add(new InferOutput(asked.Name, tensor.Source as TensorType ?? asked.Type, tensor.Shape, tensor.Data));
        }
        return new InferResult(model.Model, model.Version, work.Request.Id, outputs);
    }

    /// <summary>
    /// Runs one batch of the dynamic batcher of <paramref name="model"/>: every request's inputs gathered into one tensor
    /// per input (a lone request's raw bytes read in place), every output of the model read into an array of its own,
    /// which the batcher then hands out to the requests as slices.
    /// </summary>
    internal static BatchOutputs RunBatch(LoadedModel model, BatchInputs batch, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var inputs = new InputTensors(batch.Tensors.Count);
        foreach (var tensor in batch.Tensors)
        {
            var parts = new (InputData Data, long Elements)[tensor.Parts.Count];
            for (var i = 0; i < parts.Length; i++)
            {
                var part = (ValidatedInput)tensor.Parts[i].Source!;
                parts[i] = (part.Data, part.Check.Elements);
            }
            inputs.Add(tensor.Name, ((ValidatedInput)tensor.Parts[0].Source!).Check.Type, tensor.Shape, parts);
        }
        var prepared = Stopwatch.GetTimestamp();

        var signature = model.Signature;
        using var results = Run(model, inputs, signature.Outputs.Select(o => o.Name).ToArray(), cancellationToken);
        var ran = Stopwatch.GetTimestamp();

        var outputs = new BatchTensor[signature.Outputs.Count];
        for (var i = 0; i < outputs.Length; i++)
        {
            var info = results[i].GetTensorTypeAndShape();
            var type = TensorTypes.FromElement(info.ElementDataType) ?? signature.Outputs[i].Type;
            var data = info.ElementCount == 0 ? [] : results[i].GetTensorMutableRawData().ToArray();
            outputs[i] = new BatchTensor(signature.Outputs[i].Name, type.Name, type.ElementSize, info.Shape, data) { Source = type };
        }
        return new BatchOutputs(outputs)
        {
            InputNs = Ns(started, prepared),
            InferNs = Ns(prepared, ran),
            OutputNs = Ns(ran, Stopwatch.GetTimestamp()),
        };
    }

    /// <summary>Runs one validated request alone on its version and records the execution (no queue: it did not wait).</summary>
    public static InferResult Execute(LoadedModel model, ValidatedRequest work, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var rented = work.Request.RawOutputs ? null : new List<byte[]>();
        try
        {
            using var inputs = new InputTensors(work.Inputs.Count);
            foreach (var input in work.Inputs)
            {
                inputs.Add(input.Check.Name, input.Check.Type, input.Check.Shape, [(input.Data, input.Check.Elements)]);
            }
            var prepared = Stopwatch.GetTimestamp();

            using var results = Run(model, inputs, work.OutputNames, cancellationToken);
            var ran = Stopwatch.GetTimestamp();

            var outputs = new List<InferOutput>(work.Outputs.Count);
            for (var i = 0; i < work.Outputs.Count; i++)
            {
                var info = results[i].GetTensorTypeAndShape();
                var type = TensorTypes.FromElement(info.ElementDataType) ?? work.Outputs[i].Type;
                outputs.Add(ReadOutput(work.Outputs[i].Name, type, results[i], info.Shape, 0, info.ElementCount, rented));
            }
            var done = Stopwatch.GetTimestamp();
            model.Statistics.RecordExecution(work.Rows, 0, Ns(started, prepared), Ns(prepared, ran), Ns(ran, done));
            return new InferResult(model.Model, model.Version, work.Request.Id, outputs, rented);
        }
        catch
        {
            foreach (var buffer in rented ?? [])
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
            throw;
        }
    }

    /// <summary>
    /// Runs the session once. A call already cancelled does not run at all; one cancelled while running is
    /// terminated. Errors ONNX Runtime raises about the inputs are InvalidArgument; any other run failure is
    /// the model's (Internal via MeshErrors.ModelFailed).
    /// </summary>
    public static IDisposableReadOnlyCollection<OrtValue> Run(LoadedModel model, InputTensors inputs, IReadOnlyCollection<string> outputNames, CancellationToken cancellationToken)
    {
        // A cancelled call (the client gave up, or its deadline passed while it waited) must not cost a model run.
        cancellationToken.ThrowIfCancellationRequested();
        using var runOptions = new RunOptions();
        using var cancel = cancellationToken.Register(static o => ((RunOptions)o!).Terminate = true, runOptions);
        try
        {
            return model.Session.Session.Run(runOptions, inputs.Names, inputs.Values, outputNames);
        }
        catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (OnnxRuntimeException ex) when (ex.Message.Contains("[ErrorCode:InvalidArgument]", StringComparison.Ordinal))
        {
            // Validation covers what the signature states; what ONNX Runtime still refuses as an argument
            // (e.g. two inputs whose dynamic dimensions disagree inside the graph) is the inputs' doing.
            throw MeshErrors.InvalidArgument(
                $"Model '{model.Model}' version {model.Version} could not run on these inputs: {FirstLine(ex)}");
        }
        catch (OnnxRuntimeException ex)
        {
            // Any other failure while running valid inputs (a node that cannot compute) is the model's fault.
            throw MeshErrors.ModelFailed(
                $"Model '{model.Model}' version {model.Version} failed while running: {FirstLine(ex)}");
        }
    }

    private static string FirstLine(OnnxRuntimeException ex) => ex.Message.Split('\n', 2)[0].Trim();

    /// <summary>
    /// Copies elements [<paramref name="firstElement"/>, +<paramref name="elements"/>) of an output tensor
    /// (all of it for a request alone, its rows for one request of a batch) into a buffer: exact-size and
    /// the caller's when <paramref name="rented"/> is null, else pooled and listed there for return.
    /// </summary>
    public static InferOutput ReadOutput(string name, TensorType type, OrtValue value, long[] shape, long firstElement, long elements, List<byte[]>? rented)
    {
        if (elements == 0)
        {
            return new InferOutput(name, type, shape, ReadOnlyMemory<byte>.Empty);
        }
        var length = type.IsBytes
            ? checked((int)BytesElements.EncodedLength(value, firstElement, elements))
            : checked((int)(elements * type.ElementSize));
        byte[] buffer;
        if (rented is null)
        {
            buffer = new byte[length];
        }
        else
        {
            buffer = ArrayPool<byte>.Shared.Rent(length);
            rented.Add(buffer);
        }
        var destination = buffer.AsSpan(0, length);
        if (type.IsBytes)
        {
            BytesElements.Encode(value, firstElement, elements, destination);
        }
        else
        {
            value.GetTensorMutableRawData().Slice(checked((int)(firstElement * type.ElementSize)), length).CopyTo(destination);
        }
        return new InferOutput(name, type, shape, buffer.AsMemory(0, length));
    }

    /// <summary>Checks a request against a model version; every mismatch is InvalidArgument with a sentence naming the tensor and the rule.</summary>
    public static ValidatedRequest Validate(InferRequest request, LoadedModel model)
    {
        var (inputs, outputs) = Check(request, model);
        var rows = 1;
        var first = model.Signature.Inputs.Count > 0 ? model.Signature.Inputs[0] : null;
        if (first is { Shape: [< 0, ..] })
        {
            rows = (int)inputs.First(i => i.Check.Name == first.Name).Check.Shape[0];
        }
        return new ValidatedRequest(request, inputs, outputs, rows);
    }

    private static (List<ValidatedInput> Inputs, List<TensorInfo> Outputs) Check(InferRequest request, LoadedModel model)
    {
        var signature = model.Signature;
        var what = $"model '{model.Model}' version {model.Version}";
        var inputs = new List<ValidatedInput>(request.Inputs.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);

        for (var index = 0; index < request.Inputs.Count; index++)
        {
            var input = request.Inputs[index];
            if (string.IsNullOrEmpty(input.Name))
            {
                throw MeshErrors.InvalidArgument($"Input #{index} has no name; every input must name a model input ({signature.InputNames}).");
            }
            if (!signature.InputsByName.TryGetValue(input.Name, out var expected))
            {
                throw MeshErrors.InvalidArgument($"Input '{input.Name}' is not an input of {what}; its inputs are {signature.InputNames}.");
            }
            if (!seen.Add(input.Name))
            {
                throw MeshErrors.InvalidArgument($"Input '{input.Name}' is given more than once; give each input once.");
            }
            if (!string.Equals(input.Datatype, expected.Type.Name, StringComparison.Ordinal))
            {
                throw MeshErrors.InvalidArgument(
                    $"Input '{input.Name}' has datatype '{input.Datatype}' but {what} expects {expected.Type.Name}.");
            }
            if (input.Shape.Count != expected.Shape.Length)
            {
                throw MeshErrors.InvalidArgument(
                    $"Input '{input.Name}' has shape {FormatShape(input.Shape.Take(16))}{(input.Shape.Count > 16 ? "…" : "")} of rank {input.Shape.Count} but {what} expects rank {expected.Shape.Length} ({FormatShape(expected.Shape)}, -1 = any size).");
            }
            var shape = input.Shape.ToArray();
            long elements = 1;
            for (var axis = 0; axis < shape.Length; axis++)
            {
                var dim = shape[axis];
                if (dim < 0)
                {
                    throw MeshErrors.InvalidArgument($"Input '{input.Name}' has dimension {dim} at axis {axis}; dimensions must not be negative.");
                }
                if (expected.Shape[axis] >= 0 && dim != expected.Shape[axis])
                {
                    throw MeshErrors.InvalidArgument(
                        $"Input '{input.Name}' has dimension {dim} at axis {axis} but {what} fixes that axis at {expected.Shape[axis]} ({FormatShape(expected.Shape)}).");
                }
            }
            foreach (var dim in shape)
            {
                // Checked before multiplying so that no product can overflow.
                if (dim != 0 && elements > MaxElementsPerTensor / dim)
                {
                    throw MeshErrors.InvalidArgument(
                        $"Input '{input.Name}' has shape {FormatShape(shape)}, more than {MaxElementsPerTensor} elements; at most {MaxElementsPerTensor} are taken per tensor.");
                }
                elements *= dim;
            }
            var check = new TensorCheck(input.Name, expected.Type, shape, elements);
            if (input.Data.Check(check) is { } problem)
            {
                throw MeshErrors.InvalidArgument(problem);
            }
            inputs.Add(new ValidatedInput(check, input.Data));
        }

        foreach (var needed in signature.Inputs)
        {
            if (!seen.Contains(needed.Name))
            {
                throw MeshErrors.InvalidArgument($"Input '{needed.Name}' of {what} is missing; the model needs {signature.InputNames}.");
            }
        }

        if (request.RequestedOutputs.Count == 0)
        {
            return (inputs, signature.Outputs.ToList());
        }
        var outputs = new List<TensorInfo>(request.RequestedOutputs.Count);
        var asked = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in request.RequestedOutputs)
        {
            if (!signature.OutputsByName.TryGetValue(name, out var output))
            {
                throw MeshErrors.InvalidArgument($"Requested output '{name}' is not an output of {what}; its outputs are {signature.OutputNames}.");
            }
            if (!asked.Add(name))
            {
                throw MeshErrors.InvalidArgument($"Output '{name}' is requested more than once; name each output once.");
            }
            outputs.Add(output);
        }
        return (inputs, outputs);
    }

    /// <summary>A shape as [a,b,c].</summary>
    public static string FormatShape(IEnumerable<long> shape) => "[" + string.Join(",", shape) + "]";

    private static long Ns(long from, long to) => (long)((to - from) * (1e9 / Stopwatch.Frequency));

    private static long ElapsedNs(long from) => Ns(from, Stopwatch.GetTimestamp());
}

/// <summary>
/// The input tensors of one run and what they borrow: pooled buffers, pinned request bytes read in place,
/// and the OrtValues over them, all released on dispose (after the run).
/// </summary>
public sealed class InputTensors(int capacity) : IDisposable
{
    private readonly List<string> names = new(capacity);
    private readonly List<OrtValue> values = new(capacity);
    private readonly List<GCHandle> pins = [];
    private readonly List<byte[]> rented = [];

    /// <summary>Input names, in the order of <see cref="Values"/>.</summary>
    public IReadOnlyCollection<string> Names => names;

    /// <summary>The tensors.</summary>
    public IReadOnlyCollection<OrtValue> Values => values;

    /// <summary>
    /// Adds one tensor of <paramref name="shape"/> gathered from <paramref name="parts"/> written one after the
    /// other (one part for a request alone; one per request, in row order, for a batch). A single part carried
    /// raw in ONNX Runtime's layout is read in place; anything else is copied once into a pooled buffer.
    /// </summary>
    public void Add(string name, TensorType type, long[] shape, IReadOnlyList<(InputData Data, long Elements)> parts)
    {
        long total = 0;
        foreach (var part in parts)
        {
            total += part.Elements;
        }
        if (type.IsBytes)
        {
            var strings = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, shape);
            values.Add(strings);
            long offset = 0;
            foreach (var (data, elements) in parts)
            {
                data.CopyStringsTo(strings, checked((int)offset));
                offset += elements;
            }
        }
        else if (total == 0)
        {
            values.Add(OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, type.Element, shape));
        }
        else if (parts.Count == 1 && parts[0].Data.TryGetRaw(type, out var raw) && MemoryMarshal.TryGetArray(raw, out var segment))
        {
            values.Add(Over(segment.Array!, segment.Offset, segment.Count, type, shape));
        }
        else
        {
            var length = checked((int)(total * type.ElementSize));
            var buffer = ArrayPool<byte>.Shared.Rent(length);
            rented.Add(buffer);
            var offset = 0;
            foreach (var (data, elements) in parts)
            {
                var bytes = checked((int)(elements * type.ElementSize));
                data.CopyTo(type, buffer.AsSpan(offset, bytes));
                offset += bytes;
            }
            values.Add(Over(buffer, 0, length, type, shape));
        }
        names.Add(name);
    }

    /// <summary>Adds a tensor built elsewhere; it is disposed with the others.</summary>
    public void Add(string name, OrtValue value)
    {
        names.Add(name);
        values.Add(value);
    }

    private OrtValue Over(byte[] array, int offset, int length, TensorType type, long[] shape)
    {
        // Pinned until dispose: ONNX Runtime reads the managed bytes in place during the run.
        var pin = GCHandle.Alloc(array, GCHandleType.Pinned);
        pins.Add(pin);
        return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type.Element, shape, pin.AddrOfPinnedObject() + offset, length);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var value in values)
        {
            value.Dispose();
        }
        foreach (var pin in pins)
        {
            pin.Free();
        }
        foreach (var buffer in rented)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        values.Clear();
        pins.Clear();
        rented.Clear();
    }
}
