using MaaS.Gateway;
using MaaS.ServiceDefaults;

// The one public entrance: OIP REST on Mesh:HttpPort, OIP and admin gRPC (h2c) on Mesh:GrpcPort.
var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddGateway();

var app = builder.Build();
app.MapGateway();
app.MapMeshDefaults();
app.Run();

public partial class Program;
