using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace MaaS.ServiceDefaults;

/// <summary>
/// A service that refuses to start (bad settings, a store it cannot use) ends with one line on stderr,
/// "<c>{application} did not start: {reason}</c>", and exit code <see cref="ExitCode"/>, instead of an unhandled
/// exception dump and SIGABRT (134). It covers every step before the start (building, mapping, starting the host);
/// after the start an escaping exception is a bug and crashes as usual. Installed only in the service's own process
/// (its entry assembly); a test runner hosting the service sees the exception itself.
/// </summary>
public static class StartupFailures
{
    /// <summary>Exit code of a service that did not start.</summary>
    public const int ExitCode = 1;

    private static int installed;
    private static volatile bool started;

    /// <summary>Installs the handler once per process and marks the start when the host reports it.</summary>
    public static void Install(WebApplicationBuilder builder)
    {
        var application = builder.Environment.ApplicationName;
        // Only in the service's own process: a test runner hosting services keeps its own crash handling.
        if (System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name != application) return;
        if (Interlocked.Exchange(ref installed, 1) == 0)
        {
            AppDomain.CurrentDomain.UnhandledException += (_, e) =>
            {
                if (started || e.ExceptionObject is not Exception ex) return;
                if (ex is not (OptionsValidationException or AggregateException { InnerException: OptionsValidationException }))
                {
                    // Not a setting: the stack trace is what a developer needs; the last line stays the reason.
                    Console.Error.WriteLine(ex);
                }
                Console.Error.WriteLine($"{application} did not start: {Reason(ex)}");
                Environment.Exit(ExitCode);
            };
        }
        builder.Services.AddHostedService<StartedMarker>();
    }

    /// <summary>The sentence of a failed start: the validation failures, or the message of what was thrown.</summary>
    public static string Reason(Exception ex) => ex switch
    {
        OptionsValidationException options => string.Join(" ", options.Failures),
        AggregateException aggregate => string.Join(" ", aggregate.InnerExceptions.Select(Reason)),
        _ => ex.Message,
    };

    private sealed class StartedMarker(IHostApplicationLifetime lifetime) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            lifetime.ApplicationStarted.Register(() => started = true);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
