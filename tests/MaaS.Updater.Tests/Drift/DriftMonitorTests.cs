using Grpc.Core;
using MaaS.ServiceDefaults;
using MaaS.Updater.Drift;
using MaaS.Updater.Storage;
using MaaS.Updater.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace MaaS.Updater.Tests.Drift;

public sealed class DriftMonitorTests : IDisposable
{
    private static readonly string[] Features = ["x0", "x1"];
    private readonly string dataDirectory = Path.Combine(Path.GetTempPath(), "maas-updater-drift-" + Guid.NewGuid().ToString("N"));
    private readonly DriftSampleStore store;
    private readonly FakeReference reference = new();
    private readonly DriftMonitor monitor;

    public DriftMonitorTests()
    {
        var database = new UpdaterDatabase(Options.Create(new MeshHostOptions { GrpcPort = 1, DataDirectory = dataDirectory }));
        store = new DriftSampleStore(database, Options.Create(new DriftOptions()));
        monitor = new DriftMonitor(store, reference, NullLogger<DriftMonitor>.Instance);
    }

    [Fact]
    public async Task CheckAsync_FewerSamplesThanMinimum_NullWithoutReadingReference()
    {
        Sample(Live(40, shift1: 0, seed: 3));

        var result = await monitor.CheckAsync("m", 1, Rule("psi", window: 200, minSamples: 50), CancellationToken.None);

        Assert.Null(result);
        Assert.Equal(0, reference.Calls);
    }

    [Fact]
    public async Task CheckAsync_SecondFeatureShifted_DriftedNamingItWithSamples()
    {
        Sample(Live(300, shift1: 1.5, seed: 3));

        var result = await monitor.CheckAsync("m", 1, Rule("psi", window: 200, minSamples: 50), CancellationToken.None);

        Assert.NotNull(result);
        Assert.True(result.Drifted);
        Assert.Equal(("psi", 200, 0.2), (result.Method, result.Samples, result.Threshold));
        Assert.True(result.StatisticByFeature["x1"] > 0.2);
        Assert.True(result.StatisticByFeature["x0"] < 0.2);
        Assert.Contains("'x1'", result.Reason);
        Assert.Contains("200 sampled inputs", result.Reason);
    }

    [Fact]
    public async Task CheckAsync_SameDistributionByKs_NotDrifted()
    {
        Sample(Live(300, shift1: 0, seed: 4));

        var result = await monitor.CheckAsync("m", 1, Rule("ks", threshold: 0.15, window: 300, minSamples: 100), CancellationToken.None);

        Assert.NotNull(result);
        Assert.False(result.Drifted);
        Assert.Equal("ks", result.Method);
        Assert.All(result.StatisticByFeature.Values, d => Assert.InRange(d, 0, 0.15));
        Assert.StartsWith("No input drift", result.Reason);
    }

    [Fact]
    public async Task CheckAsync_ShiftedSamplesOlderThanWindow_NotDrifted()
    {
        Sample(Live(300, shift1: 3, seed: 5));
        Sample(Live(200, shift1: 0, seed: 6));

        var result = await monitor.CheckAsync("m", 1, Rule("psi", window: 200, minSamples: 50), CancellationToken.None);

        Assert.False(result!.Drifted);
    }

    [Fact]
    public async Task CheckAsync_RowsOfAnotherWidth_LeftOut()
    {
        store.Add("m", 1, "r", Guid.NewGuid(), Enumerable.Range(0, 100).Select(i => new double[] { i }).ToList());

        Assert.Null(await monitor.CheckAsync("m", 1, Rule("ks", window: 100, minSamples: 10), CancellationToken.None));
    }

    [Theory]
    [InlineData("chi2", 0.2, 100, 10, "drift.method")]
    [InlineData("psi", 0, 100, 10, "drift.threshold")]
    [InlineData("psi", 0.2, 5, 5, "drift.window")]
    [InlineData("psi", 0.2, 100, 200, "drift.min_samples")]
    public async Task CheckAsync_ImpossibleRule_InvalidArgumentNamingField(string method, double threshold, int window, int minSamples, string field)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            monitor.CheckAsync("m", 1, Rule(method, threshold, window, minSamples), CancellationToken.None));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains(field, ex.Status.Detail);
    }

    private static DriftRule Rule(string method, double threshold = 0.2, int window = 200, int minSamples = 50) =>
        new() { Method = method, Threshold = threshold, Window = window, MinSamples = minSamples };

    private void Sample(List<double[]> rows) => store.Add("m", 1, "replica", Guid.NewGuid(), rows);

    /// <summary>Live rows: x0 like the training data, x1 shifted by <paramref name="shift1"/> standard deviations.</summary>
    private static List<double[]> Live(int count, double shift1, int seed)
    {
        var x0 = DriftStatisticsTests.Normal(count, 0, seed);
        var x1 = DriftStatisticsTests.Normal(count, shift1, seed + 1000);
        return Enumerable.Range(0, count).Select(i => new[] { x0[i], x1[i] }).ToList();
    }

    /// <summary>The champion's training data: two standard normal features.</summary>
    private sealed class FakeReference : IDriftReference
    {
        public int Calls { get; private set; }

        public Task<DriftReference> GetAsync(string model, long version, CancellationToken ct)
        {
            Calls++;
            var x0 = DriftStatisticsTests.Normal(5_000, 0, seed: 1);
            var x1 = DriftStatisticsTests.Normal(5_000, 0, seed: 2);
            var rows = Enumerable.Range(0, 5_000).Select(i => new[] { x0[i], x1[i] }).ToList();
            return Task.FromResult(DriftReference.FromRows(Features, rows, "fake dataset v1"));
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(dataDirectory, recursive: true); } catch (IOException) { }
    }
}
