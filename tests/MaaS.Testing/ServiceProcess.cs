using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;

namespace MaaS.Testing;

/// <summary>How a <see cref="ServiceProcess"/> is started, checked and stopped.</summary>
public sealed record ServiceProcessOptions
{
    /// <summary>The path polled until it answers 2xx.</summary>
    public string HealthPath { get; init; } = "/livez";

    /// <summary>Poll with HTTP/2 only (prior knowledge), for a gRPC port that speaks nothing else.</summary>
    public bool HealthOverHttp2 { get; init; }

    /// <summary>How long the service may take to become healthy.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long SIGTERM is given before the process and its children are killed; zero kills at once.</summary>
    public TimeSpan StopGrace { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Append to an existing log of the same name instead of starting it afresh.</summary>
    public bool AppendLog { get; init; }

    /// <summary>The working directory (content root); null = the dll's folder, so its appsettings.json applies.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Set ASPNETCORE_ENVIRONMENT and DOTNET_ENVIRONMENT to Production instead of inheriting them.</summary>
    public bool Production { get; init; } = true;
}

/// <summary>
/// One service run as its own <c>dotnet &lt;dll&gt;</c> process from its build, its output in a log file,
/// stopped by its PID (with its children) when disposed.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    // Every process started and not yet stopped, so that Ctrl-C can stop them by PID.
    private static readonly ConcurrentDictionary<int, Process> Running = new();

    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly int _healthPort;
    private readonly ServiceProcessOptions _options;

    private ServiceProcess(string name, Process process, StreamWriter log, string logPath, int healthPort, ServiceProcessOptions options)
    {
        Name = name;
        _process = process;
        _log = log;
        LogPath = logPath;
        _healthPort = healthPort;
        _options = options;
    }

    /// <summary>Short name for messages.</summary>
    public string Name { get; }

    /// <summary>Where stdout and stderr go.</summary>
    public string LogPath { get; }

    /// <summary>The process id (for /proc/&lt;pid&gt;/status).</summary>
    public int Pid => _process.Id;

    /// <summary>Whether the process has ended.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Starts the service (see <see cref="Start"/>) and waits until it is healthy; stops it when it is not.</summary>
    public static async Task<ServiceProcess> StartAsync(string name, string dll, IEnumerable<string> args, int healthPort, string logDirectory,
        ServiceProcessOptions? options = null)
    {
        var service = Start(name, dll, args, healthPort, logDirectory, options);
        try
        {
            await service.WaitHealthyAsync().ConfigureAwait(false);
        }
        catch
        {
            await service.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return service;
    }

    /// <summary>
    /// Starts <c>dotnet &lt;dll&gt; args</c> with its output in <c>{logDirectory}/{name}.log</c>; does not wait.
    /// <paramref name="healthPort"/> is where <see cref="WaitHealthyAsync"/> polls.
    /// </summary>
    public static ServiceProcess Start(string name, string dll, IEnumerable<string> args, int healthPort, string logDirectory,
        ServiceProcessOptions? options = null)
    {
        options ??= new ServiceProcessOptions();
        if (!File.Exists(dll))
        {
            throw new HarnessException($"{name}: {dll} does not exist; build it with `dotnet build -c Release` (or drop --no-build).");
        }
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = options.WorkingDirectory ?? Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        if (options.Production)
        {
            info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
            info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        }

        var logPath = Path.Combine(logDirectory, name + ".log");
        var log = new StreamWriter(logPath, options.AppendLog) { AutoFlush = true };
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Running[process.Id] = process;
        return new ServiceProcess(name, process, log, logPath, healthPort, options);
    }

    /// <summary>Polls the health path until it answers 2xx; throws when the process ends or the start time-out passes.</summary>
    public async Task WaitHealthyAsync()
    {
        using var http = _options.HealthOverHttp2
            ? new HttpClient(new SocketsHttpHandler()) { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact }
            : new HttpClient();
        http.Timeout = TimeSpan.FromSeconds(5);
        var url = $"http://127.0.0.1:{_healthPort}{_options.HealthPath}";
        var deadline = DateTime.UtcNow + _options.StartTimeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new HarnessException($"{Name} exited with code {_process.ExitCode} while starting; see {LogPath}: {Tail()}");
            }
            try
            {
                using var response = await http.GetAsync(url).ConfigureAwait(false);
                if (response.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Slow start on a busy machine.
            }
            await Task.Delay(100).ConfigureAwait(false);
        }
        throw new HarnessException($"{Name} did not answer {_options.HealthPath} on port {_healthPort} within {_options.StartTimeout.TotalSeconds:0} s; see {LogPath}: {Tail()}");
    }

    /// <summary>Resident set size (VmRSS) in bytes, from /proc.</summary>
    public long ResidentBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kb = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                return kb * 1024;
            }
        }
        throw new HarnessException($"{Name}: /proc/{Pid}/status has no VmRSS line.");
    }

    /// <summary>Lines of the log that contain <paramref name="text"/>.</summary>
    public IReadOnlyList<string> LogLines(string text) =>
        ReadLog().Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Contains(text, StringComparison.Ordinal)).ToList();

    /// <summary>The last line of the log that contains <paramref name="text"/>, or null.</summary>
    public string? LastLogLine(string text) => LogLines(text).LastOrDefault();

    /// <summary>The last lines of the log, joined with " | ", for messages.</summary>
    public string Tail(int lines = 3)
    {
        try
        {
            return string.Join(" | ", ReadLog().Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(lines));
        }
        catch (IOException)
        {
            return "";
        }
    }

    private string ReadLog()
    {
        lock (_log)
        {
            try
            {
                _log.Flush();
            }
            catch (ObjectDisposedException)
            {
                // Stopped: the file is complete.
            }
        }
        using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null) return;
        lock (log)
        {
            try
            {
                log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // Output after we stopped listening.
            }
        }
    }

    /// <summary>Stops the process: SIGTERM by PID, then, after the grace time, kills it with its children.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            var exited = false;
            if (_options.StopGrace > TimeSpan.Zero)
            {
                // SIGTERM lets the host stop gracefully; Process.Kill would be SIGKILL at once.
                _ = SendSignal(_process.Id, 15);
                using var cts = new CancellationTokenSource(_options.StopGrace);
                try
                {
                    await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
                    exited = true;
                }
                catch (OperationCanceledException)
                {
                    // Still running: killed below.
                }
            }
            if (!exited)
            {
                try
                {
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20)).ConfigureAwait(false);
                }
                catch (InvalidOperationException)
                {
                    // Ended in the meantime.
                }
                catch (TimeoutException)
                {
                    // Unkillable (zombie); nothing more to do from here.
                }
            }
        }
        Running.TryRemove(_process.Id, out _);
        lock (_log) _log.Dispose();
        _process.Dispose();
    }

    /// <summary>Kills every process still running when this process ends or gets Ctrl-C.</summary>
    public static void KillAllOnExit()
    {
        Console.CancelKeyPress += (_, _) => KillAll();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
    }

    /// <summary>Kills every process still running, with its children.</summary>
    public static void KillAll()
    {
        foreach (var (pid, process) in Running)
        {
            try
            {
                if (!process.HasExited) process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
            Running.TryRemove(pid, out _);
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);
}
