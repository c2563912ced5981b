using System.Text;
using Google.Protobuf;
using Grpc.Core;
using MaaS.Registry.V1;
using MaaS.Updater.Drift;
using MaaS.Updater.Registry;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace MaaS.Updater.Tests.Drift;

public sealed class RegistryDriftReferenceTests
{
    private readonly FakeRegistryClient client = new();
    private readonly RegistryDriftReference references;

    public RegistryDriftReferenceTests()
    {
        references = new RegistryDriftReference(new RegistryGateway(client), Options.Create(new DriftOptions()), NullLogger<RegistryDriftReference>.Instance);
    }

    [Fact]
    public async Task GetAsync_VersionWithLineage_FeatureColumnsInModelOrderFromItsDataset()
    {
        var reference = await references.GetAsync("m", 1, CancellationToken.None);

        Assert.Equal(["b", "a"], reference.Features.Select(f => f.Name));
        Assert.Equal([10.0, 20.0, 30.0], reference.Features[0].Sorted);
        Assert.Equal([1.0, 2.0, 3.0], reference.Features[1].Sorted);
        Assert.Contains("train v2", reference.Source);
    }

    [Fact]
    public async Task GetAsync_SameVersionAgain_DownloadedOnceNewVersionAgain()
    {
        await references.GetAsync("m", 1, CancellationToken.None);
        await references.GetAsync("m", 1, CancellationToken.None);
        Assert.Equal(1, client.Downloads);

        await references.GetAsync("m", 2, CancellationToken.None);
        Assert.Equal(2, client.Downloads);
    }

    [Fact]
    public async Task GetAsync_DatasetLacksFeatureColumn_FailedPreconditionNamingIt()
    {
        client.Csv = "a,y\n1,0\n";

        var ex = await Assert.ThrowsAsync<RpcException>(() => references.GetAsync("m", 1, CancellationToken.None));

        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Contains("'b'", ex.Status.Detail);
    }

    /// <summary>A registry whose versions of "m" train on dataset "train" v2 with features "b,a"; the dataset is <see cref="Csv"/>.</summary>
    private sealed class FakeRegistryClient : RegistryService.RegistryServiceClient
    {
        public string Csv { get; set; } = "a,b,y\n3,30,0\n1,10,0\n2,20,1\n";

        public int Downloads { get; private set; }

        public override AsyncUnaryCall<GetVersionResponse> GetVersionAsync(GetVersionRequest request, CallOptions options)
        {
            var version = new ModelVersion
            {
                ModelName = request.ModelName,
                Version = request.Version,
                Hyperparameters = { ["feature_columns"] = "b,a", ["label_column"] = "y" },
                Lineage = new Lineage { DatasetName = "train", DatasetVersion = 2 },
            };
            return new AsyncUnaryCall<GetVersionResponse>(Task.FromResult(new GetVersionResponse { Version = version }),
                Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
        }

        public override AsyncServerStreamingCall<DownloadDatasetResponse> DownloadDataset(DownloadDatasetRequest request, CallOptions options)
        {
            Downloads++;
            var bytes = Encoding.UTF8.GetBytes(Csv);
            DownloadDatasetResponse[] messages =
            [
                new() { Dataset = new DatasetVersion { Name = request.Name, Version = request.Version, Format = "csv" } },
                new() { Chunk = ByteString.CopyFrom(bytes, 0, bytes.Length / 2) },
                new() { Chunk = ByteString.CopyFrom(bytes, bytes.Length / 2, bytes.Length - bytes.Length / 2) },
            ];
            return new AsyncServerStreamingCall<DownloadDatasetResponse>(new Reader(messages),
                Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
        }

        private sealed class Reader(DownloadDatasetResponse[] messages) : IAsyncStreamReader<DownloadDatasetResponse>
        {
            private int next = -1;

            public DownloadDatasetResponse Current => messages[next];

            public Task<bool> MoveNext(CancellationToken cancellationToken) => Task.FromResult(++next < messages.Length);
        }
    }
}
