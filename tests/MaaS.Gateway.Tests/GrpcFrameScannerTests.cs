using System.Buffers.Binary;
using Google.Protobuf;
using Inference;
using MaaS.Gateway.Forwarding;

namespace MaaS.Gateway.Tests;

public sealed class GrpcFrameScannerTests
{
    [Fact]
    public void Scan_ModelInferRequestWithLargeRawContents_ReturnsNameAndVersion()
    {
        var frame = Frame(LargeInferRequest("house-prices", "3"));

        var scan = GrpcFrameScanner.Scan(frame, frame.Length, endOfBody: true);

        Assert.Equal(FrameScanStatus.Complete, scan.Status);
        Assert.Equal("house-prices", scan.Name);
        Assert.Equal("3", scan.Version);
    }

    [Fact]
    public void Scan_OnlyTheFirstBytesOfALargeRequest_AnswersWithoutTheRest()
    {
        var frame = Frame(LargeInferRequest("house-prices", "3"));

        var scan = GrpcFrameScanner.Scan(frame, 64, endOfBody: false);

        Assert.Equal(FrameScanStatus.Complete, scan.Status);
        Assert.Equal("house-prices", scan.Name);
        Assert.Equal("3", scan.Version);
    }

    [Fact]
    public void Scan_VersionMissing_ReturnsEmptyVersion()
    {
        var frame = Frame(LargeInferRequest("house-prices", ""));

        var scan = GrpcFrameScanner.Scan(frame, 64, endOfBody: false);

        Assert.Equal(FrameScanStatus.Complete, scan.Status);
        Assert.Equal("house-prices", scan.Name);
        Assert.Equal("", scan.Version);
    }

    [Fact]
    public void Scan_ModelReadyRequestWithNameOnly_ReturnsEmptyVersion()
    {
        var frame = Frame(new ModelReadyRequest { Name = "m" });

        var scan = GrpcFrameScanner.Scan(frame, frame.Length, endOfBody: true);

        Assert.Equal(FrameScanStatus.Complete, scan.Status);
        Assert.Equal("m", scan.Name);
        Assert.Equal("", scan.Version);
    }

    [Fact]
    public void Scan_ModelMetadataRequest_ReturnsNameAndVersion()
    {
        var frame = Frame(new ModelMetadataRequest { Name = "m", Version = "production" });

        var scan = GrpcFrameScanner.Scan(frame, frame.Length, endOfBody: true);

        Assert.Equal(("m", "production"), (scan.Name, scan.Version));
    }

    [Fact]
    public void Scan_CompressedFlag_IsInvalid()
    {
        var frame = Frame(new ModelReadyRequest { Name = "m", Version = "1" });
        frame[0] = 1;

        var scan = GrpcFrameScanner.Scan(frame, frame.Length, endOfBody: true);

        Assert.Equal(FrameScanStatus.Invalid, scan.Status);
        Assert.Contains("compressed", scan.Error);
    }

