using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using MaaS.Registry.V1;

namespace MaaS.Registry.Tests;

/// <summary>Every rule of issue 4 part 7: each breach is InvalidArgument with a sentence naming the field and the rule.</summary>
public sealed class ValidationTests
{
    private const string NameRule = "must match ^[a-z0-9][a-z0-9._-]{0,62}$ without '..'";

    [Theory]
    [InlineData("")]
    [InlineData("House")]
    [InlineData("-lead")]
    [InlineData(".hidden")]
    [InlineData("_under")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("a..b")]
    [InlineData("a b")]
    [InlineData("ünï")]
    [InlineData("a234567890123456789012345678901234567890123456789012345678901234")] // 64 characters
    public async Task CreateModel_BadName_InvalidArgumentNamingField(string name)
    {
        await using var host = new RegistryHost();

        await Expect.Status(StatusCode.InvalidArgument,
            () => host.Client.CreateModelAsync(new CreateModelRequest { Name = name }).ResponseAsync, $"name {NameRule}");
    }

    [Theory]
    [InlineData("a")]
    [InlineData("a.b_c-d")]
    [InlineData("9lives")]
    [InlineData("a23456789012345678901234567890123456789012345678901234567890123")] // 63 characters
    public async Task CreateModel_NameWithinRule_Created(string name)
    {
        await using var host = new RegistryHost();

        var model = (await host.Client.CreateModelAsync(new CreateModelRequest { Name = name })).Model;

        Assert.Equal(name, model.Name);
    }

    public static TheoryData<string, string> NamedFields => new()
    {
        { "GetModel.name", "name" },
        { "GetVersion.model_name", "model_name" },
        { "GetVersion.alias", "alias" },
        { "ListVersions.model_name", "model_name" },
        { "SetAlias.alias", "alias" },
        { "DeleteAlias.alias", "alias" },
        { "GetAliasHistory.alias", "alias" },
        { "GetServingVersion.alias", "alias" },
        { "Rollback.alias", "alias" },
        { "GetDeployment.model_name", "model_name" },
        { "SetDeployment.model_name", "model_name" },
        { "ArchiveVersion.model_name", "model_name" },
        { "DeleteVersion.model_name", "model_name" },
        { "GetDataset.name", "name" },
        { "ListDatasets.name", "name" },
        { "ListModels.tag", "tag" },
        { "ListModels.alias", "alias" },
        { "UploadDataset.manifest.name", "manifest.name" },
        { "RegisterVersion.manifest.model_name", "manifest.model_name" },
    };

    [Theory]
    [MemberData(nameof(NamedFields))]
    public async Task AnyRpc_BadNameInField_InvalidArgumentNamingThatField(string rpc, string field)
    {
        await using var host = new RegistryHost();
        const string bad = "Bad..Name";
        var c = host.Client;
        Func<Task> call = rpc switch
        {
            "GetModel.name" => () => c.GetModelAsync(new GetModelRequest { Name = bad }).ResponseAsync,
            "GetVersion.model_name" => () => c.GetVersionAsync(new GetVersionRequest { ModelName = bad, Version = 1 }).ResponseAsync,
            "GetVersion.alias" => () => c.GetVersionAsync(new GetVersionRequest { ModelName = "m", Alias = bad }).ResponseAsync,
            "ListVersions.model_name" => () => c.ListVersionsAsync(new ListVersionsRequest { ModelName = bad }).ResponseAsync,
            "SetAlias.alias" => () => c.SetAliasAsync(new SetAliasRequest { ModelName = "m", Alias = bad, Version = 1 }).ResponseAsync,
            "DeleteAlias.alias" => () => c.DeleteAliasAsync(new DeleteAliasRequest { ModelName = "m", Alias = bad }).ResponseAsync,
            "GetAliasHistory.alias" => () => c.GetAliasHistoryAsync(new GetAliasHistoryRequest { ModelName = "m", Alias = bad }).ResponseAsync,
            "GetServingVersion.alias" => () => c.GetServingVersionAsync(new GetServingVersionRequest { ModelName = "m", Alias = bad }).ResponseAsync,
            "Rollback.alias" => () => c.RollbackAsync(new RollbackRequest { ModelName = "m", Alias = bad }).ResponseAsync,
            "GetDeployment.model_name" => () => c.GetDeploymentAsync(new GetDeploymentRequest { ModelName = bad }).ResponseAsync,
            "SetDeployment.model_name" => () => c.SetDeploymentAsync(new SetDeploymentRequest { ModelName = bad }).ResponseAsync,
            "ArchiveVersion.model_name" => () => c.ArchiveVersionAsync(new ArchiveVersionRequest { ModelName = bad, Version = 1 }).ResponseAsync,
            "DeleteVersion.model_name" => () => c.DeleteVersionAsync(new DeleteVersionRequest { ModelName = bad, Version = 1 }).ResponseAsync,
            "GetDataset.name" => () => c.GetDatasetAsync(new GetDatasetRequest { Name = bad }).ResponseAsync,
            "ListDatasets.name" => () => c.ListDatasetsAsync(new ListDatasetsRequest { Name = bad }).ResponseAsync,
            "ListModels.tag" => () => c.ListModelsAsync(new ListModelsRequest { Tag = bad }).ResponseAsync,
            "ListModels.alias" => () => c.ListModelsAsync(new ListModelsRequest { Alias = bad }).ResponseAsync,
            "UploadDataset.manifest.name" => () => host.UploadDatasetAsync(bad, "x\n1\n"u8.ToArray()),
            "RegisterVersion.manifest.model_name" => () => host.RegisterAsync(bad, [1, 2, 3]),
            _ => throw new ArgumentOutOfRangeException(nameof(rpc)),
        };

        await Expect.Status(StatusCode.InvalidArgument, call, $"{field} {NameRule}", "'Bad..Name'");
    }

