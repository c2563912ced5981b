using Grpc.Core;
using Grpc.Net.Client;
using Inference;
using MaaS.Inference.Runtime;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace MaaS.Inference.Tests;

/// <summary>
/// The inference service hosted in-process (in-memory bus), with a gRPC client over a real channel and
/// an HTTP client for the REST twins. Without <c>registry</c> the registry address points at a closed
/// port, so syncs fail harmlessly and models come in through <see cref="ModelRepository.LoadAsync"/>.
/// </summary>
public sealed class InferenceHost : IAsyncDisposable
{
    private readonly WebApplicationFactory<Program> factory;
    private readonly GrpcChannel channel;

    public InferenceHost(HttpMessageHandler? registry = null, IDictionary<string, string>? settings = null)
    {
        factory = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
        {
            builder.UseSetting("Bus:Transport", "InMemory");
            builder.UseSetting("Mesh:GrpcPort", "1");
            builder.UseSetting("Mesh:DataDirectory", Path.Combine(Path.GetTempPath(), "maas-inference-tests"));
            builder.UseSetting("Services:Registry", registry is null ? "http://127.0.0.1:9" : "http://registry.test");
            builder.UseSetting("OnnxRuntime:PreferCuda", "false");
            foreach (var (key, value) in settings ?? new Dictionary<string, string>())
            {
                builder.UseSetting(key, value);
            }
            if (registry is not null)
            {
                builder.ConfigureTestServices(services =>
                    services.AddHttpClient(nameof(MaaS.Registry.V1.RegistryService.RegistryServiceClient))
                        .ConfigurePrimaryHttpMessageHandler(() => registry));
            }
        });
        channel = GrpcChannel.ForAddress(factory.Server.BaseAddress, new GrpcChannelOptions
        {
            HttpHandler = factory.Server.CreateHandler(),
            // As large as the server's default limit, so tests can receive answers above gRPC's 4 MiB.
            MaxReceiveMessageSize = MaaS.ServiceDefaults.MeshHostingExtensions.MaxMessageBytes,
        });
        Client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        Http = factory.CreateClient();
    }

    /// <summary>gRPC client of the hosted service.</summary>
    public GRPCInferenceService.GRPCInferenceServiceClient Client { get; }

    /// <summary>HTTP client for the REST twins.</summary>
    public HttpClient Http { get; }

    /// <summary>The replica's model repository (the seam to load versions from bytes).</summary>
    public ModelRepository Repository => factory.Services.GetRequiredService<ModelRepository>();

    /// <summary>An HTTP client of the hosted service whose requests carry <paramref name="baseAddress"/> (e.g. another port in the Host header).</summary>
    public HttpClient CreateHttpClient(Uri baseAddress) => factory.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = baseAddress });

    /// <summary>A service of the host.</summary>
    public T Get<T>() where T : notnull => factory.Services.GetRequiredService<T>();

    /// <summary>Loads a version from ONNX bytes and checks it became ready.</summary>
    public async Task LoadAsync(string model, long version, byte[] onnx)
    {
        var entry = await Repository.LoadAsync(model, version, onnx, expectedDigest: null);
        Assert.True(entry.State == VersionState.Ready, $"{model} v{version}: {entry.StateName} {entry.Reason}");
    }

    /// <summary>Waits (polling) until <paramref name="condition"/> holds; fails after a generous deadline.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting until {what}.");
            await Task.Delay(50);
        }
    }

    /// <summary>Index entries by "name/version".</summary>
    public async Task<Dictionary<string, RepositoryIndexResponse.Types.ModelIndex>> IndexAsync(bool readyOnly = false)
    {
        var index = await Client.RepositoryIndexAsync(new RepositoryIndexRequest { Ready = readyOnly });
        return index.Models.ToDictionary(m => $"{m.Name}/{m.Version}");
    }

    /// <summary>An FP32 request with typed contents for the linear model.</summary>
    public static ModelInferRequest LinearRequest(string model, string version, params float[] xs)
    {
        var request = new ModelInferRequest { ModelName = model, ModelVersion = version, Id = "req-1" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "input", Datatype = "FP32", Shape = { xs.Length, 1 }, Contents = new InferTensorContents() };
        input.Contents.Fp32Contents.AddRange(xs);
        request.Inputs.Add(input);
        return request;
    }

    /// <summary>Headers carrying the version the gateway resolved.</summary>
    public static Metadata Resolved(string version) => new() { { ModelRepository.ResolvedVersionHeader, version } };

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        channel.Dispose();
        await factory.DisposeAsync();
    }
}