    [Fact]
    public void Scan_DeclaredLengthOverTheMeshLimit_TooLarge()
    {
        var frame = Frame(new ModelReadyRequest { Name = "m", Version = "1" });
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1, 4), (uint)MaaS.ServiceDefaults.MeshHostingExtensions.MaxMessageBytes + 1);

        var scan = GrpcFrameScanner.Scan(frame, frame.Length, endOfBody: false);

        Assert.Equal(FrameScanStatus.TooLarge, scan.Status);
        Assert.Contains("the limit is", scan.Error);
    }

    [Fact]
    public void Scan_TruncatedFrame_IsInvalidAtEndOfBody()
    {
        var frame = Frame(new ModelReadyRequest { Name = "a-long-model-name", Version = "1" });

        var scan = GrpcFrameScanner.Scan(frame, 10, endOfBody: true);

        Assert.Equal(FrameScanStatus.Invalid, scan.Status);
        Assert.Contains("ends inside", scan.Error);
    }

    [Fact]
    public void Scan_TruncatedFrame_NeedsMoreDataWhileBodyContinues()
    {
        var frame = Frame(new ModelReadyRequest { Name = "a-long-model-name", Version = "1" });

        Assert.Equal(FrameScanStatus.NeedMoreData, GrpcFrameScanner.Scan(frame, 3, endOfBody: false).Status);
        Assert.Equal(FrameScanStatus.NeedMoreData, GrpcFrameScanner.Scan(frame, 10, endOfBody: false).Status);
    }

    [Fact]
    public void Scan_EmptyBody_IsInvalid()
    {
        var scan = GrpcFrameScanner.Scan([], 0, endOfBody: true);

        Assert.Equal(FrameScanStatus.Invalid, scan.Status);
    }

    [Fact]
    public void Scan_NameWithWrongWireType_IsInvalid()
    {
        // Field 1 as a varint (tag 0x08) where a string belongs.
        byte[] message = [0x08, 0x01];
        var frame = Frame(message);

        var scan = GrpcFrameScanner.Scan(frame, frame.Length, endOfBody: true);

        Assert.Equal(FrameScanStatus.Invalid, scan.Status);
        Assert.Contains("Field 1", scan.Error);
    }

    [Fact]
    public async Task PeekAsync_LargeRequestReadInSmallPieces_ReplayedBodyEqualsOriginal()
    {
        var frame = Frame(LargeInferRequest("house-prices", "7"));
        var body = new TrickleStream(frame, piece: 3);

        var peeked = await GrpcRequestPeeker.PeekAsync(body, CancellationToken.None);
        using var copy = new MemoryStream();
        await peeked.Body.CopyToAsync(copy);

        Assert.Equal(("house-prices", "7"), (peeked.Scan.Name, peeked.Scan.Version));
        Assert.Equal(frame, copy.ToArray());
    }

    [Fact]
    public async Task ReplayStream_RewindBeforeTheRestIsRead_YieldsTheSameBytesAgain()
    {
        var frame = Frame(new ModelReadyRequest { Name = "m", Version = "1" });
        var peeked = await GrpcRequestPeeker.PeekAsync(new MemoryStream(frame), CancellationToken.None);
        var first = new byte[frame.Length];
        await peeked.Body.ReadExactlyAsync(first);

        Assert.True(peeked.Body.TryRewind());
        using var again = new MemoryStream();
        await peeked.Body.CopyToAsync(again);

        Assert.Equal(frame, first);
        Assert.Equal(frame, again.ToArray());
        // Only the end of the body was met past the peeked bytes: nothing is lost, so it can rewind again.
        Assert.True(peeked.Body.TryRewind());
    }

    [Fact]
    public async Task ReplayStream_BytesPastThePeekRead_CannotRewind()
    {
        var frame = Frame(new ModelReadyRequest { Name = "m", Version = "1" });
        var peeked = await GrpcRequestPeeker.PeekAsync(new MemoryStream([.. frame, .. new byte[10_000]]), CancellationToken.None);
        using var all = new MemoryStream();
        await peeked.Body.CopyToAsync(all);

        Assert.Equal(frame.Length + 10_000, all.Length);
        Assert.False(peeked.Body.TryRewind());
    }

    [Fact]
    public async Task BufferAsync_BodyWithinLimit_IsWholeAndRewindable()
    {
        var frame = Frame(new ModelReadyRequest { Name = "m", Version = "1" });
        var body = new byte[20_000];
        frame.CopyTo(body, 0);
        var peeked = await GrpcRequestPeeker.PeekAsync(new MemoryStream(body), CancellationToken.None);

        var (within, buffered) = await GrpcRequestPeeker.BufferAsync(peeked.Body, 20_000, CancellationToken.None);
        using var first = new MemoryStream();
        await within.CopyToAsync(first);
        Assert.True(buffered);
        Assert.True(within.TryRewind());
        using var second = new MemoryStream();
        await within.CopyToAsync(second);

        Assert.Equal(body, first.ToArray());
        Assert.Equal(body, second.ToArray());
    }

    [Fact]
    public async Task BufferAsync_BodyOverLimit_StreamsEveryByteButIsNotBuffered()
    {
        var frame = Frame(new ModelReadyRequest { Name = "m", Version = "1" });
        var body = new byte[20_000];
        frame.CopyTo(body, 0);
        body[^1] = 7;
        var peeked = await GrpcRequestPeeker.PeekAsync(new MemoryStream(body), CancellationToken.None);

        var (over, buffered) = await GrpcRequestPeeker.BufferAsync(peeked.Body, 1000, CancellationToken.None);
        using var copy = new MemoryStream();
        await over.CopyToAsync(copy);

        Assert.False(buffered);
        Assert.Equal(body, copy.ToArray());
        Assert.False(over.TryRewind());
    }

    [Fact]
    public void PercentEncode_NonAsciiAndPercent_AreEscaped()
    {
        Assert.Equal("model 'm' is 100%25 unknown %C3%A9", GatewayResponses.PercentEncode("model 'm' is 100% unknown é"));
    }

    internal static ModelInferRequest LargeInferRequest(string model, string version)
    {
        var raw = new byte[1 << 20];
        new Random(7).NextBytes(raw);
        var request = new ModelInferRequest { ModelName = model, ModelVersion = version, Id = "req-1" };
        request.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = "FP32", Shape = { 1, raw.Length / 4 } });
        request.RawInputContents.Add(ByteString.CopyFrom(raw));
        return request;
    }

    internal static byte[] Frame(IMessage message) => Frame(message.ToByteArray());

    private static byte[] Frame(byte[] message)
    {
        var frame = new byte[GrpcFrameScanner.HeaderLength + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1, 4), (uint)message.Length);
        message.CopyTo(frame, GrpcFrameScanner.HeaderLength);
        return frame;
    }

    /// <summary>A body that arrives a few bytes at a time, as a slow client's would.</summary>
    private sealed class TrickleStream(byte[] data, int piece) : MemoryStream(data)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(piece, buffer.Length)], cancellationToken);
    }
}
