using MaaS.ServiceDefaults;
using MassTransit;
using MaaS.Trainer;
using MaaS.Trainer.Consumers;
using MaaS.Trainer.Services;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddTrainer();
// Every trainer replica consumes the one "trainer-train-model" queue: competing consumers, each
// taking at most Trainer:MaxConcurrentJobs commands at a time.
builder.AddMeshBus(x => x.AddConsumer<TrainModelConsumer, TrainModelConsumerDefinition>());

var app = builder.Build();
app.MapGrpcService<TrainerGrpcService>();
app.MapMeshDefaults();
app.Run();

public partial class Program;