    [Theory]
    [InlineData("Bad")]
    [InlineData("a/b")]
    [InlineData("x..")]
    public async Task ListModels_BadNamePrefix_InvalidArgument(string prefix)
    {
        await using var host = new RegistryHost();

        await Expect.Status(StatusCode.InvalidArgument,
            () => host.Client.ListModelsAsync(new ListModelsRequest { NamePrefix = prefix }).ResponseAsync, "name_prefix must be empty or the start of a name");
    }

    [Fact]
    public async Task CreateModel_ThirtyThreeTags_InvalidArgument()
    {
        await using var host = new RegistryHost();
        var request = new CreateModelRequest { Name = "m" };
        request.Tags.AddRange(Enumerable.Range(0, 33).Select(i => $"t{i}"));

        await Expect.Status(StatusCode.InvalidArgument, () => host.Client.CreateModelAsync(request).ResponseAsync,
            "tags may hold at most 32 tags; it has 33");
    }

    [Theory]
    [InlineData("Vision", "tags[1] must match")]
    [InlineData("a234567890123456789012345678901234567890123456789012345678901234", "tags[1] must match")]
    [InlineData("ok", "tags[1] 'ok' is listed twice")]
    public async Task CreateModel_BadTag_InvalidArgumentNamingTag(string tag, string expected)
    {
        await using var host = new RegistryHost();

        await Expect.Status(StatusCode.InvalidArgument,
            () => host.Client.CreateModelAsync(new CreateModelRequest { Name = "m", Tags = { "ok", tag } }).ResponseAsync, expected);
    }

    [Theory]
    [InlineData(4097, 'a', false)]
    [InlineData(4096, 'a', true)]
    [InlineData(1366, '€', false)] // 1,366 characters but 4,098 bytes of UTF-8
    [InlineData(1365, '€', true)]
    public async Task CreateModel_DescriptionSize_LimitedTo4KiBOfUtf8(int characters, char c, bool accepted)
    {
        await using var host = new RegistryHost();
        var request = new CreateModelRequest { Name = "m", Description = new string(c, characters) };

        if (accepted)
        {
            Assert.Equal(request.Description, (await host.Client.CreateModelAsync(request)).Model.Description);
        }
        else
        {
            await Expect.Status(StatusCode.InvalidArgument, () => host.Client.CreateModelAsync(request).ResponseAsync,
                "description must be at most 4096 bytes of UTF-8");
        }
    }

    [Theory]
    [InlineData("task")]
    [InlineData("owner")]
    public async Task CreateModel_ShortTextOver256_InvalidArgument(string field)
    {
        await using var host = new RegistryHost();
        var request = new CreateModelRequest { Name = "m" };
        if (field == "task") request.Task = new string('x', 257); else request.Owner = new string('x', 257);

        await Expect.Status(StatusCode.InvalidArgument, () => host.Client.CreateModelAsync(request).ResponseAsync,
            $"{field} must be at most 256 characters");
    }

