using System.Globalization;

namespace MaaS.Testing;

/// <summary>
/// One of the repository's infra scripts (infra/rabbitmq.sh, postgres.sh, s3.sh) with its settings in the
/// environment: a private server on its own ports and folder, stopped by the script (by the server's own PID
/// file) when its user is done.
/// </summary>
/// <param name="repoRoot">The checkout root.</param>
/// <param name="script">The script's file name under infra/.</param>
/// <param name="environment">The script's MAAS_* settings.</param>
/// <param name="progress">Where the script's output goes when it succeeds, and failures to stop; null = nowhere.</param>
public sealed class InfraScript(string repoRoot, string script, IReadOnlyDictionary<string, string> environment, TextWriter? progress = null)
{
    private bool _started;

    /// <summary>A private RabbitMQ broker on <paramref name="amqpPort"/> (its Erlang ports named too) with its state under <paramref name="folder"/>.</summary>
    public static InfraScript RabbitMq(string repoRoot, int amqpPort, int distPort, int epmdPort, string folder, TextWriter? progress = null) =>
        new(repoRoot, "rabbitmq.sh", new Dictionary<string, string>
        {
            ["MAAS_RABBITMQ_PORT"] = Text(amqpPort),
            ["MAAS_RABBITMQ_DIST_PORT"] = Text(distPort),
            ["MAAS_RABBITMQ_EPMD_PORT"] = Text(epmdPort),
            ["MAAS_RABBITMQ_DIR"] = folder,
        }, progress);

    /// <summary>A private PostgreSQL server on <paramref name="port"/> with its data under <paramref name="folder"/>.</summary>
    public static InfraScript Postgres(string repoRoot, int port, string folder, TextWriter? progress = null) =>
        new(repoRoot, "postgres.sh", new Dictionary<string, string>
        {
            ["MAAS_POSTGRES_PORT"] = Text(port),
            ["MAAS_POSTGRES_DIR"] = folder,
        }, progress);

    /// <summary>A private S3-compatible server on <paramref name="port"/>, objects under <paramref name="folder"/>, <paramref name="bucket"/> created at start.</summary>
    public static InfraScript S3(string repoRoot, int port, string folder, string bucket, TextWriter? progress = null) =>
        new(repoRoot, "s3.sh", new Dictionary<string, string>
        {
            ["MAAS_S3_PORT"] = Text(port),
            ["MAAS_S3_DIR"] = folder,
            ["MAAS_S3_BUCKET"] = bucket,
        }, progress);

    /// <summary>
    /// Starts the server (idempotent) and waits until it takes connections. The scripts install the server when
    /// it is missing, hence the long default limit; a plain start takes seconds.
    /// </summary>
    public async Task StartAsync(TimeSpan? timeout = null)
    {
        _started = true;
        await RunAsync("start", timeout ?? TimeSpan.FromMinutes(5)).ConfigureAwait(false);
    }

    /// <summary>Stops the server (idempotent).</summary>
    public async Task StopAsync(TimeSpan? timeout = null)
    {
        await RunAsync("stop", timeout ?? TimeSpan.FromMinutes(2)).ConfigureAwait(false);
        _started = false;
    }

    /// <summary>Stops the server if <see cref="StartAsync"/> was called; never throws (used on the way out).</summary>
    public async Task StopQuietlyAsync(TimeSpan? timeout = null)
    {
        if (!_started) return;
        try
        {
            await StopAsync(timeout).ConfigureAwait(false);
        }
        catch (HarnessException ex)
        {
            progress?.WriteLine(ex.Message);
        }
    }

    /// <summary>Runs <c>infra/{script} {verb}</c> to its end, blocking; for constructors and Dispose of test fixtures.</summary>
    public void Run(string verb, TimeSpan timeout) => RunAsync(verb, timeout).GetAwaiter().GetResult();

    /// <summary>Runs <c>infra/{script} {verb}</c>; throws <see cref="HarnessException"/> with the script's output when it fails.</summary>
    public async Task RunAsync(string verb, TimeSpan timeout)
    {
        var (exit, stdout, stderr, timedOut) = await ProcessRun.RunAsync("bash", repoRoot, timeout,
            [Path.Combine(repoRoot, "infra", script), verb], environment).ConfigureAwait(false);
        if (timedOut) throw new HarnessException($"infra/{script} {verb} did not finish within {timeout.TotalSeconds:0} s.");
        var output = (stdout + stderr).Trim();
        if (exit != 0) throw new HarnessException($"infra/{script} {verb} failed (exit {exit}): {output}");
        if (output.Length > 0) progress?.WriteLine(output);
    }

    /// <summary>
    /// A new folder under the temporary folder that other users may enter: the PostgreSQL server runs as the
    /// postgres user when the caller runs as root (Directory.CreateTempSubdirectory makes 0700 folders).
    /// </summary>
    public static string OpenTempFolder(string prefix)
    {
        var path = Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(path);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path,
                UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
        return path;
    }

    private static string Text(int port) => port.ToString(CultureInfo.InvariantCulture);
}
