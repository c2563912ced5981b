using System.Text;
using Grpc.Core;
using MaaS.Contracts;
using MaaS.Registry.Tests.Stores;
using MaaS.Registry.V1;

namespace MaaS.Registry.Tests;

/// <summary>Runs on every metadata store: <see cref="OnSqlite"/> and <see cref="OnPostgres"/> (a real PostgreSQL server).</summary>
public abstract class VersionLifecycleTests(RegistryStore store)
{
    [Fact]
    public async Task RegisterVersion_ConcurrentCallersOnTwoModels_DenseNumbersAndEventsInCommitOrder()
    {
        await using var host = new RegistryHost(store, dispatchOutbox: false);
        await host.CreateModelAsync("left");
        await host.CreateModelAsync("right");

        // Eight callers at once, alternating models: each store must hand out every number once and queue events as it commits.
        var registered = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            host.RegisterAsync(i % 2 == 0 ? "left" : "right", RegistryHost.Bytes(64, seed: 500 + i))));
        var events = host.OutboxEvents<ModelVersionRegistered>();

        foreach (var model in new[] { "left", "right" })
        {
            Assert.Equal(Enumerable.Range(1, 8).Select(v => (long)v), registered.Where(v => v.ModelName == model).Select(v => v.Version).Order());
            // Outbox order is commit order: per model, the numbers arrive 1, 2, 3 ...
            Assert.Equal(Enumerable.Range(1, 8).Select(v => (long)v), events.Where(e => e.ModelName == model).Select(e => e.Version));
        }
        Assert.Equal(16, events.Select(e => e.EventId).Distinct().Count());
    }

    [Fact]
    public async Task RegisterVersion_ModelCard_InGetVersionButNotInListPages()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelAsync("linear");
        var manifest = new VersionManifest
        {
            ModelName = "linear", ArtifactDigest = RegistryHost.Sha256(RegistryHost.Bytes(50, 1)), ModelCard = "# Linear\nFits y = 2x + 1.",
        };

        var registered = await host.RegisterAsync(manifest, RegistryHost.Bytes(50, 1));
        var fetched = (await host.Client.GetVersionAsync(new GetVersionRequest { ModelName = "linear", Version = 1 })).Version;
        var listed = Assert.Single((await host.Client.ListVersionsAsync(new ListVersionsRequest { ModelName = "linear" })).Versions);

        Assert.Equal("# Linear\nFits y = 2x + 1.", registered.ModelCard);
        Assert.Equal(registered, fetched);
        Assert.Equal("", listed.ModelCard);
        Assert.Equal(registered.ArtifactDigest, listed.ArtifactDigest);
    }

    [Fact]
    public async Task ListVersions_SevenVersionsInPagesOfThree_EachOnceOldestFirst()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelWithVersionsAsync("linear", 7);

        var pages = new List<long[]>();
        var token = "";
        do
        {
            var page = await host.Client.ListVersionsAsync(new ListVersionsRequest { ModelName = "linear", PageSize = 3, PageToken = token });
            pages.Add(page.Versions.Select(v => v.Version).ToArray());
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        Assert.Equal([[1L, 2L, 3L], [4L, 5L, 6L], [7L]], pages);
    }

    [Fact]
    public async Task ListVersions_UnknownModel_NotFound()
    {
        await using var host = new RegistryHost(store);

        await Expect.Status(StatusCode.NotFound,
            () => host.Client.ListVersionsAsync(new ListVersionsRequest { ModelName = "ghost" }).ResponseAsync, "'ghost' does not exist");
    }

    [Fact]
    public async Task ArchiveVersion_Unused_ArchivedStaysReadableAndEventWritten()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelWithVersionsAsync("linear", 2);

        var archived = (await host.Client.ArchiveVersionAsync(new ArchiveVersionRequest
        {
            ModelName = "linear", Version = 1, Actor = "ops", Reason = "superseded",
        })).Version;
        var again = (await host.Client.ArchiveVersionAsync(new ArchiveVersionRequest { ModelName = "linear", Version = 1 })).Version;
        var (downloaded, bytes, _) = await host.DownloadArtifactAsync("linear", 1);

        Assert.Equal(VersionStatus.Archived, archived.Status);
        Assert.Equal(VersionStatus.Archived, again.Status);
        Assert.Equal(VersionStatus.Archived, downloaded.Status);
        Assert.Equal(64, bytes.Length);
        var evt = Assert.Single(host.OutboxEvents<VersionArchived>());
        Assert.Equal(("linear", 1L, "ops", "superseded"), (evt.ModelName, evt.Version, evt.Actor, evt.Reason));
    }

    public static TheoryData<string, string> Uses => new()
    {
        { "alias", "is behind alias 'production'" },
        { "entry", "is in deployment revision 1 (pool 'default', weight 100)" },
        { "shadow", "is the shadow of deployment revision 1 (10% mirrored)" },
    };

    [Theory]
    [MemberData(nameof(Uses))]
    public async Task ArchiveVersion_InUse_FailedPreconditionNamingTheUse(string use, string expected)
    {
        await using var host = new RegistryHost(store);
        await PutInUseAsync(host, use);

        await Expect.Status(StatusCode.FailedPrecondition,
            () => host.Client.ArchiveVersionAsync(new ArchiveVersionRequest { ModelName = "linear", Version = 2 }).ResponseAsync,
            "Version 2 of model 'linear'", expected, "before archiving it");
        var version = (await host.Client.GetVersionAsync(new GetVersionRequest { ModelName = "linear", Version = 2 })).Version;
        Assert.Equal(VersionStatus.Ready, version.Status);
    }

    [Theory]
    [MemberData(nameof(Uses))]
    public async Task DeleteVersion_InUse_FailedPreconditionNamingTheUse(string use, string expected)
    {
        await using var host = new RegistryHost(store);
        await PutInUseAsync(host, use);

        await Expect.Status(StatusCode.FailedPrecondition,
            () => host.Client.DeleteVersionAsync(new DeleteVersionRequest { ModelName = "linear", Version = 2 }).ResponseAsync,
            "Version 2 of model 'linear'", expected, "before deleting it");
        Assert.Equal(2, (await host.Client.GetVersionAsync(new GetVersionRequest { ModelName = "linear", Version = 2 })).Version.Version);
    }

    [Fact]
    public async Task DeleteVersion_Unused_MetadataAndBlobGoneAndNumberNeverReused()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelWithVersionsAsync("linear", 2);
        var v2 = (await host.Client.GetVersionAsync(new GetVersionRequest { ModelName = "linear", Version = 2 })).Version;

        var deleted = await host.Client.DeleteVersionAsync(new DeleteVersionRequest
        {
            ModelName = "linear", Version = 2, Actor = "ops", Reason = "bad data",
        });
        var next = await host.RegisterAsync("linear", RegistryHost.Bytes(64, seed: 1234));

        Assert.True(deleted.ArtifactDeleted);
        Assert.False(File.Exists(host.BlobPath(v2.ArtifactDigest)));
        await Expect.Status(StatusCode.NotFound,
            () => host.Client.GetVersionAsync(new GetVersionRequest { ModelName = "linear", Version = 2 }).ResponseAsync, "no version 2");
        Assert.Equal(3, next.Version);
        var evt = Assert.Single(host.OutboxEvents<VersionDeleted>());
        Assert.Equal(("linear", 2L, v2.ArtifactDigest, "bad data"), (evt.ModelName, evt.Version, evt.ArtifactDigest, evt.Reason));
    }

    [Fact]
    public async Task DeleteVersion_SameBytesInAnotherVersion_BlobKeptAndStillServed()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelAsync("linear");
        var artifact = RegistryHost.Bytes(500, seed: 5);
        await host.RegisterAsync("linear", artifact);
        await host.RegisterAsync("linear", artifact);

        var deleted = await host.Client.DeleteVersionAsync(new DeleteVersionRequest { ModelName = "linear", Version = 2 });
        var (_, bytes, _) = await host.DownloadArtifactAsync("linear", 1);

        Assert.False(deleted.ArtifactDeleted);
        Assert.Equal(artifact, bytes);
    }

    [Fact]
    public async Task DeleteVersion_SameBytesAsDataset_BlobKeptForTheDataset()
    {
        await using var host = new RegistryHost(store);
        var content = Encoding.UTF8.GetBytes("x,y\n1,2\n");
        await host.UploadDatasetAsync("points", content);
        await host.CreateModelAsync("linear");
        await host.RegisterAsync("linear", content);

        var deleted = await host.Client.DeleteVersionAsync(new DeleteVersionRequest { ModelName = "linear", Version = 1 });
        var (_, bytes) = await host.DownloadDatasetAsync("points", 1);

        Assert.False(deleted.ArtifactDeleted);
        Assert.Equal(content, bytes);
    }

    [Fact]
    public async Task DeleteVersion_OnlyInOlderDeploymentRevision_Allowed()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelWithVersionsAsync("linear", 2);
        await host.Client.SetDeploymentAsync(DeploymentTests.Request("linear", [(1, "default", 100)]));
        await host.Client.SetDeploymentAsync(DeploymentTests.Request("linear", [(2, "default", 100)]));

        var deleted = await host.Client.DeleteVersionAsync(new DeleteVersionRequest { ModelName = "linear", Version = 1 });
        var history = await host.Client.GetDeploymentHistoryAsync(new GetDeploymentHistoryRequest { ModelName = "linear" });

        Assert.Equal(1, deleted.Version);
        Assert.Equal(1, history.Deployments[^1].Entries[0].Version); // history still names what was deployed
    }

    [Fact]
    public async Task ArchiveAndDelete_UnknownVersion_NotFound()
    {
        await using var host = new RegistryHost(store);
        await host.CreateModelAsync("linear");

        await Expect.Status(StatusCode.NotFound,
            () => host.Client.ArchiveVersionAsync(new ArchiveVersionRequest { ModelName = "linear", Version = 9 }).ResponseAsync, "no version 9");
        await Expect.Status(StatusCode.NotFound,
            () => host.Client.DeleteVersionAsync(new DeleteVersionRequest { ModelName = "linear", Version = 9 }).ResponseAsync, "no version 9");
        await Expect.Status(StatusCode.NotFound,
            () => host.Client.DeleteVersionAsync(new DeleteVersionRequest { ModelName = "ghost", Version = 1 }).ResponseAsync, "'ghost' does not exist");
    }

    /// <summary>Model "linear" with versions 1 and 2, version 2 used by an alias, a deployment entry or a shadow.</summary>
    private static async Task PutInUseAsync(RegistryHost host, string use)
    {
        await host.CreateModelWithVersionsAsync("linear", 2);
        switch (use)
        {
            case "alias":
                await host.SetAliasAsync("linear", "production", 2);
                break;
            case "entry":
                await host.Client.SetDeploymentAsync(DeploymentTests.Request("linear", [(2, "default", 100)]));
                break;
            default:
                await host.Client.SetDeploymentAsync(DeploymentTests.Request("linear", [(1, "default", 100)], shadow: (2, 10)));
                break;
        }
    }

    /// <summary>On SQLite.</summary>
    public sealed class OnSqlite() : VersionLifecycleTests(RegistryStore.Sqlite);

    /// <summary>On PostgreSQL.</summary>
    [Collection(PostgresCollection.Name)]
    public sealed class OnPostgres(PostgresServer server) : VersionLifecycleTests(server);
}
