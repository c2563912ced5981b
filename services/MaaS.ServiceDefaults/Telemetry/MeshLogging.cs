using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace MaaS.ServiceDefaults.Telemetry;

/// <summary>
/// The console log of every service: one line per entry with its trace and span ids (the activity scope), or
/// JSON lines for a log collector when <c>Logging:Format</c> or <c>Mesh:LogFormat</c> is <c>json</c>.
/// </summary>
public static class MeshLogging
{
    /// <summary>Whether the configuration asks for JSON lines.</summary>
    public static bool WantsJson(IConfiguration configuration) =>
        string.Equals(configuration["Logging:Format"], "json", StringComparison.OrdinalIgnoreCase)
        || string.Equals(configuration["Mesh:LogFormat"], "json", StringComparison.OrdinalIgnoreCase);

    /// <summary>Replaces the default providers with the mesh's console log.</summary>
    public static WebApplicationBuilder AddMeshLogging(this WebApplicationBuilder builder)
    {
        builder.Logging.ClearProviders();
        // The ids of Activity.Current go into every entry's scopes: grep a trace id to find its lines in every service.
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
        if (WantsJson(builder.Configuration))
        {
            builder.Logging.AddJsonConsole(o =>
            {
                o.IncludeScopes = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            });
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
                o.IncludeScopes = true;
            });
        }
        return builder;
    }
}
