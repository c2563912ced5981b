using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace MaaS.Benchmarks.Hosting;

/// <summary>
/// One service of the mesh run as its own process from its Release build, its output in a log file,
/// stopped by its PID when disposed.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    // Every process started and not yet stopped, so that Ctrl-C can stop them by PID.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, Process> Running = new();

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

    /// <summary>The process id (for /proc/&lt;pid&gt;/status).</summary>
    public int Pid => _process.Id;

    /// <summary>Starts <c>dotnet &lt;dll&gt; args</c> in the dll's folder (so its appsettings.json applies) and waits for /livez.</summary>
    public static async Task<ServiceProcess> StartAsync(string name, string dll, IEnumerable<string> args, int httpPort, string logDirectory)
    {
        if (!File.Exists(dll))
        {
            throw new BenchmarkException($"{name}: {dll} does not exist; build it with `dotnet build -c Release` (or drop --no-build).");
        }
        var info = new ProcessStartInfo("dotnet")
        {
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
        var log = new StreamWriter(logPath) { AutoFlush = true };
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
            await service.WaitLiveAsync(httpPort, TimeSpan.FromSeconds(60));
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }
        return service;
    }

    /// <summary>Resident set size (VmRSS) in bytes, from /proc.</summary>
    public long ResidentBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kb = long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
                return kb * 1024;
            }
        }
        throw new BenchmarkException($"{Name}: /proc/{Pid}/status has no VmRSS line.");
    }

    /// <summary>The last line of the log that contains <paramref name="text"/>, or null.</summary>
    public string? LastLogLine(string text)
    {
        lock (_log) _log.Flush();
        using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        string? found = null;
        while (reader.ReadLine() is { } line)
        {
            if (line.Contains(text, StringComparison.Ordinal)) found = line;
        }
        return found;
    }

    /// <summary>Whether the process has ended.</summary>
    public bool HasExited => _process.HasExited;

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
                using var response = await http.GetAsync($"http://127.0.0.1:{httpPort}/livez");
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
        throw new BenchmarkException($"{Name} did not answer /livez on port {httpPort} within {timeout.TotalSeconds:0} s; see {LogPath}.");
    }

    private string Tail()
    {
        _log.Flush();
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var lines = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            return string.Join(" | ", lines.TakeLast(3));
        }
        catch (IOException)
        {
            return "";
        }
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

    /// <summary>Stops the process (SIGTERM by PID, then kill after 5 s).</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM lets the host stop gracefully; Process.Kill would be SIGKILL at once.
            _ = Kill(_process.Id, 15);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
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

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

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
