using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using MaaS.Contracts;
using MaaS.Registry.Telemetry;
using MaaS.Registry.V1;
using MaaS.ServiceDefaults.Outbox;
using MaaS.Trainer.Jobs;
using MaaS.Trainer.Storage;
using MaaS.Trainer.Telemetry;
using MaaS.Trainer.V1;
using MaaS.Updater.Telemetry;
using MaaS.Updater.V1;
using MassTransit;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ServiceDefaultsOptions = MaaS.ServiceDefaults.MeshHostOptions;

namespace MaaS.ServiceDefaults.Tests;

/// <summary>Each service's maas_&lt;service&gt;_ metrics move when the operation they count happens.</summary>
public sealed class ServiceMetricsTests
{
    [Fact]
    public async Task Registry_CreateModelCalls_AreCountedByRpcAndCode()
    {
        var data = Directory.CreateTempSubdirectory("maas-k3-registry-").FullName;
        await using var factory = new WebApplicationFactory<MaaS.Registry.RegistryOptions>().WithWebHostBuilder(b =>
        {
            b.UseSetting("Bus:Transport", "InMemory");
            b.UseSetting("Mesh:GrpcPort", "1");
            b.UseSetting("Mesh:DataDirectory", data);
        });
        using var channel = GrpcChannel.ForAddress(factory.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = factory.Server.CreateHandler() });
        var client = new RegistryService.RegistryServiceClient(channel);
        const string method = "/maas.registry.v1.RegistryService/CreateModel";
        var okBefore = RegistryMetrics.RequestsFor(method, StatusCode.OK);
        var invalidBefore = RegistryMetrics.RequestsFor(method, StatusCode.InvalidArgument);

        await client.CreateModelAsync(new CreateModelRequest { Name = $"metrics-{Guid.NewGuid():N}"[..20], Task = "regression" });
        await Assert.ThrowsAsync<RpcException>(async () => await client.CreateModelAsync(new CreateModelRequest { Name = "Not A Name!", Task = "regression" }));

        Assert.Equal(okBefore + 1, RegistryMetrics.RequestsFor(method, StatusCode.OK));
        Assert.Equal(invalidBefore + 1, RegistryMetrics.RequestsFor(method, StatusCode.InvalidArgument));
        Directory.Delete(data, recursive: true);
    }

    [Fact]
    public void Trainer_JobThroughItsStates_CountsEachStateAndEndsRunning()
    {
        var data = Directory.CreateTempSubdirectory("maas-k3-trainer-").FullName;
        var store = new JobStore(new TrainerDatabase(Options.Create(new ServiceDefaultsOptions { GrpcPort = 1, DataDirectory = data })), new JobEvents(new OutboxSignal()));
        var queued = TrainerMetrics.JobsIn(JobState.Queued);
        var running = TrainerMetrics.JobsIn(JobState.Running);
        var succeeded = TrainerMetrics.JobsIn(JobState.Succeeded);
        var id = $"job-{Guid.NewGuid():N}";
        var now = DateTimeOffset.UtcNow;

        Assert.True(store.TryAdd(new Job
        {
            JobId = id,
            State = JobState.Queued,
            Spec = new TrainingSpec { ModelName = "m" },
            CreatedAt = Timestamp.FromDateTimeOffset(now),
        }));
        store.Update(id, j => { j.State = JobState.Running; j.StartedAt = Timestamp.FromDateTimeOffset(now); });
        store.Update(id, j => j.Message = "Training.");
        store.Update(id, j => { j.State = JobState.Succeeded; j.FinishedAt = Timestamp.FromDateTimeOffset(now.AddSeconds(3)); });

        Assert.Equal(queued + 1, TrainerMetrics.JobsIn(JobState.Queued));
        Assert.Equal(running + 1, TrainerMetrics.JobsIn(JobState.Running));
        Assert.Equal(succeeded + 1, TrainerMetrics.JobsIn(JobState.Succeeded));
        Directory.Delete(data, recursive: true);
    }

    [Fact]
    public async Task Updater_RolloutEventsPublished_CountStepsRollbacksAndCompletions()
    {
        var model = $"rollout-{Guid.NewGuid():N}";
        await using var app = await TestApp.StartAsync(services: s => s.AddUpdaterTelemetry());
        var bus = app.Services.GetRequiredService<IBus>();

        await bus.Publish(new RolloutStepChanged { ModelName = model, State = "canary", Step = 0, ChallengerPercent = 10 });
        await bus.Publish(new RolledBack { ModelName = model });
        await bus.Publish(new RolloutCompleted { ModelName = model, Version = 2, PreviousVersion = 1 });
        await bus.Publish(new RetrainTriggered { ModelName = model, Rule = "rows" });
        await bus.Publish(new EvaluationCompleted { ModelName = model, Promoted = true });

        Assert.Equal(1, UpdaterMetrics.StepsFor(model, "canary"));
        Assert.Equal(1, UpdaterMetrics.RollbacksFor(model));
        Assert.Equal(1, UpdaterMetrics.CompletedFor(model));
        Assert.Equal(1, UpdaterMetrics.RetrainsFor(model, "rows"));
        Assert.Equal(1, UpdaterMetrics.GateDecisionsFor(model, "promoted"));
    }

    [Fact]
    public void Updater_IngestReport_CountsKeptAndDroppedByReason()
    {
        var model = $"ingest-{Guid.NewGuid():N}";
        var report = new IngestReport { RowsIn = 10, RowsKept = 7 };
        report.RowsDropped["out_of_range"] = 2;
        report.RowsDropped["duplicate"] = 1;

        UpdaterMetrics.Ingested(model, report);

        Assert.Equal(7, UpdaterMetrics.KeptFor(model));
        Assert.Equal(2, UpdaterMetrics.DroppedFor(model, "out_of_range"));
        Assert.Equal(1, UpdaterMetrics.DroppedFor(model, "duplicate"));
    }
}
