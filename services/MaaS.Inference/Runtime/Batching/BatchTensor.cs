namespace MaaS.Inference.Runtime.Batching;

/// <summary>Writes a tensor's values little-endian, row-major into a buffer of exactly its byte length.</summary>
public delegate void TensorWriter(Span<byte> destination);

/// <summary>
/// A tensor as the batcher sees it: name, datatype, shape and values as raw little-endian, row-major bytes.
/// The values are either held (<see cref="Data"/>) or written on demand by a <see cref="TensorWriter"/>, so that
/// a request's input is copied once, straight into the buffer of the batch it joins.
/// </summary>
public sealed class BatchTensor
{
    /// <summary>The OIP datatype name of string tensors, which are never batched (their elements vary in size).</summary>
    public const string BytesDatatype = "BYTES";

    private readonly ReadOnlyMemory<byte> data;
    private readonly TensorWriter? writer;
    private IReadOnlyList<BatchTensor>? parts;

    /// <summary>A tensor whose values are held.</summary>
    /// <exception cref="ArgumentException">when the byte length does not match the shape (fixed-size datatypes).</exception>
    public BatchTensor(string name, string datatype, int elementSize, long[] shape, ReadOnlyMemory<byte> data)
        : this(name, datatype, elementSize, shape)
    {
        if (IsFixedSize && data.Length != ByteLength)
        {
            throw new ArgumentException(
                $"Tensor '{name}' of shape {InferenceEngine.FormatShape(shape)} and {datatype} needs {ByteLength} bytes but has {data.Length}.",
                nameof(data));
        }
        this.data = data;
    }

    /// <summary>A tensor whose values are written on demand into a buffer of <see cref="ByteLength"/> bytes.</summary>
    public BatchTensor(string name, string datatype, int elementSize, long[] shape, TensorWriter writer)
        : this(name, datatype, elementSize, shape)
    {
        if (!IsFixedSize)
        {
            throw new ArgumentException($"Tensor '{name}' is {datatype}; only fixed-size datatypes can be written on demand.", nameof(writer));
        }
        this.writer = writer;
    }

    private BatchTensor(string name, string datatype, int elementSize, long[] shape)
    {
        Name = name;
        Datatype = datatype;
        ElementSize = elementSize;
        Shape = shape;
        long elements = 1;
        foreach (var dim in shape)
        {
            elements *= dim;
        }
        Elements = elements;
        ByteLength = IsFixedSize ? elements * elementSize : -1;
    }

    /// <summary>What the submitter attached to find its own form of the values again (e.g. the request's input); not read by the batcher.</summary>
    public object? Source { get; init; }

    /// <summary>
    /// The requests' tensors this one is made of, in row order (just itself when it was not concatenated), so that a run
    /// can gather them straight from their <see cref="Source"/> instead of through <see cref="CopyTo"/>.
    /// </summary>
    public IReadOnlyList<BatchTensor> Parts
    {
        get => parts ??= [this];
        internal init => parts = value;
    }

    /// <summary>Tensor name.</summary>
    public string Name { get; }

    /// <summary>OIP datatype name (FP32, INT64, BYTES …).</summary>
    public string Datatype { get; }

    /// <summary>Bytes per element; 0 or less for variable-size datatypes (BYTES).</summary>
    public int ElementSize { get; }

    /// <summary>Shape; dimension 0 is the batch dimension.</summary>
    public long[] Shape { get; }

    /// <summary>Number of elements.</summary>
    public long Elements { get; }

    /// <summary>Bytes of the values (elements × element size), or -1 for variable-size datatypes.</summary>
    public long ByteLength { get; }

    /// <summary>Whether every element has the same size, so that rows are plain byte ranges.</summary>
    public bool IsFixedSize => ElementSize > 0 && !string.Equals(Datatype, BytesDatatype, StringComparison.Ordinal);

    /// <summary>Whether the tensor can share a batch: fixed-size elements and a dimension 0 to concatenate along.</summary>
    public bool IsBatchable => IsFixedSize && Shape.Length > 0;

    /// <summary>Rows along dimension 0 (1 for a scalar).</summary>
    public long Rows => Shape.Length > 0 ? Shape[0] : 1;

    /// <summary>Bytes of one row (one slice along dimension 0).</summary>
    public long RowBytes
    {
        get
        {
            long bytes = ElementSize;
            for (var axis = 1; axis < Shape.Length; axis++)
            {
                bytes *= Shape[axis];
            }
            return bytes;
        }
    }

    /// <summary>The values; written into a new array first when the tensor was given a writer.</summary>
    public ReadOnlyMemory<byte> Data => writer is null ? data : ToArray();

    /// <summary>Writes the values into <paramref name="destination"/>, which must be <see cref="ByteLength"/> bytes long.</summary>
    public void CopyTo(Span<byte> destination)
    {
        if (writer is not null)
        {
            writer(destination);
        }
        else
        {
            data.Span.CopyTo(destination);
        }
    }

    /// <summary>The values in a new array.</summary>
    public byte[] ToArray()
    {
        if (writer is null)
        {
            return data.ToArray();
        }
        var buffer = new byte[ByteLength];
        writer(buffer);
        return buffer;
    }

    /// <summary>True when both have the same datatype and the same shape apart from dimension 0.</summary>
    public bool SharesRowLayout(BatchTensor other)
    {
        if (!string.Equals(Name, other.Name, StringComparison.Ordinal)
            || !string.Equals(Datatype, other.Datatype, StringComparison.Ordinal)
            || ElementSize != other.ElementSize
            || Shape.Length != other.Shape.Length)
        {
            return false;
        }
        for (var axis = 1; axis < Shape.Length; axis++)
        {
            if (Shape[axis] != other.Shape[axis])
            {
                return false;
            }
        }
        return true;
    }
}
