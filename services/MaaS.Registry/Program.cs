using MaaS.Registry;
using MaaS.Registry.Market;
using MaaS.Registry.Services;
using MaaS.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddMeshBus(_ => { });
builder.AddRegistry();

var app = builder.Build();

app.MapGrpcService<RegistryGrpcService>();
app.MapGrpcService<MarketGrpcService>();
app.MapMeshDefaults();

app.Run();

public partial class Program;
