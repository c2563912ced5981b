using System.Runtime.InteropServices;
using MaaS.Inference.Runtime;
using MaaS.Inference.Sampling;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;

namespace MaaS.Inference.Tests.Sampling;

public sealed class InputSamplerTests
{
    [Fact]
    public void Drain_FewerRowsThanCapacity_EveryRowInOrderWithRowsSeen()
    {
        var sampler = Sampler(capacity: 10);

        sampler.Offer("m", 1, Check(2, 2), new FloatRows(1, 2, 3, 4));
        sampler.Offer("m", 1, Check(1, 2), new FloatRows(5, 6));

        var message = Assert.Single(sampler.Drain("replica-a"));
        Assert.Equal(("m", 1L, "replica-a", 3L), (message.ModelName, message.Version, message.ReplicaId, message.RowsSeen));
        Assert.Equal([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], message.Rows);
    }

    [Fact]
    public void Drain_ManyMoreRowsThanCapacity_SampleBoundedRowsSeenCounted()
    {
        var sampler = Sampler(capacity: 10);

        for (var i = 0; i < 1000; i++)
        {
            sampler.Offer("m", 1, Check(1, 1), new FloatRows(i));
        }
        sampler.Offer("m", 1, Check(500, 1), new FloatRows(Enumerable.Range(1000, 500).Select(i => (float)i).ToArray()));

        var message = Assert.Single(sampler.Drain("r"));
        Assert.Equal(1500, message.RowsSeen);
        Assert.Equal(10, message.Rows.Count);
        Assert.All(message.Rows, row => Assert.InRange(Assert.Single(row), 0, 1499));
        Assert.Equal(10, message.Rows.Select(r => r[0]).Distinct().Count());
    }

    [Fact]
    public void Drain_NextInterval_StartsAfreshAndForgetsIdleVersions()
    {
        var sampler = Sampler(capacity: 10);
        sampler.Offer("m", 1, Check(1, 1), new FloatRows(1));
        sampler.Drain("r");

        Assert.Empty(sampler.Drain("r"));

        sampler.Offer("m", 1, Check(1, 1), new FloatRows(7));
        var message = Assert.Single(sampler.Drain("r"));
        Assert.Equal(1, message.RowsSeen);
        Assert.Equal([[7.0]], message.Rows);
    }

    [Fact]
    public void Drain_TwoVersions_OneMessageEach()
    {
        var sampler = Sampler(capacity: 10);

        sampler.Offer("m", 1, Check(1, 1), new FloatRows(1));
        sampler.Offer("m", 2, Check(2, 1), new FloatRows(2, 3));

        var messages = sampler.Drain("r").OrderBy(m => m.Version).ToList();
        Assert.Equal([(1L, 1L), (2L, 2L)], messages.Select(m => (m.Version, m.RowsSeen)));
    }

    [Fact]
    public void Offer_NotADenseNumericInput_Skipped()
    {
        var sampler = Sampler(capacity: 10);

        sampler.Offer("rank3", 1, new TensorCheck("input", TensorTypes.Fp32, [1, 2, 2], 4), new FloatRows(1, 2, 3, 4));
        sampler.Offer("bools", 1, new TensorCheck("input", TensorTypes.Bool, [1, 4], 4), new FloatRows(1));
        sampler.Offer("empty", 1, Check(0, 3), new FloatRows());

        Assert.Empty(sampler.Drain("r"));
    }

    [Fact]
    public void Offer_Disabled_NothingSampled()
    {
        var options = new InferenceOptions { Sampling = new SamplingOptions { Enabled = false } };
        var sampler = new InputSampler(Options.Create(options), NullLogger<InputSampler>.Instance);

        sampler.Offer("m", 1, Check(2, 1), new FloatRows(1, 2));

        Assert.Empty(sampler.Drain("r"));
    }

    [Fact]
    public void SamplingOptions_OutOfRange_FailValidationNamingKey()
    {
        var options = new InferenceOptions { Sampling = new SamplingOptions { MaxRowsPerInterval = 0, IntervalSeconds = 0 } };

        var result = new SamplingOptions.Validator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("Inference:Sampling:MaxRowsPerInterval", result.FailureMessage);
        Assert.Contains("Inference:Sampling:IntervalSeconds", result.FailureMessage);
    }

    private static InputSampler Sampler(int capacity) =>
        new(Options.Create(new InferenceOptions { Sampling = new SamplingOptions { MaxRowsPerInterval = capacity } }), NullLogger<InputSampler>.Instance);

    private static TensorCheck Check(long rows, long features) => new("input", TensorTypes.Fp32, [rows, features], rows * features);

    /// <summary>FP32 values carried as typed contents would be: converted on copy, not readable in place.</summary>
    private sealed class FloatRows(params float[] values) : InputData
    {
        public override string? Check(TensorCheck tensor) => null;

        public override void CopyTo(TensorType type, Span<byte> destination) => MemoryMarshal.AsBytes(values.AsSpan()).CopyTo(destination);

        public override void CopyStringsTo(OrtValue tensor, int firstElement) => throw new NotSupportedException();
    }
}
