using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;

namespace MaaS.Benchmarks.Load;

/// <summary>One call: when it started and ended (Stopwatch timestamps), and its status.</summary>
public readonly record struct Sample(long Start, long End, StatusCode Status)
{
    /// <summary>Latency in milliseconds.</summary>
    public double Milliseconds => (End - Start) * 1000.0 / Stopwatch.Frequency;
}

/// <summary>Everything one closed-loop run saw after its warm-up.</summary>
public sealed class LoadResult(int concurrency, long measureStart, long measureEnd, List<Sample> samples, string? firstError)
{
    /// <summary>Callers in flight.</summary>
    public int Concurrency { get; } = concurrency;

    /// <summary>Start of the measured window (Stopwatch timestamp).</summary>
    public long MeasureStart { get; } = measureStart;

    /// <summary>End of the measured window.</summary>
    public long MeasureEnd { get; } = measureEnd;

    /// <summary>Calls that ended inside the window.</summary>
    public IReadOnlyList<Sample> Samples { get; } = samples;

    /// <summary>The first failure's status and message, if any.</summary>
    public string? FirstError { get; } = firstError;

    /// <summary>Statistics of every call that ended inside the window.</summary>
    public Stats Overall => Stats.Of(Samples, MeasureStart, MeasureEnd);
}

/// <summary>Throughput, latency percentiles (from the sorted successful samples) and failures.</summary>
public sealed record Stats(int Ok, int Errors, double Seconds, double Throughput, double P50, double P90, double P99, double Max)
{
    /// <summary>Statistics of the samples ending in [start, end].</summary>
    public static Stats Of(IEnumerable<Sample> samples, long start, long end) =>
        From(samples.Where(s => s.End >= start && s.End <= end), (end - start) / (double)Stopwatch.Frequency);

    /// <summary>Statistics of the samples given, which ended within <paramref name="seconds"/> in all.</summary>
    public static Stats From(IEnumerable<Sample> samples, double seconds)
    {
        var latencies = new List<double>();
        var errors = 0;
        foreach (var s in samples)
        {
            if (s.Status == StatusCode.OK) latencies.Add(s.Milliseconds);
            else errors++;
        }
        latencies.Sort();
        return new Stats(latencies.Count, errors, seconds, seconds > 0 ? latencies.Count / seconds : 0,
            Percentile(latencies, 50), Percentile(latencies, 90), Percentile(latencies, 99), latencies.Count > 0 ? latencies[^1] : double.NaN);
    }

    /// <summary>Nearest-rank percentile of sorted values; NaN when there are none.</summary>
    public static double Percentile(List<double> sorted, double p) => Percentiles.NearestRank(sorted, p);
}

/// <summary>
/// Closed-loop load in the manner of perf_analyzer's concurrency mode: N callers each send their next
/// request as soon as the previous one is answered. Callers share channels, one per CallersPerChannel.
/// </summary>
public static class LoadRunner
{
    /// <summary>Runs the callers for warm-up + duration and returns the calls that ended in the measured window.</summary>
    /// <param name="address">gRPC address the channels connect to.</param>
    /// <param name="concurrency">Callers in flight.</param>
    /// <param name="callersPerChannel">Callers sharing one channel.</param>
    /// <param name="warmup">Unmeasured time first.</param>
    /// <param name="duration">Measured time.</param>
    /// <param name="call">One call on the given channel; throws <see cref="RpcException"/> on failure.</param>
    /// <param name="during">Optional work run while the measured window is open (e.g. a model swap); the window lasts at least until it ends.</param>
    public static async Task<LoadResult> RunAsync(string address, int concurrency, int callersPerChannel, TimeSpan warmup, TimeSpan duration,
        Func<GrpcChannel, Task> call, Func<Task>? during = null)
    {
        var channels = Enumerable.Range(0, (concurrency + callersPerChannel - 1) / callersPerChannel)
            .Select(_ => Hosting.BenchMesh.Channel(address)).ToList();
        try
        {
            var started = Stopwatch.GetTimestamp();
            var measureStart = started + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
            var measureEnd = measureStart + (long)(duration.TotalSeconds * Stopwatch.Frequency);
            var stop = 0;
            var perCaller = new List<Sample>[concurrency];
            string? firstError = null;

            async Task Caller(int index)
            {
                var channel = channels[index / callersPerChannel];
                var samples = perCaller[index] = new List<Sample>(4096);
                // Yield so all callers start together instead of the first running a burst alone.
                await Task.Yield();
                while (Volatile.Read(ref stop) == 0)
                {
                    var start = Stopwatch.GetTimestamp();
                    var status = StatusCode.OK;
                    RpcException? failure = null;
                    try
                    {
                        await call(channel);
                    }
                    catch (RpcException ex)
                    {
                        status = ex.StatusCode;
                        failure = ex;
                    }
                    var end = Stopwatch.GetTimestamp();
                    if (end >= measureStart)
                    {
                        samples.Add(new Sample(start, end, status));
                        if (failure is not null) Interlocked.CompareExchange(ref firstError, $"{failure.StatusCode}: {failure.Status.Detail}", null);
                    }
                    if (status != StatusCode.OK && status != StatusCode.Cancelled && end < measureStart)
                    {
                        // Failing fast in the warm-up would spin; pace it.
                        await Task.Delay(1);
                    }
                }
            }

            var callers = Enumerable.Range(0, concurrency).Select(i => Task.Run(() => Caller(i))).ToArray();
            await Delay(measureStart);
            if (during is not null)
            {
                await during();
                measureEnd = Math.Max(measureEnd, Stopwatch.GetTimestamp());
            }
            await Delay(measureEnd);
            Volatile.Write(ref stop, 1);
            await Task.WhenAll(callers);
            var all = perCaller.SelectMany(s => s).Where(s => s.End <= measureEnd).OrderBy(s => s.Start).ToList();
            return new LoadResult(concurrency, measureStart, measureEnd, all, firstError);
        }
        finally
        {
            foreach (var c in channels) c.Dispose();
        }
    }

    private static async Task Delay(long until)
    {
        var left = until - Stopwatch.GetTimestamp();
        if (left > 0) await Task.Delay(TimeSpan.FromSeconds(left / (double)Stopwatch.Frequency));
    }
}
