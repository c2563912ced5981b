using System.Buffers;

namespace MaaS.Gateway.Forwarding;

/// <summary>
/// A whole request body held in an array rented from the shared pool, so that a call costs no new
/// buffer; whoever holds it last (the forwarder, or the shadow once it took the copy) returns it.
/// </summary>
public sealed class PooledBody(byte[] array, int length)
{
    private byte[]? _array = array;

    /// <summary>The body's bytes; empty once returned.</summary>
    public ReadOnlyMemory<byte> Memory => _array is { } a ? a.AsMemory(0, length) : ReadOnlyMemory<byte>.Empty;

    /// <summary>The body's length in bytes.</summary>
    public int Length => length;

    /// <summary>Gives the array back to the pool; later calls do nothing.</summary>
    public void Return()
    {
        if (Interlocked.Exchange(ref _array, null) is { } a)
        {
            ArrayPool<byte>.Shared.Return(a);
        }
    }
}
