using Grpc.Net.Client;
using MaaS.Updater.V1;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.Sqlite;

namespace MaaS.Updater.Tests.Support;

/// <summary>What every in-process updater host of the tests does with its factory: connect a client, clean up.</summary>
public static class UpdaterFactories
{
    /// <summary>A client over a real gRPC channel to the hosted updater.</summary>
    public static UpdaterService.UpdaterServiceClient Connect(WebApplicationFactory<Program> factory) =>
        new(GrpcChannel.ForAddress(factory.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = factory.Server.CreateHandler() }));

    /// <summary>Stops the host, lets go of its SQLite file and deletes its data folder.</summary>
    public static void Dispose(WebApplicationFactory<Program> factory, string dataDirectory)
    {
        factory.Dispose();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(dataDirectory, recursive: true); } catch (IOException) { }
    }
}
