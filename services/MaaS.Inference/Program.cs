using MaaS.Inference;
using MaaS.Inference.Http;
using MaaS.Inference.Services;
using MaaS.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddMeshBus(bus => bus.AddInferenceConsumers(builder.Configuration));
builder.AddInference();

var app = builder.Build();
app.MapGrpcService<InferenceGrpcService>();
app.MapInferenceRest();
app.MapMeshDefaults();
app.Run();

public partial class Program;
