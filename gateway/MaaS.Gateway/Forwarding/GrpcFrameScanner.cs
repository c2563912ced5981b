using System.Buffers.Binary;
using Google.Protobuf;
using MaaS.ServiceDefaults;

namespace MaaS.Gateway.Forwarding;

/// <summary>How far a scan of the first gRPC frame got.</summary>
public enum FrameScanStatus
{
    /// <summary>Name and version are known (either may be empty when the message does not carry it).</summary>
    Complete,

    /// <summary>The bytes so far end before the answer; read more and scan again.</summary>
    NeedMoreData,

    /// <summary>The frame cannot be read: compressed, malformed or truncated.</summary>
    Invalid,

    /// <summary>The frame declares a message larger than the mesh accepts.</summary>
    TooLarge,
}

/// <summary>The result of <see cref="GrpcFrameScanner.Scan"/>.</summary>
public readonly record struct FrameScan(FrameScanStatus Status, string Name, string Version, string Error);

/// <summary>
/// Reads fields 1 and 2 (model name and version in ModelInferRequest, ModelReadyRequest,
/// ModelMetadataRequest and ModelStatisticsRequest) from the first gRPC frame without decoding the
/// message: tensors can be megabytes, and the bytes must reach the replica exactly as sent.
/// </summary>
public static class GrpcFrameScanner
{
    /// <summary>Compressed flag (1 byte) and big-endian message length (4 bytes).</summary>
    public const int HeaderLength = 5;

    /// <summary>
    /// Scans <paramref name="count"/> bytes of a request body from its start. <paramref name="endOfBody"/>
    /// says no more bytes will come, so a frame that ends early is truncated rather than incomplete.
    /// </summary>
    public static FrameScan Scan(byte[] buffer, int count, bool endOfBody)
    {
        if (count < HeaderLength)
        {
            return endOfBody
                ? Invalid(count == 0 ? "The request carries no gRPC message." : "The request ends inside the 5-byte gRPC frame header.")
                : new FrameScan(FrameScanStatus.NeedMoreData, "", "", "");
        }
        switch (buffer[0])
        {
            case 0:
                break;
            case 1:
                return Invalid("The gateway routes on the model name inside the message and cannot read compressed gRPC messages; send the request uncompressed.");
            default:
                return Invalid($"The gRPC frame's compressed flag must be 0 or 1; it is {buffer[0]}.");
        }
        var declared = BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(1, 4));
        if (declared > MeshHostingExtensions.MaxMessageBytes)
        {
            return new FrameScan(FrameScanStatus.TooLarge, "", "", $"The gRPC message is {declared} bytes; the limit is {MeshHostingExtensions.MaxMessageBytes}.");
        }
        var length = (int)declared;
        var available = Math.Min(count - HeaderLength, length);
        var complete = available == length;

        string? name = null, version = null;
        var laterField = false;
        try
        {
            var input = new CodedInputStream(buffer, HeaderLength, available);
            while (name is null || version is null)
            {
                var tag = input.ReadTag();
                if (tag == 0)
                {
                    break;
                }
                var field = WireFormat.GetTagFieldNumber(tag);
                if (field > 2)
                {
                    // Serializers write fields in number order: a later field means 1 and 2 are absent (empty).
                    laterField = true;
                    break;
                }
                if (WireFormat.GetTagWireType(tag) != WireFormat.WireType.LengthDelimited)
                {
                    return Invalid($"Field {field} of the request must be a string (length-delimited); it has wire type {WireFormat.GetTagWireType(tag)}.");
                }
                if (field == 1)
                {
                    name = input.ReadString();
                }
                else
                {
                    version = input.ReadString();
                }
            }
        }
        catch (InvalidProtocolBufferException ex)
        {
            return complete ? Invalid($"The gRPC message is not valid protobuf: {ex.Message}") : NotYet(endOfBody, length, count);
        }

        var known = (name is not null && version is not null) || laterField || complete;
        return known ? new FrameScan(FrameScanStatus.Complete, name ?? "", version ?? "", "") : NotYet(endOfBody, length, count);
    }

    private static FrameScan NotYet(bool endOfBody, int length, int count) => endOfBody
        ? Invalid($"The request ends inside its gRPC message: {length} bytes declared, {count - HeaderLength} sent.")
        : new FrameScan(FrameScanStatus.NeedMoreData, "", "", "");

    private static FrameScan Invalid(string error) => new(FrameScanStatus.Invalid, "", "", error);
}