    [Fact]
    public async Task RegisterVersion_ModelCardOver64KiB_InvalidArgumentNothingRegistered()
    {
        await using var host = new RegistryHost();
        await host.CreateModelAsync("m");
        var artifact = RegistryHost.Bytes(10, 1);
        var manifest = new VersionManifest { ModelName = "m", ArtifactDigest = RegistryHost.Sha256(artifact), ModelCard = new string('x', 65537) };

        await Expect.Status(StatusCode.InvalidArgument, () => host.RegisterAsync(manifest, artifact),
            "manifest.model_card must be at most 65536 bytes of UTF-8");
        Assert.Equal(0, (await host.Client.GetModelAsync(new GetModelRequest { Name = "m" })).Model.LatestVersion);
    }

    public static TheoryData<string, int> PagedRpcs => new()
    {
        { "ListModels", -1 }, { "ListModels", 501 }, { "SearchModels", 501 }, { "ListVersions", 501 },
        { "GetAliasHistory", -5 }, { "ListDatasets", 1000 }, { "GetDeploymentHistory", 501 },
    };

    [Theory]
    [MemberData(nameof(PagedRpcs))]
    public async Task PagedRpc_PageSizeOutOfRange_InvalidArgument(string rpc, int size)
    {
        await using var host = new RegistryHost();

        await Expect.Status(StatusCode.InvalidArgument, Paged(host.Client, rpc, size, ""), $"page_size must be between 0 and 500 (0 = 500); it is {size}");
    }

    [Theory]
    [InlineData("ListModels")]
    [InlineData("SearchModels")]
    [InlineData("ListVersions")]
    [InlineData("GetAliasHistory")]
    [InlineData("ListDatasets")]
    [InlineData("GetDeploymentHistory")]
    public async Task PagedRpc_ForgedPageToken_InvalidArgument(string rpc)
    {
        await using var host = new RegistryHost();

        await Expect.Status(StatusCode.InvalidArgument, Paged(host.Client, rpc, 10, "not-a-token!"), "page_token must be empty or the next_page_token");
    }

    [Fact]
    public async Task SearchModels_QueryOver256_InvalidArgument()
    {
        await using var host = new RegistryHost();

        await Expect.Status(StatusCode.InvalidArgument,
            () => host.Client.SearchModelsAsync(new SearchModelsRequest { Query = new string('q', 257) }).ResponseAsync,
            "query must be at most 256 characters");
    }

    [Theory]
    [InlineData("actor", 257, "actor must be at most 256 characters")]
    [InlineData("reason", 4097, "reason must be at most 4096 characters")]
    public async Task SetAlias_ActorOrReasonTooLong_InvalidArgument(string field, int length, string expected)
    {
        await using var host = new RegistryHost();
        var request = new SetAliasRequest { ModelName = "m", Alias = "production", Version = 1 };
        if (field == "actor") request.Actor = new string('a', length); else request.Reason = new string('r', length);

        await Expect.Status(StatusCode.InvalidArgument, () => host.Client.SetAliasAsync(request).ResponseAsync, expected);
    }

    [Theory]
    [InlineData("SetAlias")]
    [InlineData("ArchiveVersion")]
    [InlineData("DeleteVersion")]
    public async Task VersionRpc_VersionZero_InvalidArgument(string rpc)
    {
        await using var host = new RegistryHost();
        var c = host.Client;
        Func<Task> call = rpc switch
        {
            "SetAlias" => () => c.SetAliasAsync(new SetAliasRequest { ModelName = "m", Alias = "a" }).ResponseAsync,
            "ArchiveVersion" => () => c.ArchiveVersionAsync(new ArchiveVersionRequest { ModelName = "m" }).ResponseAsync,
            _ => () => c.DeleteVersionAsync(new DeleteVersionRequest { ModelName = "m" }).ResponseAsync,
        };

        await Expect.Status(StatusCode.InvalidArgument, call, "version must be at least 1; it is 0");
    }

    [Fact]
    public async Task GetServingVersion_TimestampOutOfRange_InvalidArgument()
    {
        await using var host = new RegistryHost();

        await Expect.Status(StatusCode.InvalidArgument,
            () => host.Client.GetServingVersionAsync(new GetServingVersionRequest { ModelName = "m", At = new Timestamp { Seconds = long.MaxValue } }).ResponseAsync,
            "at must be a valid timestamp");
    }

    public static TheoryData<string, string> BadDeployments => new()
    {
        { "seventeen-entries", "entries may hold at most 16 entries; it has 17" },
        { "version-zero", "entries[0].version must be at least 1; it is 0" },
        { "pool-bad-characters", "entries[0].pool must match ^[A-Za-z0-9._-]{1,64}$" },
        { "pool-empty", "entries[0].pool must match" },
        { "weight-over-100", "entries[0].weight must be between 0 and 100; it is 101" },
        { "weight-negative", "entries[1].weight must be between 0 and 100; it is -10" },
        { "weights-sum-90", "entries[].weight must sum to 100; they sum to 90" },
        { "same-version-same-pool", "entries[1] repeats version 1 on pool 'default'" },
        { "shadow-without-entries", "shadow needs at least one entry" },
        { "shadow-version-zero", "shadow.version must be at least 1; it is 0" },
        { "shadow-percent-101", "shadow.percent must be between 0 and 100; it is 101" },
        { "expected-revision-negative", "expected_revision must be at least 0; it is -1" },
    };

