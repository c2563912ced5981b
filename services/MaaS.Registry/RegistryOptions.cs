using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MaaS.Registry;

/// <summary>Limits and file locations of the registry.</summary>
public sealed class RegistryOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Registry";

    /// <summary>Largest model artifact accepted, in bytes.</summary>
    [Range(1, long.MaxValue, ErrorMessage = "Registry:MaxArtifactBytes must be at least 1.")]
    public long MaxArtifactBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>Largest dataset file accepted, in bytes.</summary>
    [Range(1, long.MaxValue, ErrorMessage = "Registry:MaxDatasetBytes must be at least 1.")]
    public long MaxDatasetBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>Metadata database: Sqlite (a file, the default) or Postgres (<see cref="ConnectionString"/>).</summary>
    [RegularExpression("^(Sqlite|Postgres)$", ErrorMessage = "Registry:Store must be Sqlite or Postgres.")]
    public string Store { get; set; } = StoreSqlite;

    /// <summary>Npgsql connection string when <see cref="Store"/> is Postgres (e.g. <c>Host=127.0.0.1;Port=5432;Username=maas;Database=maas</c>).</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>Where artifacts and datasets are kept: FileSystem (<see cref="BlobDirectory"/>, the default) or S3 (<see cref="S3"/>).</summary>
    [RegularExpression("^(FileSystem|S3)$", ErrorMessage = "Registry:BlobStore must be FileSystem or S3.")]
    public string BlobStore { get; set; } = BlobStoreFileSystem;

    /// <summary>The S3-compatible bucket when <see cref="BlobStore"/> is S3.</summary>
    public S3BlobStoreOptions S3 { get; set; } = new();

    /// <summary>Inference pools a deployment may name; empty = any name matching the pool rule.</summary>
    public List<string> Pools { get; set; } = [];

    /// <summary>SQLite file; empty = {Mesh:DataDirectory}/registry.db.</summary>
    public string DatabasePath { get; set; } = "";

    /// <summary>Blob store root (with S3: only uploads in progress); empty = {Mesh:DataDirectory}/blobs.</summary>
    public string BlobDirectory { get; set; } = "";

    /// <summary><see cref="Store"/> values.</summary>
    public const string StoreSqlite = "Sqlite", StorePostgres = "Postgres";

    /// <summary><see cref="BlobStore"/> values.</summary>
    public const string BlobStoreFileSystem = "FileSystem", BlobStoreS3 = "S3";

    /// <summary>The rules that span several settings; null when they hold, else the sentence to stop the start with.</summary>
    public string? CrossFieldError()
    {
        if (Store == StorePostgres && string.IsNullOrWhiteSpace(ConnectionString))
        {
            return "Registry:ConnectionString is required when Registry:Store is Postgres.";
        }
        if (BlobStore != BlobStoreS3) return null;
        if (string.IsNullOrWhiteSpace(S3.Bucket))
        {
            return "Registry:S3:Bucket is required when Registry:BlobStore is S3.";
        }
        if (string.IsNullOrWhiteSpace(S3.ServiceUrl) && string.IsNullOrWhiteSpace(S3.Region))
        {
            return "Registry:S3:ServiceUrl (an S3-compatible server) or Registry:S3:Region (AWS) is required when Registry:BlobStore is S3.";
        }
        if (!string.IsNullOrWhiteSpace(S3.ServiceUrl) && !Uri.TryCreate(S3.ServiceUrl, UriKind.Absolute, out _))
        {
            return "Registry:S3:ServiceUrl must be an absolute URL such as http://127.0.0.1:4568.";
        }
        if (!System.Text.RegularExpressions.Regex.IsMatch(S3.KeyPrefix, "^([a-z0-9][a-z0-9._-]*/)*$"))
        {
            return "Registry:S3:KeyPrefix must be empty or lower-case path segments each ending in '/', such as registry/.";
        }
        if (string.IsNullOrEmpty(S3.AccessKey) != string.IsNullOrEmpty(S3.SecretKey))
        {
            return "Registry:S3:AccessKey and Registry:S3:SecretKey go together: set both, or neither to use the AWS default credentials.";
        }
        return null;
    }
}

/// <summary>An S3-compatible bucket for blobs (AWS S3, MinIO, s3rver ...).</summary>
public sealed class S3BlobStoreOptions
{
    /// <summary>Bucket; it must exist.</summary>
    public string Bucket { get; set; } = "";

    /// <summary>Endpoint of an S3-compatible server (e.g. http://127.0.0.1:4568); empty = AWS in <see cref="Region"/>.</summary>
    public string ServiceUrl { get; set; } = "";

    /// <summary>AWS region; also the signing region for a <see cref="ServiceUrl"/> (default us-east-1 there).</summary>
    public string Region { get; set; } = "";

    /// <summary>Access key id; empty = the AWS default credential chain.</summary>
    public string AccessKey { get; set; } = "";

    /// <summary>Secret access key.</summary>
    public string SecretKey { get; set; } = "";

    /// <summary>Path-style addressing (<c>http://host/bucket/key</c>), which most S3-compatible servers need.</summary>
    public bool ForcePathStyle { get; set; } = true;

    /// <summary>Prefix of every key (e.g. <c>registry/</c>), so the bucket can hold other things too.</summary>
    public string KeyPrefix { get; set; } = "";
}

/// <summary>Stops the start with <see cref="RegistryOptions.CrossFieldError"/>'s sentence when a rule across settings fails.</summary>
public sealed class RegistryOptionsValidator : IValidateOptions<RegistryOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, RegistryOptions options) =>
        options.CrossFieldError() is { } error ? ValidateOptionsResult.Fail(error) : ValidateOptionsResult.Success;
}
