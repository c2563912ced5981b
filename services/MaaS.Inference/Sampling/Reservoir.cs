using System.Buffers;
using System.Buffers.Binary;
using MaaS.Inference.Runtime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MaaS.Inference.Sampling;

/// <summary>
/// The sample of one model version's input rows over the current interval: reservoir sampling
/// (Vitter's algorithm R), so every row seen in the interval has the same chance, capacity / rows seen,
/// of being in the sample whatever the traffic. Row i (0-based, counted over the interval) goes to slot i
/// while i &lt; capacity, else to a slot drawn uniformly from [0, i] when that draw falls below capacity.
/// Each row's draw depends only on its index, so a request draws for its rows under a short lock and decodes
/// the chosen rows outside it; no lock is held across inference and a request none of whose rows is chosen
/// allocates nothing.
/// </summary>
internal sealed class Reservoir(string model, long version, int capacity, int features)
{
    private readonly object gate = new();
    private readonly Random random = new();
    private double[]?[] slots = new double[capacity][];
    private long seen;
    // Bumped at every hand-over: rows chosen in an interval that ended meanwhile are dropped, not mixed in.
    private long generation;
    private bool retired;

    /// <summary>Model name.</summary>
    public string Model { get; } = model;

    /// <summary>Version number.</summary>
    public long Version { get; } = version;

    /// <summary>Feature count of every sampled row (the input's dimension 1 when the reservoir was created).</summary>
    public int Features { get; } = features;

    /// <summary>
    /// Counts a request's rows and keeps those the draws choose. False when this reservoir has been retired
    /// (idle for an interval and removed): the caller takes the fresh one.
    /// </summary>
    public bool Offer(TensorCheck check, InputData data)
    {
        var rows = (int)check.Shape[0];
        int[]? rowForSlot = null;
        long taken;
        lock (gate)
        {
            if (retired)
            {
                return false;
            }
            var start = seen;
            seen += rows;
            if (check.Shape[1] != Features)
            {
                // Counted (it was traffic) but not sampled: rows of another width would not line up with the others.
                return true;
            }
            for (var i = 0; i < rows; i++)
            {
                var index = start + i;
                var slot = index < capacity ? index : random.NextInt64(index + 1);
                if (slot < capacity)
                {
                    if (rowForSlot is null)
                    {
                        rowForSlot = ArrayPool<int>.Shared.Rent(capacity);
                        rowForSlot.AsSpan(0, capacity).Fill(-1);
                    }
                    // A later row drawn for the same slot replaces the earlier one, as in the sequential algorithm.
                    rowForSlot[slot] = i;
                }
            }
            taken = generation;
        }
        if (rowForSlot is null)
        {
            return true;
        }
        try
        {
            Keep(check, data, rowForSlot, taken);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(rowForSlot);
        }
        return true;
    }

    /// <summary>
    /// Ends the interval: the sampled rows and how many rows were seen, then a fresh sample. Null when no
    /// row was seen in the interval; the reservoir is then retired (the sampler drops it).
    /// </summary>
    public (double[][] Rows, long RowsSeen)? TakeInterval()
    {
        lock (gate)
        {
            if (seen == 0)
            {
                retired = true;
                return null;
            }
            var rows = slots.OfType<double[]>().ToArray();
            var rowsSeen = seen;
            slots = new double[capacity][];
            seen = 0;
            generation++;
            return (rows, rowsSeen);
        }
    }

    /// <summary>Decodes the chosen rows (outside the lock), then stores them if their interval is still open.</summary>
    private void Keep(TensorCheck check, InputData data, int[] rowForSlot, long taken)
    {
        var type = check.Type;
        var rowBytes = Features * type.ElementSize;
        byte[]? copy = null;
        try
        {
            ReadOnlySpan<byte> all;
            if (data.TryGetRaw(type, out var raw))
            {
                all = raw.Span;
            }
            else
            {
                // Typed or JSON contents: converted once into a pooled buffer, only because a row was chosen.
                var length = checked((int)(check.Elements * type.ElementSize));
                copy = ArrayPool<byte>.Shared.Rent(length);
                data.CopyTo(type, copy.AsSpan(0, length));
                all = copy.AsSpan(0, length);
            }
            var chosen = new double[]?[capacity];
            for (var slot = 0; slot < capacity; slot++)
            {
                var row = rowForSlot[slot];
                if (row >= 0)
                {
                    chosen[slot] = Decode(type, all.Slice(row * rowBytes, rowBytes), Features);
                }
            }
            lock (gate)
            {
                if (generation != taken)
                {
                    return;
                }
                for (var slot = 0; slot < capacity; slot++)
                {
                    if (chosen[slot] is { } values)
                    {
                        slots[slot] = values;
                    }
                }
            }
        }
        finally
        {
            if (copy is not null)
            {
                ArrayPool<byte>.Shared.Return(copy);
            }
        }
    }

    /// <summary>Whether rows of this datatype can be sampled as numbers.</summary>
    public static bool IsNumeric(TensorType type) =>
        type.Element is TensorElementType.Float or TensorElementType.Double or TensorElementType.Int32 or TensorElementType.Int64;

    /// <summary>One row of little-endian elements as doubles.</summary>
    private static double[] Decode(TensorType type, ReadOnlySpan<byte> row, int features)
    {
        var values = new double[features];
        for (var f = 0; f < features; f++)
        {
            values[f] = type.Element switch
            {
                TensorElementType.Float => BinaryPrimitives.ReadSingleLittleEndian(row[(f * 4)..]),
                TensorElementType.Double => BinaryPrimitives.ReadDoubleLittleEndian(row[(f * 8)..]),
                TensorElementType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(row[(f * 4)..]),
                TensorElementType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(row[(f * 8)..]),
                _ => throw new NotSupportedException($"Datatype {type.Name} is not sampled."),
            };
        }
        return values;
    }
}
