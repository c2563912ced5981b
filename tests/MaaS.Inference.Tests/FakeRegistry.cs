using System.Collections.Concurrent;
using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using MaaS.Registry.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MaaS.Inference.Tests;

/// <summary>
/// A registry stand-in served over real gRPC from an in-process test server: models, versions, aliases
/// and artifacts kept in memory, and a switch that makes it answer Unavailable like a registry that is down.
/// </summary>
public sealed class FakeRegistry : RegistryService.RegistryServiceBase, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Model> models = new();
    private readonly ConcurrentDictionary<(string, long), (ModelVersion Version, byte[] Artifact)> versions = new();
    private WebApplication? app;

    /// <summary>When true every call fails with Unavailable.</summary>
    public volatile bool Down;

    /// <summary>Starts the server; its handler is what the inference host's registry client sends through.</summary>
    public async Task<HttpMessageHandler> StartAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(this);
        app = builder.Build();
        app.MapGrpcService<FakeRegistry>();
        await app.StartAsync();
        return app.GetTestServer().CreateHandler();
    }

    /// <summary>Adds version <paramref name="version"/>; a wrong <paramref name="digest"/> stands for a corrupted artifact.</summary>
    public void AddVersion(string model, long version, byte[] artifact, string? digest = null, VersionStatus status = VersionStatus.Ready)
    {
        var m = models.GetOrAdd(model, name => new Model { Name = name, Task = "regression" });
        lock (m)
        {
            m.LatestVersion = Math.Max(m.LatestVersion, version);
        }
        versions[(model, version)] = (new ModelVersion
        {
            ModelName = model,
            Version = version,
            ArtifactDigest = digest ?? Convert.ToHexStringLower(SHA256.HashData(artifact)),
            ArtifactSize = artifact.Length,
            Status = status,
        }, artifact);
    }

    /// <summary>Points an alias.</summary>
    public void SetAlias(string model, string alias, long version)
    {
        var m = models[model];
        lock (m)
        {
            m.Aliases[alias] = version;
        }
    }

    public override Task<ListModelsResponse> ListModels(ListModelsRequest request, ServerCallContext context)
    {
        ThrowIfDown();
        var response = new ListModelsResponse();
        foreach (var m in models.Values.OrderBy(m => m.Name))
        {
            lock (m)
            {
                response.Models.Add(m.Clone());
            }
        }
        return Task.FromResult(response);
    }

    public override Task<GetModelResponse> GetModel(GetModelRequest request, ServerCallContext context)
    {
        ThrowIfDown();
        if (!models.TryGetValue(request.Name, out var m))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"Model '{request.Name}' does not exist."));
        }
        lock (m)
        {
            return Task.FromResult(new GetModelResponse { Model = m.Clone() });
        }
    }

    public override Task<ListVersionsResponse> ListVersions(ListVersionsRequest request, ServerCallContext context)
    {
        ThrowIfDown();
        var response = new ListVersionsResponse();
        response.Versions.AddRange(versions.Where(v => v.Key.Item1 == request.ModelName).OrderBy(v => v.Key.Item2).Select(v => v.Value.Version));
        return Task.FromResult(response);
    }

    public override async Task DownloadArtifact(DownloadArtifactRequest request, IServerStreamWriter<DownloadArtifactResponse> responseStream, ServerCallContext context)
    {
        ThrowIfDown();
        if (!versions.TryGetValue((request.ModelName, request.Version), out var v))
        {
            throw new RpcException(new Status(StatusCode.NotFound, "no such version"));
        }
        await responseStream.WriteAsync(new DownloadArtifactResponse { Version = v.Version });
        for (var offset = 0; offset < v.Artifact.Length; offset += 64)
        {
            await responseStream.WriteAsync(new DownloadArtifactResponse
            {
                Chunk = ByteString.CopyFrom(v.Artifact, offset, Math.Min(64, v.Artifact.Length - offset)),
            });
        }
    }

    private void ThrowIfDown()
    {
        if (Down)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "the registry is down"));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.DisposeAsync();
        }
    }
}