    [Theory]
    [MemberData(nameof(BadDeployments))]
    public async Task SetDeployment_RuleBroken_InvalidArgumentNamingField(string breach, string expected)
    {
        await using var host = new RegistryHost();
        await host.CreateModelWithVersionsAsync("linear", 2);
        var request = breach switch
        {
            "seventeen-entries" => DeploymentTests.Request("linear",
                Enumerable.Range(0, 17).Select(i => (1L, $"p{i}", i == 0 ? 100 : 0)).ToArray()),
            "version-zero" => DeploymentTests.Request("linear", [(0, "default", 100)]),
            "pool-bad-characters" => DeploymentTests.Request("linear", [(1, "pool/a", 100)]),
            "pool-empty" => DeploymentTests.Request("linear", [(1, "", 100)]),
            "weight-over-100" => DeploymentTests.Request("linear", [(1, "default", 101)]),
            "weight-negative" => DeploymentTests.Request("linear", [(1, "default", 100), (2, "default", -10)]),
            "weights-sum-90" => DeploymentTests.Request("linear", [(1, "default", 60), (2, "default", 30)]),
            "same-version-same-pool" => DeploymentTests.Request("linear", [(1, "default", 50), (1, "default", 50)]),
            "shadow-without-entries" => DeploymentTests.Request("linear", [], shadow: (1, 10)),
            "shadow-version-zero" => DeploymentTests.Request("linear", [(1, "default", 100)], shadow: (0, 10)),
            "shadow-percent-101" => DeploymentTests.Request("linear", [(1, "default", 100)], shadow: (2, 101)),
            _ => new SetDeploymentRequest { ModelName = "linear", ExpectedRevision = -1 },
        };

        await Expect.Status(StatusCode.InvalidArgument, () => host.Client.SetDeploymentAsync(request).ResponseAsync, expected);
        Assert.Equal(0, (await host.Client.GetDeploymentAsync(new GetDeploymentRequest { ModelName = "linear" })).Deployment.Revision);
    }

    [Fact]
    public async Task SetDeployment_SameVersionOnTwoPools_Accepted()
    {
        await using var host = new RegistryHost();
        await host.CreateModelWithVersionsAsync("linear", 1);

        var set = await host.Client.SetDeploymentAsync(DeploymentTests.Request("linear", [(1, "gpu", 70), (1, "cpu", 30)]));

        Assert.Equal(2, set.Deployment.Entries.Count);
    }

    [Fact]
    public async Task UploadDataset_DescriptionOver4KiB_InvalidArgument()
    {
        await using var host = new RegistryHost();
        using var call = host.Client.UploadDataset();
        await call.RequestStream.WriteAsync(new UploadDatasetRequest
        {
            Manifest = new DatasetManifest { Name = "points", Description = new string('d', 4097) },
        });
        await call.RequestStream.CompleteAsync();

        await Expect.Status(StatusCode.InvalidArgument, () => call.ResponseAsync, "manifest.description must be at most 4096 bytes of UTF-8");
    }

    private static Func<Task> Paged(RegistryService.RegistryServiceClient c, string rpc, int size, string token) => rpc switch
    {
        "ListModels" => () => c.ListModelsAsync(new ListModelsRequest { PageSize = size, PageToken = token }).ResponseAsync,
        "SearchModels" => () => c.SearchModelsAsync(new SearchModelsRequest { PageSize = size, PageToken = token }).ResponseAsync,
        "ListVersions" => () => c.ListVersionsAsync(new ListVersionsRequest { ModelName = "m", PageSize = size, PageToken = token }).ResponseAsync,
        "GetAliasHistory" => () => c.GetAliasHistoryAsync(new GetAliasHistoryRequest { ModelName = "m", PageSize = size, PageToken = token }).ResponseAsync,
        "ListDatasets" => () => c.ListDatasetsAsync(new ListDatasetsRequest { PageSize = size, PageToken = token }).ResponseAsync,
        _ => () => c.GetDeploymentHistoryAsync(new GetDeploymentHistoryRequest { ModelName = "m", PageSize = size, PageToken = token }).ResponseAsync,
    };
}
