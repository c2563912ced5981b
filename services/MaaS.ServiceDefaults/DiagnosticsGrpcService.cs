using Grpc.Core;
using MaaS.Diagnostics.V1;

namespace MaaS.ServiceDefaults;

/// <summary>maas.diagnostics.v1: a call that costs only the transport, the ceiling benchmarks compare against.</summary>
public sealed class DiagnosticsGrpcService : DiagnosticsService.DiagnosticsServiceBase
{
    /// <inheritdoc />
    public override Task<PingResponse> Ping(PingRequest request, ServerCallContext context) =>
        Task.FromResult(new PingResponse { ReceivedBytes = request.Payload.Length });
}
