using MaaS.ServiceDefaults;

namespace MaaS.Inference.Runtime.Batching;

/// <summary>
/// Concatenates requests along dimension 0 and splits the outputs back. Fixed-size elements, row-major, make a
/// row a contiguous byte range, so both directions are plain byte copies and each request gets exactly the
/// bytes it would get alone.
/// </summary>
internal static class BatchAssembler
{
    /// <summary>
    /// The batched inputs: for each input (the order of the first request) one tensor of <paramref name="rows"/>
    /// rows whose writer copies every request's part, in request order, straight into the run's buffer.
    /// </summary>
    /// <param name="parts">Each request's inputs, all in the same name order and of the same row layout.</param>
    public static IReadOnlyList<BatchTensor> Concatenate(IReadOnlyList<IReadOnlyList<BatchTensor>> parts, long rows)
    {
        var first = parts[0];
        var tensors = new BatchTensor[first.Count];
        for (var index = 0; index < first.Count; index++)
        {
            var template = first[index];
            var shape = (long[])template.Shape.Clone();
            shape[0] = rows;
            var input = index;
            tensors[index] = new BatchTensor(template.Name, template.Datatype, template.ElementSize, shape, destination =>
            {
                var offset = 0;
                foreach (var part in parts)
                {
                    var tensor = part[input];
                    var length = checked((int)tensor.ByteLength);
                    tensor.CopyTo(destination.Slice(offset, length));
                    offset += length;
                }
            })
            {
                Parts = parts.Select(p => p[input]).ToArray(),
            };
        }
        return tensors;
    }

    /// <summary>
    /// Each request's rows of every output, as slices of the run's output (no copy).
    /// </summary>
    /// <exception cref="Grpc.Core.RpcException">FailedPrecondition when an output's dimension 0 is not the batch rows.</exception>
    public static IReadOnlyList<BatchTensor>[] Split(string what, IReadOnlyList<BatchTensor> outputs, IReadOnlyList<long> requestRows, long rows)
    {
        var answers = new IReadOnlyList<BatchTensor>[requestRows.Count];
        for (var request = 0; request < answers.Length; request++)
        {
            answers[request] = new BatchTensor[outputs.Count];
        }
        for (var index = 0; index < outputs.Count; index++)
        {
            var output = outputs[index];
            if (!output.IsBatchable || output.Shape[0] != rows)
            {
                throw MeshErrors.FailedPrecondition(
                    $"{what} returned output '{output.Name}' of shape {InferenceEngine.FormatShape(output.Shape)} ({output.Datatype}) for a batch of {rows} rows; "
                    + "dynamic batching needs every output to be fixed-size with dimension 0 equal to the batch rows, so this model cannot be batched.");
            }
            var data = output.Data;
            if (data.Length != output.ByteLength)
            {
                throw MeshErrors.FailedPrecondition(
                    $"{what} returned output '{output.Name}' of shape {InferenceEngine.FormatShape(output.Shape)} with {data.Length} bytes instead of {output.ByteLength}.");
            }
            var rowBytes = checked((int)output.RowBytes);
            var offset = 0;
            for (var request = 0; request < answers.Length; request++)
            {
                var shape = (long[])output.Shape.Clone();
                shape[0] = requestRows[request];
                var length = checked((int)requestRows[request] * rowBytes);
                ((BatchTensor[])answers[request])[index] =
                    new BatchTensor(output.Name, output.Datatype, output.ElementSize, shape, data.Slice(offset, length)) { Source = output.Source };
                offset += length;
            }
        }
        return answers;
    }
}
