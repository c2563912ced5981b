using System.Globalization;
using Amazon.S3;
using MaaS.Testing;

namespace MaaS.Registry.Tests.Stores;

/// <summary>
/// A real S3-compatible server for the tests: s3rver (npm, pinned in infra/s3rver) started with node by
/// infra/s3.sh on a free loopback port, its objects in a temporary folder, its bucket created at start;
/// stopped by the script when the collection is done. No container engine needed.
/// </summary>
public sealed class S3Server : IDisposable
{
    /// <summary>The bucket the server creates at start.</summary>
    public const string Bucket = "maas-tests";

    private readonly InfraScript _script;
    private readonly string _folder;

    /// <summary>Starts the server (installing s3rver into infra/s3rver/node_modules with npm ci when missing).</summary>
    public S3Server()
    {
        Port = FreePorts.One();
        _folder = InfraScript.OpenTempFolder("maas-registry-s3-");
        _script = InfraScript.S3(RepoPaths.AboveBinaries(), Port, _folder, Bucket);
        _script.Run("start", TimeSpan.FromMinutes(5));
        Client = Storage.S3.S3BlobStore.CreateClient(Options(""));
    }

    /// <summary>The server's port.</summary>
    public int Port { get; }

    /// <summary>A client of the server, to look at or damage objects behind the registry's back.</summary>
    public IAmazonS3 Client { get; }

    /// <summary>Options of a store on the test bucket; each test passes its own key prefix so tests do not share objects.</summary>
    public S3BlobStoreOptions Options(string keyPrefix) => new()
    {
        Bucket = Bucket,
        ServiceUrl = $"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}",
        AccessKey = "S3RVER",
        SecretKey = "S3RVER",
        KeyPrefix = keyPrefix,
    };

    /// <summary>The registry settings of a host whose blobs go to the test bucket under <paramref name="keyPrefix"/>.</summary>
    public Dictionary<string, string> Settings(string keyPrefix)
    {
        var o = Options(keyPrefix);
        return new Dictionary<string, string>
        {
            ["Registry:BlobStore"] = "S3",
            ["Registry:S3:Bucket"] = o.Bucket,
            ["Registry:S3:ServiceUrl"] = o.ServiceUrl,
            ["Registry:S3:AccessKey"] = o.AccessKey,
            ["Registry:S3:SecretKey"] = o.SecretKey,
            ["Registry:S3:KeyPrefix"] = o.KeyPrefix,
        };
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Client.Dispose();
        _script.Run("stop", TimeSpan.FromMinutes(1));
        try { Directory.Delete(_folder, recursive: true); }
        catch (IOException) { /* a leftover temp folder is harmless */ }
    }
}

/// <summary>The tests that share one <see cref="S3Server"/>.</summary>
[CollectionDefinition(Name)]
public sealed class S3Collection : ICollectionFixture<S3Server>
{
    /// <summary>Collection name.</summary>
    public const string Name = "S3-compatible server";
}
