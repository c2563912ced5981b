using MaaS.ServiceDefaults;
using MaaS.Updater.Drift;
using MaaS.Updater.Storage;
using Microsoft.Extensions.Options;

namespace MaaS.Updater.Tests.Drift;

public sealed class DriftSampleStoreTests : IDisposable
{
    private readonly string dataDirectory = Path.Combine(Path.GetTempPath(), "maas-updater-drift-store-" + Guid.NewGuid().ToString("N"));
    private readonly DriftSampleStore store;

    public DriftSampleStoreTests()
    {
        var database = new UpdaterDatabase(Options.Create(new MeshHostOptions { GrpcPort = 1, DataDirectory = dataDirectory }));
        store = new DriftSampleStore(database, Options.Create(new DriftOptions { MaxSamplesPerModel = 50 }));
    }

    [Fact]
    public void Add_BeyondLimit_KeepsNewestRowsPerModel()
    {
        store.Add("m", 1, "r1", Guid.NewGuid(), Rows(0, 30));
        store.Add("m", 1, "r2", Guid.NewGuid(), Rows(30, 30));
        store.Add("other", 1, "r1", Guid.NewGuid(), Rows(100, 5));

        Assert.Equal(50, store.Count("m"));
        Assert.Equal(5, store.Count("other"));
        var newest = store.Newest("m", 100);
        Assert.Equal(Enumerable.Range(10, 50).Reverse().Select(i => (double)i), newest.Select(r => r[0]));
    }

    [Fact]
    public void Add_SameEventTwice_StoredOnce()
    {
        var id = Guid.NewGuid();

        Assert.Equal(3, store.Add("m", 1, "r1", id, Rows(0, 3)));
        Assert.Equal(0, store.Add("m", 1, "r1", id, Rows(0, 3)));

        Assert.Equal(3, store.Count("m"));
    }

    [Fact]
    public void Newest_Window_ExactValuesNewestFirst()
    {
        store.Add("m", 2, "r1", Guid.NewGuid(), [[1.5, -2.25], [0.1, 1e-300]]);

        Assert.Equal([[0.1, 1e-300]], store.Newest("m", 1));
    }

    [Fact]
    public void Usable_BadRows_DroppedAndCounted()
    {
        double[][] rows = [[1, 2], [], [double.NaN, 1], [3, 4, 5], [6, 7]];

        var usable = InputsSampledConsumer.Usable(rows, out var dropped);

        Assert.Equal([[1.0, 2.0], [6.0, 7.0]], usable);
        Assert.Equal(3, dropped);
    }

    private static List<double[]> Rows(int first, int count) => Enumerable.Range(first, count).Select(i => new double[] { i, -i }).ToList();

    public void Dispose()
    {
        try { Directory.Delete(dataDirectory, recursive: true); } catch (IOException) { }
    }
}
