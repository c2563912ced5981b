using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace MaaS.TrainerBenchmarks.Hosting;

/// <summary>
/// A service run as its own process from its Release build, its output in a log file, stopped by its
/// PID when disposed (SIGTERM, then SIGKILL after 10 s).
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    // Every process started and not yet stopped, so that Ctrl-C can stop them by PID.
    private static readonly ConcurrentDictionary<int, Process> Running = new();

    private readonly Process _process;
    private readonly StreamWriter _log;

    private ServiceProcess(string name, Process process, StreamWriter log, string logPath)
    {
        Name = name;
        _process = process;
        _log = log;
        LogPath = logPath;
    }

    /// <summary>Short name for messages.</summary>
    public string Name { get; }

    /// <summary>Where stdout and stderr go.</summary>
    public string LogPath { get; }

    /// <summary>Starts <c>dotnet &lt;dll&gt; args</c> in the dll's folder and waits for /livez on <paramref name="httpPort"/>.</summary>
    public static async Task<ServiceProcess> StartAsync(string name, string dll, IEnumerable<string> args, int httpPort, string logDirectory)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            // The dll's folder is the content root, so its appsettings.json is read.
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";

        var logPath = Path.Combine(logDirectory, name + ".log");
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Running[process.Id] = process;
        var service = new ServiceProcess(name, process, log, logPath);
        try
        {
            await service.WaitLiveAsync(httpPort, TimeSpan.FromSeconds(120));
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }
        return service;
    }

    private async Task WaitLiveAsync(int httpPort, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new BenchmarkException($"{Name} exited with code {_process.ExitCode} while starting; see {LogPath}: {Tail()}");
            }
            try
            {
                using var response = await http.GetAsync($"http://127.0.0.1:{httpPort}/healthz");
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
            await Task.Delay(100);
        }
        throw new BenchmarkException($"{Name} did not answer /healthz on port {httpPort} within {timeout.TotalSeconds:0} s; see {LogPath}.");
    }

    /// <summary>The last lines of the log, for messages.</summary>
    public string Tail(int lines = 3)
    {
        lock (_log) _log.Flush();
        using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return string.Join(" | ", reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(lines));
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

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM lets the host stop gracefully; Process.Kill would be SIGKILL at once.
            _ = SendSignal(_process.Id, 15);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }
        }
        Running.TryRemove(_process.Id, out _);
        lock (_log) _log.Dispose();
        _process.Dispose();
    }

    /// <summary>Kills every process still running (on Ctrl-C or exit).</summary>
    public static void KillAll()
    {
        foreach (var (pid, process) in Running)
        {
            try
            {
                if (!process.HasExited) process.Kill();
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

    /// <summary>A free TCP port on 127.0.0.1 (bound and released; the OS does not hand it out again at once).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A benchmark could not run; the message says what to do.</summary>
public sealed class BenchmarkException(string message) : Exception(message);
