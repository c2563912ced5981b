using Grpc.Reflection.V1Alpha;

namespace MaaS.ServiceDefaults.Tests;

/// <summary>gRPC server reflection on every service, so grpcurl can list and call it without the .proto files.</summary>
public sealed class ReflectionTests
{
    [Fact]
    public async Task ListServices_AnyService_NamesHealthDiagnosticsAndReflection()
    {
        await using var app = await TestApp.StartAsync();
        var client = new ServerReflection.ServerReflectionClient(app.Channel);

        using var call = client.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var names = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();

        Assert.Contains("grpc.health.v1.Health", names);
        Assert.Contains("maas.diagnostics.v1.DiagnosticsService", names);
    }

    [Fact]
    public async Task FileContainingSymbol_HealthService_ReturnsItsDescriptor()
    {
        await using var app = await TestApp.StartAsync();
        var client = new ServerReflection.ServerReflectionClient(app.Channel);

        using var call = client.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = "grpc.health.v1.Health" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.NotEmpty(call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto);
    }
}
