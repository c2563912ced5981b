using Microsoft.AspNetCore.TestHost;
using System.Text.Json;

namespace MaaS.ServiceDefaults.Tests;

/// <summary>The console log of a ServiceDefaults-built service: each line carries the trace id of the call it belongs to.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class LoggingTests
{
    private const string TraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string Traceparent = "00-" + TraceId + "-00f067aa0ba902b7-01";

    [Fact]
    public async Task Log_SingleLineFormat_LineCarriesTheCallersTraceId()
    {
        var output = await CaptureAsync(null);

        var line = Assert.Single(output, l => l.Contains(TestApp.Marker, StringComparison.Ordinal));
        Assert.Contains($"TraceId:{TraceId}", line);
    }

    [Theory]
    [InlineData("Mesh:LogFormat")]
    [InlineData("Logging:Format")]
    public async Task Log_JsonFormat_WritesJsonLinesWithTheTraceId(string key)
    {
        var output = await CaptureAsync(new Dictionary<string, string?> { [key] = "json" });

        var line = Assert.Single(output, l => l.Contains(TestApp.Marker, StringComparison.Ordinal));
        using var entry = JsonDocument.Parse(line);
        Assert.Equal("Information", entry.RootElement.GetProperty("LogLevel").GetString());
        var scopes = entry.RootElement.GetProperty("Scopes").EnumerateArray();
        Assert.Contains(scopes, s => s.TryGetProperty("TraceId", out var id) && id.GetString() == TraceId);
    }

    // Console.Out is taken when the logger is built; it is flushed when the app is disposed.
    private static async Task<List<string>> CaptureAsync(IDictionary<string, string?>? settings)
    {
        var original = Console.Out;
        var writer = new StringWriter();
        Console.SetOut(writer);
        try
        {
            await using (var app = await TestApp.StartAsync(settings))
            {
                using var client = app.App.GetTestServer().CreateClient();
                using var request = new HttpRequestMessage(HttpMethod.Get, "/log");
                request.Headers.Add("traceparent", Traceparent);
                using var response = await client.SendAsync(request);
                response.EnsureSuccessStatusCode();
                Assert.Equal(TraceId, await response.Content.ReadAsStringAsync());
            }
        }
        finally
        {
            Console.SetOut(original);
        }
        return writer.ToString().Split('\n').Select(l => l.TrimEnd('\r')).ToList();
    }
}

/// <summary>Tests that replace Console.Out run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCollection
{
    /// <summary>Collection name.</summary>
    public const string Name = "console";
}
