using System.Diagnostics;

namespace MaaS.RegistryBenchmarks.Hosting;

/// <summary>
/// The repository's infra scripts (infra/postgres.sh, infra/rabbitmq.sh) run with their settings in the
/// environment: the benchmark's servers are private ones, on their own port and folder, stopped by the
/// scripts (by the servers' own PID files) when the benchmark ends.
/// </summary>
public sealed class InfraScript(string repoRoot, string script, IReadOnlyDictionary<string, string> environment, TextWriter progress)
{
    private bool _started;

    /// <summary>A private PostgreSQL server on <paramref name="port"/> with its data under <paramref name="folder"/>.</summary>
    public static InfraScript Postgres(string repoRoot, int port, string folder, TextWriter progress) =>
        new(repoRoot, "postgres.sh", new Dictionary<string, string>
        {
            ["MAAS_POSTGRES_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["MAAS_POSTGRES_DIR"] = folder,
        }, progress);

    /// <summary>A private RabbitMQ broker on the run's ports with its state under <paramref name="folder"/>.</summary>
    public static InfraScript RabbitMq(string repoRoot, Ports ports, string folder, TextWriter progress) =>
        new(repoRoot, "rabbitmq.sh", new Dictionary<string, string>
        {
            ["MAAS_RABBITMQ_PORT"] = ports.RabbitMq.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["MAAS_RABBITMQ_DIST_PORT"] = ports.RabbitDist.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["MAAS_RABBITMQ_EPMD_PORT"] = ports.RabbitEpmd.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["MAAS_RABBITMQ_DIR"] = folder,
        }, progress);

    /// <summary>Starts the server (idempotent) and waits until it takes connections.</summary>
    public async Task StartAsync()
    {
        await RunAsync("start", TimeSpan.FromMinutes(5));
        _started = true;
    }

    /// <summary>Stops the server.</summary>
    public async Task StopAsync()
    {
        await RunAsync("stop", TimeSpan.FromMinutes(2));
        _started = false;
    }

    /// <summary>Stops the server if this object started it; never throws (used on the way out).</summary>
    public async Task StopQuietlyAsync()
    {
        if (!_started) return;
        try
        {
            await StopAsync();
        }
        catch (BenchmarkException ex)
        {
            progress.WriteLine(ex.Message);
        }
    }

    private async Task RunAsync(string verb, TimeSpan timeout)
    {
        var info = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = repoRoot,
        };
        info.ArgumentList.Add(Path.Combine(repoRoot, "infra", script));
        info.ArgumentList.Add(verb);
        foreach (var (key, value) in environment) info.Environment[key] = value;
        using var process = Process.Start(info) ?? throw new BenchmarkException($"infra/{script} could not be started.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new BenchmarkException($"infra/{script} {verb} did not finish within {timeout.TotalSeconds:0} s.");
        }
        var output = (await stdout + await stderr).Trim();
        if (process.ExitCode != 0)
        {
            throw new BenchmarkException($"infra/{script} {verb} failed (exit {process.ExitCode}): {output}");
        }
        if (output.Length > 0) progress.WriteLine(output);
    }
}
