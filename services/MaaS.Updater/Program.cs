using MaaS.ServiceDefaults;
using MaaS.Updater;
using MaaS.Updater.Consumers;
using MaaS.Updater.Drift;
using MaaS.Updater.Rollout;
using MaaS.Updater.Services;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddMeshBus(bus =>
{
    bus.AddConsumer<ModelTrainedConsumer>();
    bus.AddConsumer<TrainingJobStateChangedConsumer>();
    bus.AddConsumer<AliasMovedConsumer>();
    bus.AddDriftConsumers();
    bus.AddRolloutConsumers();
});
builder.AddUpdater();

var app = builder.Build();

app.MapGrpcService<UpdaterGrpcService>();
app.MapMeshDefaults();

app.Run();

public partial class Program;
